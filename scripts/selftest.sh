#!/usr/bin/env bash
# make test: prove the checkers themselves.
#
#   1. everything builds (labs/ and solutions/);
#   2. labs/ and solutions/ agree outside the exercise regions (regions.sh);
#   3. every checker passes on solutions/, built with the
#      UndefinedBehaviorSanitizer (UBSAN=1: misaligned reads and other UB
#      abort the lab): each of its tests is counted; a test that skips there
#      counts as failed, since it proved nothing. One pass proves both that
#      the checker passes on the reference and that the reference has no UB
#      its tests reach; make test-full also runs the plain build;
#   4. every checker fails on the untouched labs/, and finishes in time;
#      and on every mutant: the solution with one task put back to its stub
#      (mutants.sh), so each task is one the checker really checks;
#      and on every known mistake of the lab's catalogue (mistakes.sh), with
#      a hint that names the mistake's TODO;
#   5. the tooling works (checks/tooling.bats: the checkers' lock says who
#      holds it, setup's package lists, bench's default tree, trigger -h);
#   6. no BPF program, map, link or pin of the labs is left afterwards.
# Ends with the line "N passed, N failed"; exits 1 if anything failed.
#
#   LABS="01 02" make test    only these labs
set -u
cd "$(dirname "$0")/.."

CHECKER_TIMEOUT=${CHECKER_TIMEOUT:-900}
passed=0
failed=0
pass() { printf 'ok    %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }
# section TITLE: a header with the time since make test started, so a slow
# phase shows itself
section() { printf '== %s  [%dm%02ds]\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

labs=${LABS:-$(ls -d labs/lab-[0-9][0-9]-* | sed 's|labs/lab-\([0-9]*\)-.*|\1|')}

bpf_snapshot() {
	for kind in prog map link; do
		bpftool "$kind" show 2>/dev/null | sed -n "s/^\([0-9]*\):.*/$kind \1/p"
	done | sort
}

# ---- 1. build -----------------------------------------------------------------
section "build"
targets=$(for nn in $labs; do echo "lab-$nn solution-$nn"; done)
if out=$(make -s -j"$(nproc)" $targets 2>&1); then
	pass "labs/ and solutions/ build ($(echo $labs))"
else
	echo "$out"
	fail "labs/ and solutions/ build ($(echo $labs))"
fi
# the reference again, with UBSan: what step 3 checks (build/ubsan)
if out=$(make -s -j"$(nproc)" UBSAN=1 $(for nn in $labs; do echo "solution-$nn"; done) 2>&1); then
	pass "solutions/ build with UBSAN=1 ($(echo $labs))"
else
	echo "$out"
	fail "solutions/ build with UBSAN=1 ($(echo $labs))"
fi

# ---- 2. exercise regions ------------------------------------------------------------
section "exercise regions"
for nn in $labs; do
	if out=$(scripts/regions.sh "$nn"); then pass "$out"; else echo "$out"; fail "lab $nn: labs/ and solutions/ differ outside the exercise regions"; fi
done

# One checker run at a time on a machine (checks/lock.bash): the build and the
# regions above need no lock; from here make test is the holder, and says whom
# it waits for.
. checks/lock.bash
ROOT=$PWD
. scripts/trees.sh # checker_tap
if ! kedl_take_lock "make test${LABS:+ LABS=$LABS}"; then
	fail "the checkers' lock: gave up waiting"
	echo "$passed passed, $failed failed"
	exit 1
fi
before=$(bpf_snapshot)

# report_lines: turn "ok ..."/"FAIL ..."/"note ..." lines into results
report_lines() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*)   pass "${line#ok }" ;;
		"note "*) printf 'note  %s\n' "${line#note }" ;;
		*)        fail "${line#FAIL }" ;;
		esac
	done
}

