#!/usr/bin/env bash
# The catalogue of known mistakes: plausible wrong answers a student writes,
# each a small change to the reference, kept as checks/mistakes/lab-NN/NAME.patch.
# A mistake's file starts with a header, then a unified diff made from inside
# the lab's folder (diff -ru a/ b/, applied with patch -p1):
#
#   Mistake: lost = count instead of lost += count in the loss callback
#   Task: 01.3
#   Tests: lost records
#   ---
#   --- a/execsnoop.c
#   +++ b/execsnoop.c
#   @@ ...
#
# Task: the TODO the mistake lives in; the checker's failure output must name
# it. Tests: a regex (bats --filter; it must not start with "-") picking the
# tests that should catch it, so make test runs only those; MISTAKES_FULL=1
# runs the whole checker on every mistake instead (the instructors'
# exhaustive run). A mistake the checker misses is tried once more before it
# counts as missed: a few are caught through a race that two CPUs lose almost
# always (a non-atomic counter), not always. A mistake that only
# a timing assertion could catch says so instead of Tests:
#   Uncatchable: <why>
# and is listed, not run, and not counted.
# A mistake that makes the lab wait for a bound (a reader never woken, a run
# that never ends) may say how long its test's lab runs may take, so make
# test does not wait the whole default minute (LAB_TIMEOUT in helpers.bash):
#   Timeout: 10
#
#   scripts/mistakes.sh NN    one line per mistake: "ok ...", "FAIL ..." or "note ..."
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/trees.sh
. checks/lock.bash
nn=$1
lab=$(ls -d solutions/lab-"$nn"-* | head -n 1)
name=$(basename "$lab")
status=0

header() { sed -n "s/^$1: *//p;/^---$/q" "$2" | head -n 1; }

# prepare FILE: the tree for it, built; prints the tree's name, or fails.
prepare() {
	local tree=mistake-$nn-$(basename "$1" .patch) dir
	dir=$(variant_dir "$tree" "$name")
	cp -rp "$lab"/. "$dir"/ # -p: see build_variant
	if ! patch -s -p1 -d "$dir" --no-backup-if-mismatch < "$1" > "$dir/patch.log" 2>&1; then
		echo "FAIL lab $nn: mistake $(basename "$1" .patch) no longer applies to $lab (see $dir/patch.log)"
		return 1
	fi
	build_variant "$dir" || { echo "FAIL lab $nn: mistake $(basename "$1" .patch) does not build (see $dir/build.log)"; return 1; }
}

# Build every mistake first, two at a time: builds use the CPUs, checkers the lock.
shopt -s nullglob
mistakes=(checks/mistakes/lab-"$nn"/*.patch)
runnable=()
for m in "${mistakes[@]}"; do
	why=$(header Uncatchable "$m")
	if [ -n "$why" ]; then
		echo "note lab $nn: mistake $(basename "$m" .patch) is not catchable without timing: $why"
		continue
	fi
	runnable+=("$m")
done
export -f prepare variant_dir build_variant
export nn lab name ROOT
built=$(printf '%s\n' "${runnable[@]}" | xargs -r -P 2 -I{} bash -c 'prepare "$1" && echo "built $1"' _ {})
grep -v '^built ' <<< "$built" | grep . && status=1

# One failing test is all a mistake needs to show (MISTAKES_FULL=1: run them all).
[ -n "${MISTAKES_FULL:-}" ] || export KEDL_FAIL_FAST=1
# one hold of the checkers' lock for the whole catalogue (make test holds it already)
[ "${#runnable[@]}" = 0 ] || kedl_take_lock "mistakes.sh $nn" || exit 1

# run_checker TREE TESTS: the checker's TAP output, only the tests matching TESTS
# (LAB_TIMEOUT: the mistake's Timeout:, if it has one)
run_checker() {
	LAB_TIMEOUT=${timeout:-${LAB_TIMEOUT:-60}} checker_tap "$1" "$nn" "$2"
}

for m in "${runnable[@]}"; do
	grep -qxF "built $m" <<< "$built" || continue
	mistake=$(basename "$m" .patch)
	tree=mistake-$nn-$mistake
	task=$(header Task "$m")
	tests=$(header Tests "$m")
	timeout=$(header Timeout "$m")
	[ -n "${MISTAKES_FULL:-}" ] && tests=
	started=$SECONDS
	tap=$(run_checker "$tree" "$tests")
	grep -q '^not ok ' <<< "$tap" || tap=$(run_checker "$tree" "$tests")
	caught=$(grep '^not ok ' <<< "$tap" | head -n 1 | sed 's/^not ok [0-9]* //')
	if [ -z "$caught" ]; then
		echo "FAIL lab $nn: mistake $mistake ($(header Mistake "$m")) is not caught${tests:+ by the tests matching '$tests'}"
		grep -v '^#' <<< "$tap" | tail -n 8 | sed 's/^/      /' # what ran instead: passes, skips and why
		status=1
	elif [ -n "$task" ] && ! grep -q "TODO($task)" <<< "$tap"; then
		echo "FAIL lab $nn: mistake $mistake is caught by: $caught, but no hint names TODO($task)"
		status=1
	else
		echo "ok lab $nn: mistake $mistake caught by: $caught; $((SECONDS - started)) s"
	fi
	drop_variant "$tree"
done
exit $status
