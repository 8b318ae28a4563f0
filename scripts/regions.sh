#!/usr/bin/env bash
# Prove that an exercise and its reference differ only inside exercise regions.
#
# A region is what a student writes. It opens with a comment naming the task,
# TODO(NN.k), which may run over several lines, and closes with a line holding
# END TODO(NN.k). Its body is every line in between (after the comment ends).
#
#   scripts/regions.sh NN     check lab NN; prints one line per problem
#   scripts/regions.sh --strip FILE   print FILE with each body collapsed
#
# Regions live in C sources (.c, .h); every other file (README.md, Makefile)
# must be identical in both trees.
# Checks: same files in both trees; identical text once bodies are collapsed;
# the same regions in the same order, each well formed, numbered NN.k; every
# body differs from the reference (else there is nothing to write); every
# task is explained in the lab's README.
set -u
cd "$(dirname "$0")/.."

strip_bodies() {
	awk -v file="$1" '
	function fail(msg) { printf "%s:%d: %s\n", file, NR, msg > "/dev/stderr"; bad = 1 }
	state == "" && match($0, /TODO\([0-9][0-9]\.[0-9]+\)/) {
		id = substr($0, RSTART + 5, RLENGTH - 6)
		if ($0 ~ /END TODO/) { fail("END TODO(" id ") without its TODO"); print; next }
		print; state = ($0 ~ /\*\//) ? "body" : "comment"
		if (state == "body") printf "<body of TODO(%s)>\n", id
		next
	}
	state == "comment" {
		print
		if ($0 ~ /\*\//) { state = "body"; printf "<body of TODO(%s)>\n", id }
		next
	}
	state == "body" {
		if (index($0, "END TODO(" id ")")) { print; state = "" }
		else if ($0 ~ /TODO\([0-9][0-9]\.[0-9]+\)/) fail("TODO inside the body of TODO(" id ")")
		next
	}
	{ print }
	END { if (state != "") fail("TODO(" id ") has no END TODO(" id ")"); exit bad }
	' "$1"
}

bodies() { # one line per region: "id<US>body", the body's newlines as \n
	awk '
	state == "" && match($0, /TODO\([0-9][0-9]\.[0-9]+\)/) && $0 !~ /END TODO/ {
		id = substr($0, RSTART + 5, RLENGTH - 6); body = ""
		state = ($0 ~ /\*\//) ? "body" : "comment"; next }
	state == "comment" { if ($0 ~ /\*\//) state = "body"; next }
	state == "body" && index($0, "END TODO(" id ")") { print id "\037" body; state = ""; next }
	state == "body" { body = body $0 "\\n" }
	' "$1"
}

if [ "${1:-}" = --strip ]; then
	strip_bodies "$2"
	exit
fi

nn=$1
lab=$(ls -d labs/lab-"$nn"-* 2>/dev/null | head -1)
sol=${lab/#labs/solutions}
problems=0
problem() { echo "lab $nn: $*"; problems=$((problems + 1)); }

[ -n "$lab" ] && [ -d "$sol" ] || { echo "lab $nn: labs/lab-$nn-* or its solutions/ twin is missing"; exit 1; }

files=$( (cd "$lab" && find . -type f; cd "../../$sol" && find . -type f) | sort -u)
tasks=""
for f in $files; do
	[ -f "$lab/$f" ] || { problem "${f#./} is in solutions/ only"; continue; }
	[ -f "$sol/$f" ] || { problem "${f#./} is in labs/ only"; continue; }
	case $f in
	*.c|*.h) ;;
	*)	# no regions outside C sources: the file must be the same in both trees
		cmp -s "$lab/$f" "$sol/$f" || { problem "${f#./} differs between labs/ and solutions/:"; diff -u "$lab/$f" "$sol/$f" | sed -n '3,20p'; }
		continue ;;
	esac
	if ! diff -u <(strip_bodies "$lab/$f") <(strip_bodies "$sol/$f") > /tmp/regions.$$; then
		problem "${f#./} differs outside its exercise regions:"
		sed -n '3,40p' /tmp/regions.$$
	fi
	while IFS= read -r region; do
		id=${region%%$'\037'*}
		body=${region#*$'\037'}
		[ "${id%%.*}" = "$nn" ] || problem "${f#./}: TODO($id) is numbered for another lab"
		tasks="$tasks $id"
		sol_body=$(bodies "$sol/$f" | awk -F'\037' -v id="$id" '$1 == id { print substr($0, length(id) + 2) }')
		[ "$body" != "$sol_body" ] || problem "${f#./}: the exercise body of TODO($id) already equals the solution"
	done < <(bodies "$lab/$f")
done
rm -f /tmp/regions.$$

for id in $(echo "$tasks" | tr ' ' '\n' | sort -u); do
	grep -q "TODO($id)" "$lab/README.md" 2>/dev/null || problem "README.md does not explain TODO($id)"
done
[ -n "$tasks" ] || problem "has no exercise regions"

if [ "$problems" -eq 0 ]; then
	echo "lab $nn: labs/ and solutions/ agree outside $(echo $tasks | wc -w) exercise regions"
fi
[ "$problems" -eq 0 ]
