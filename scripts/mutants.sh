#!/usr/bin/env bash
# Every task of a lab must matter to its checker. For each exercise region
# NN.k, build a "mutant": the reference solution with that one region put back
# to the exercise's stub. The checker must fail on every mutant; a mutant it
# passes is a task the checker does not check.
#
#   scripts/mutants.sh NN    prints one line per mutant: "ok ..." or "FAIL ..."
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
nn=$1
lab=$(ls -d labs/lab-"$nn"-* | head -n 1)
sol=${lab/#labs/solutions}
name=$(basename "$lab")
. scripts/trees.sh

# splice ID EXERCISE_FILE SOLUTION_FILE: the solution file, with the body of
# region ID taken from the exercise file (region syntax: see regions.sh).
splice() {
	awk -v id="$1" '
	function opens(line) { return index(line, "TODO(" id ")") && line !~ /END TODO/ }
	FNR == 1 { file++; state = "" }
	state == "" && opens($0) { state = ($0 ~ /\*\//) ? "body" : "comment"; if (file == 2) print; next }
	state == "comment" { if ($0 ~ /\*\//) state = "body"; if (file == 2) print; next }
	state == "body" && index($0, "END TODO(" id ")") {
		if (file == 2) { printf "%s", stub; print }
		state = ""; next }
	state == "body" { if (file == 1) stub = stub $0 "\n"; next }
	file == 2 { print }
	' "$2" "$3"
}

# make_mutant ID: build/variant-src/mutant-ID/<lab>, built; "FAIL ..." if not
make_mutant() {
	local id=$1 dir f base
	dir=$(variant_dir "mutant-$id" "$name")
	for f in "$sol"/*; do
		base=$(basename "$f")
		if grep -q "TODO($id)" "$f" 2>/dev/null; then
			splice "$id" "$lab/$base" "$f" > "$dir/$base"
		else
			cp -rp "$f" "$dir/$base" # -p: see build_variant; -r: a folder (plots/)
		fi
	done
	build_variant "$dir" || echo "FAIL lab $nn: the mutant without TODO($id) does not build (see $dir/build.log)"
}

# One failing test is all a mutant needs to show (MISTAKES_FULL=1: run them all).
[ -n "${MISTAKES_FULL:-}" ] || export KEDL_FAIL_FAST=1
. checks/lock.bash
status=0
ids=$(grep -ho 'TODO([0-9][0-9]\.[0-9]*)' "$lab"/*.c "$lab"/*.h 2>/dev/null | grep -o '[0-9.]*[0-9]' | sort -u -t. -k2n)

# build them all first, two at a time: builds use the CPUs, checkers the lock
export -f make_mutant splice variant_dir build_variant
export nn lab sol name ROOT
broken=$(printf '%s\n' $ids | xargs -r -P 2 -I{} bash -c 'make_mutant "$1"' _ {})
[ -z "$broken" ] || { echo "$broken"; status=1; }
[ -z "$ids" ] || kedl_take_lock "mutants.sh $nn" || exit 1

for id in $ids; do
	tree=mutant-$id
	grep -qF "TODO($id) does not build" <<< "$broken" && continue
	started=$SECONDS
	# the tests whose hints name this TODO first (scripts/tests-naming.awk):
	# the ones before them would only pass; then, if none of those failed,
	# the whole checker
	tap= naming=
	[ -n "${MISTAKES_FULL:-}" ] || naming=$(awk -v id="$id" -f scripts/tests-naming.awk "checks/lab-$nn.bats")
	[ -z "$naming" ] || tap=$(checker_tap "$tree" "$nn" "$naming")
	grep -q '^not ok ' <<< "$tap" || tap=$(checker_tap "$tree" "$nn")
	failing=$(grep -c '^not ok ' <<< "$tap")
	if [ "$failing" -gt 0 ]; then
		echo "ok lab $nn: without TODO($id) the checker fails ($(grep '^not ok ' <<< "$tap" | head -n 1 | sed 's/^not ok [0-9]* //')$([ "$failing" -gt 1 ] && echo ", and $((failing - 1)) more"); $((SECONDS - started)) s)"
	else
		echo "FAIL lab $nn: the checker passes without TODO($id): that task is not checked"
		status=1
	fi
	drop_variant "$tree"
done
exit $status
