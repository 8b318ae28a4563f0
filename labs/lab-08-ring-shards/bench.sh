#!/usr/bin/env bash
# Lab 08 benchmark (not a test): getpgid() calls from 1 producer thread (on
# CPU 0) and from 2 (on CPU 0 and CPU 1), traced into one ring shared by every
# CPU (--rings 1) and into one ring per CPU, in one table.
#
#   make bench-08                      your build (build/labs/lab-08), and the
#                                      reference's row under each of yours
#   LAB_TREE=solutions make bench-08   the reference only
#   bench.sh [N] [RUNS]                N getpgid() calls per run (default 1000000),
#                                      RUNS runs per row (default 3)
#
# Each run is `lab-08 -q --rings R --ring-size 4194304 -- trigger -t P getpgid N`.
# events/s is the trigger's produced / elapsed: how fast the producers ran
# with the program attached. A row shows the median run and the range over
# all runs; "dropped" is the most any run dropped; "exact" says whether every
# run had received + dropped == N. The reader is not pinned: with 2 producers
# on a 2-CPU machine it shares a CPU with one of them. Runs hold the checkers'
# lock, so no checker runs meanwhile (other work may: run it more than once).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tree=${LAB_TREE:-labs}
trigger=$root/build/trigger
n=${1:-1000000}
runs=${2:-3}
size=4194304 # 4 MiB per ring: with the reader keeping up, nothing should drop

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root (BPF programs are loaded)"; exit 1; }
case $tree in
labs)      builds="yours ref" ;;
solutions) builds="ref" ;;
*)         echo "bench.sh: LAB_TREE is labs or solutions, not '$tree'"; exit 2 ;;
esac
make -s -C "$root" solution-08 "$trigger" || exit 1
[ "$tree" = solutions ] || make -s -C "$root" lab-08 ||
	echo "bench.sh: lab-08 does not build: only the reference is measured"
declare -A bin=([yours]=$root/build/labs/lab-08 [ref]=$root/build/solutions/lab-08)
cpus=$(nproc)

# the checkers' lock (make test holds it already: KEDL_LOCKED)
. "$root/checks/lock.bash"
kedl_take_lock "bench-08" || exit 1

# value KEY TEXT: KEY=value from the trigger's or the summary line
value() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<< "$2" | tail -n 1; }

# one_run BUILD PRODUCERS RINGS: "rate dropped exact", or the lab's message and fail
one_run() {
	local build=$1 producers=$2 rings=$3 out status=0 rate
	if [ "$rings" = 0 ]; then
		out=$("$trigger" -t "$producers" getpgid "$n" 2>&1) || status=$?
	else
		out=$(timeout 300 "${bin[$build]}" -q --rings "$rings" --ring-size "$size" -- \
			"$trigger" -t "$producers" getpgid "$n" 2>&1) || status=$?
	fi
	if [ "$status" != 0 ] || [ "$(value produced "$out")" != "$n" ]; then
		{ grep '^lab-08: ' <<< "$out" | grep -v '(Ctrl-C to stop)$'; tail -n 1 <<< "$out"; } | head -n 1
		return 1
	fi
	rate=$(( n * 1000000000 / $(value elapsed_ns "$out") ))
	if [ "$rings" = 0 ]; then
		echo "$rate - -"
		return
	fi
	local received dropped
	received=$(value received "$out")
	dropped=$(value dropped "$out")
	echo "$rate $dropped $([ $((received + dropped)) = "$n" ] && echo yes || echo NO)"
}

fmt='%-44s %10s %-23s %8s %6s\n'
# row NAME PRODUCERS RINGS: RUNS runs of each build (RINGS 0: nothing attached)
row() {
	local name=$1 producers=$2 rings=$3 build i r results sorted median why maxdrop exact
	for build in $builds; do
		[ "$rings" = 0 ] && [ "$build" = yours ] && continue # the same for both
		results=()
		for ((i = 0; i < runs; i++)); do
			if ! r=$(one_run "$build" "$producers" "$rings"); then
				why=$r
				results=()
				break
			fi
			results+=("$r")
		done
		local label=$name
		[ "$builds" = ref ] || [ "$rings" = 0 ] || label="$name ($build)"
		if [ ${#results[@]} = 0 ]; then
			printf '%-44s %s\n' "$label" "does not run: ${why:-no output}"
			continue
		fi
		sorted=$(printf '%s\n' "${results[@]}" | sort -n -k1,1)
		median=$(sed -n "$(((runs + 1) / 2))p" <<< "$sorted")
		maxdrop=$(awk '$2 != "-" && $2 > m { m = $2 } END { print m + 0 }' <<< "$sorted")
		exact=$(awk '$3 == "NO" { bad = 1 } END { print bad ? "NO" : "yes" }' <<< "$sorted")
		[ "$rings" = 0 ] && { maxdrop=-; exact=-; }
		printf "$fmt" "$label" "${median%% *}" \
			"[$(head -n 1 <<< "$sorted" | cut -d' ' -f1)-$(tail -n 1 <<< "$sorted" | cut -d' ' -f1)]" \
			"$maxdrop" "$exact"
	done
}

echo "lab 08 benchmark: trigger getpgid $n, $runs runs per row, $cpus CPUs, $(uname -r), rings of $size bytes"
printf "$fmt" "producers, rings" "events/s" "[min-max]" dropped exact
for p in 1 2; do
	row "$p producer(s), nothing attached" "$p" 0
	row "$p producer(s), 1 shared ring" "$p" 1
	row "$p producer(s), one ring per CPU ($cpus)" "$p" "$cpus"
done