# ---- 3 and 4. the checkers ----------------------------------------------------------
# run_checker TREE NN: bats in TAP form; prints the raw TAP to $tap
run_checker() {
	tap=$(LAB_TREE=$1 timeout -k 10 "$CHECKER_TIMEOUT" bats --tap "checks/lab-$2.bats" 2>&1)
	checker_status=$?
}

# count_tap LABEL TREE: every test of $tap is a result: a pass, or a failure
# (a skip proves nothing) shown with its diagnostics
count_tap() {
	local line show=0
	[ "$checker_status" != 124 ] || fail "$1: the checker did not finish within ${CHECKER_TIMEOUT}s on $2/"
	grep -q '^\(not \)\?ok ' <<< "$tap" || { echo "$tap" | tail -n 5; fail "$1: the checker ran no test"; }
	while IFS= read -r line; do
		case $line in
		"ok "*"# skip"*) fail "$1: ${line#ok * } (a skip proves nothing)" ;;
		"ok "*)          pass "$1: $(sed 's/^ok [0-9]* //' <<< "$line")" ;;
		"not ok "*)      fail "$1: $(sed 's/^not ok [0-9]* //' <<< "$line")"; show=1; continue ;;
		"#"*)            [ "$show" = 1 ] && printf '      %s\n' "$line"; continue ;;
		esac
		show=0
	done <<< "$tap"
}

for nn in $labs; do
	section "lab $nn: checker on solutions/ built with UBSAN=1 (must pass)"
	UBSAN=1 run_checker solutions "$nn"
	count_tap "lab $nn solutions (UBSan)" solutions

	section "lab $nn: checker on the untouched labs/ (must fail)"
	tap=$(KEDL_FAIL_FAST=1 checker_tap labs "$nn") # one failing test is enough here
	checker_status=$(sed -n 's/^# exit //p' <<< "$tap")
	failing=$(grep -c '^not ok ' <<< "$tap")
	if [ "$checker_status" = 124 ]; then
		fail "lab $nn labs: the checker did not finish within ${CHECKER_TIMEOUT}s"
	elif [ "$failing" -gt 0 ]; then
		pass "lab $nn labs: the checker fails on the untouched exercise (first at: $(grep -m 1 '^not ok ' <<< "$tap" | sed 's/^not ok [0-9]* //'))"
	else
		fail "lab $nn labs: the checker passes on the untouched exercise: it proves nothing"
	fi

	section "lab $nn: checker on each mutant, one task undone (must fail)"
	report_lines < <(scripts/mutants.sh "$nn")

	section "lab $nn: checker on each known mistake (must fail, naming the TODO)"
	report_lines < <(scripts/mistakes.sh "$nn")
done

# ---- make test-full: the plain build of solutions/ too ------------------------------
if [ -n "${MISTAKES_FULL:-}" ]; then
	for nn in $labs; do
		section "lab $nn: checker on solutions/, plain build (must pass)"
		run_checker solutions "$nn"
		count_tap "lab $nn solutions" solutions
	done
fi

# ---- the tooling: lock, setup, bench, trigger (checks/tooling.bats) ------------------------
section "tooling"
tap=$(timeout -k 10 "$CHECKER_TIMEOUT" bats --tap checks/tooling.bats 2>&1)
checker_status=$?
count_tap tooling tooling

# ---- 6. leaks ---------------------------------------------------------------------
section "nothing left behind"
for _ in $(seq 100); do
	left=$(comm -13 <(echo "$before") <(bpf_snapshot))
	[ -z "$left" ] && break
	sleep 0.1 # programs and maps are freed after an RCU grace period
done
if [ -z "$left" ]; then pass "no BPF program, map or link left by the checkers"
else fail "BPF objects left after the checkers: $(echo $left)"; fi
pins=$(find /sys/fs/bpf -mindepth 1 -maxdepth 1 -name 'lab-*' 2>/dev/null)
if [ -z "$pins" ]; then pass "no pins left under /sys/fs/bpf"
else fail "pins left: $pins"; fi

section "done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
