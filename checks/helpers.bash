# Shared by every checks/lab-NN.bats. A checker sets LAB=NN, loads this file,
# and calls lab_setup_file / lab_setup / lab_teardown from bats' hooks.
#
#   LAB_TREE=labs (default) | solutions   which tree is checked
#   TSAN=1                                check the ThreadSanitizer build
#   UBSAN=1                               check the UndefinedBehaviorSanitizer build
#   KEDL_FAIL_FAST=1                      after the first failing test, skip the rest
#                                         (make test: on a mutant or a mistake, one
#                                         failure is all it needs to see)
#   LAB_TIMEOUT=60                        seconds any one lab run may take
#
# Conventions the checkers keep (CONTRIBUTING.md): no sleeping to wait for a
# tracer (start_lab returns on the ready line; -- COMMAND runs to the end),
# every lab run under timeout, counts and identities rather than times, and
# after each test no BPF object that the test created is left.

bats_load_library bats-support
bats_load_library bats-assert
. "$BATS_TEST_DIRNAME/lock.bash"

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
LAB_TREE=${LAB_TREE:-labs}
BUILD_DIR=$ROOT/build${TSAN:+/tsan}${UBSAN:+/ubsan}
LAB_BIN=$BUILD_DIR/$LAB_TREE/lab-$LAB
TRIGGER=$ROOT/build/trigger
LAB_TIMEOUT=${LAB_TIMEOUT:-60}

# ---- hooks -----------------------------------------------------------------

lab_setup_file() {
	# build first, then wait for the lock: what is tested is what was there
	# when the check was started, not an edit made while it waited. A build
	# that failed runs no lab, so it needs no lock: its error shows at once.
	lab_build
	[ -e "$BATS_FILE_TMPDIR/build-failed" ] || take_checker_lock || return 1
	mount_filesystems
}

lab_build() {
	local target
	case $LAB_TREE in
	labs)      target=lab-$LAB ;;
	solutions) target=solution-$LAB ;;
	*)         # a tree built elsewhere (scripts/mutants.sh): use it as it is
		[ -x "$LAB_BIN" ] || echo "no $LAB_BIN" > "$BATS_FILE_TMPDIR/build-failed"
		return 0 ;;
	esac
	# the trigger is never a sanitizer build: build it without TSAN or UBSAN
	if ! make -C "$ROOT" ${TSAN:+TSAN=1} ${UBSAN:+UBSAN=1} "$target" > "$BATS_FILE_TMPDIR/build.log" 2>&1 ||
	   ! make -C "$ROOT" "$TRIGGER" >> "$BATS_FILE_TMPDIR/build.log" 2>&1; then
		touch "$BATS_FILE_TMPDIR/build-failed"
	fi
}

# The first test of every checker is "lab-NN builds"; the others skip when
# it fails, so a broken build is one clear failure, not a cascade.
lab_setup() {
	kedl_lock_forget # nothing this test starts may keep the checkers' lock held
	if [ -n "${KEDL_FAIL_FAST:-}" ] && [ -e "$BATS_FILE_TMPDIR/a-test-failed" ]; then
		skip "an earlier test failed (KEDL_FAIL_FAST)"
	fi
	if [[ $BATS_TEST_DESCRIPTION != *" builds" ]]; then
		[ ! -e "$BATS_FILE_TMPDIR/build-failed" ] || skip "lab-$LAB does not build (see the first test)"
	fi
	[ "$(id -u)" = 0 ] || skip "needs root (BPF programs are loaded)"
	[ -r /sys/kernel/btf/vmlinux ] || skip "the kernel has no BTF (/sys/kernel/btf/vmlinux)"
	[ -d /sys/kernel/tracing/events ] || skip "tracefs is not mounted: run make setup"
	LAB_OUT=$BATS_TEST_TMPDIR/stdout
	LAB_ERR=$BATS_TEST_TMPDIR/stderr
	: > "$LAB_OUT"
	: > "$LAB_ERR"
	LAB_PID=
	bpf_objects > "$BATS_TEST_TMPDIR/bpf.before"
}

lab_teardown() {
	# bats sets BATS_TEST_COMPLETED when the test passed or skipped
	[ -n "${BATS_TEST_COMPLETED:-}" ] || touch "$BATS_FILE_TMPDIR/a-test-failed"
	if [ -n "${LAB_PID:-}" ] && kill -0 "$LAB_PID" 2>/dev/null; then
		# a test that failed mid-run: the lab first, SIGKILL to timeout would orphan it
		pkill -KILL -P "$LAB_PID" 2>/dev/null
		kill -KILL "$LAB_PID" 2>/dev/null
		wait "$LAB_PID" 2>/dev/null
	fi
	[ -e "$BATS_TEST_TMPDIR/bpf.before" ] || return 0
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

lab_builds() {
	if [ -e "$BATS_FILE_TMPDIR/build-failed" ]; then
		sed -n '1,30p' "$BATS_FILE_TMPDIR/build.log"
		flunk "lab-$LAB builds" "a build error" "run make lab-$LAB and fix the file and line it names"
	fi
}

# One checker at a time on a machine (checks/lock.bash): each test checks that
# it left no BPF object behind, which another checker running at the same
# moment would upset. While it waits, bats shows (fd 3) who holds the lock and
# since when. make test and make grade hold the lock themselves (KEDL_LOCKED=1).
take_checker_lock() {
	KEDL_LOCK_MSG_FD=3 kedl_take_lock "lab-$LAB checker on $LAB_TREE/${TSAN:+ (TSAN)}${UBSAN:+ (UBSAN)}"
}

mount_filesystems() {
	[ "$(id -u)" = 0 ] || return 0
	[ -d /sys/kernel/tracing/events ] || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null
	return 0
}

# ---- running a lab ---------------------------------------------------------

# run_lab ARGS...: run to the end. Sets $status; stdout in $LAB_OUT, stderr in $LAB_ERR.
run_lab() {
	status=0
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" "$@" > "$LAB_OUT" 2> "$LAB_ERR" || status=$?
	expect_finished "$status"
}

# expect_finished STATUS: timeout(1) gives 124 when the lab ended after its
# SIGTERM, 137 when it ignored SIGTERM too and had to be killed.
expect_finished() {
	case $1 in
	124) flunk "lab-$LAB to finish" "still running after ${LAB_TIMEOUT}s; it stopped on SIGTERM" \
		"does the poll loop stop when lab_should_stop() says so?" ;;
	137) flunk "lab-$LAB to finish" "still running after ${LAB_TIMEOUT}s, and still after SIGTERM: killed" \
		"does the poll loop stop when lab_should_stop() says so, and does every callback or wait that can block look at the stop too?" ;;
	*) return 0 ;;
	esac
}

# start_lab ARGS...: start in the background and return once the ready line is
# on stderr, so it is attached. Fails if the lab exits first.
start_lab() {
	local fifo=$BATS_TEST_TMPDIR/stderr.fifo line
	rm -f "$fifo" && mkfifo "$fifo"
	# 3>&-: bats waits for whatever holds its fd 3 open
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" "$@" > "$LAB_OUT" 2> "$fifo" 3>&- &
	LAB_PID=$!
	exec {LAB_ERR_FD}< "$fifo"
	while IFS= read -r -t "$LAB_TIMEOUT" -u "$LAB_ERR_FD" line; do
		printf '%s\n' "$line" >> "$LAB_ERR"
		if [[ $line == *"(Ctrl-C to stop)" ]]; then
			cat <&"$LAB_ERR_FD" >> "$LAB_ERR" 3>&- &
			LAB_ERR_CAT=$!
			exec {LAB_ERR_FD}<&-
			return 0
		fi
	done
	exec {LAB_ERR_FD}<&-
	status=0
	wait "$LAB_PID" || status=$?
	LAB_PID=
	flunk "the ready line '... (Ctrl-C to stop)' on stderr" "exit status $status before it" \
		"see the lab's message above"
}

# start_idle_target: a process that does nothing until the test kills it
# (LAB_TIMEOUT at the latest): the process a -p PID run traces. Its pid is
# in $IDLE_PID. Nothing waits for it: it is a target, not a delay.
start_idle_target() {
	timeout "$LAB_TIMEOUT" tail -f /dev/null 3>&- &
	IDLE_PID=$!
}

# run_until_target_gone HINT [LAB ARGS...]: trace an idle process with -p,
# kill it once the lab is ready, and require the lab to end by itself. The
# lab's time limit (LAB_TIMEOUT, 20 s at most) bounds a lab that never looks;
# HINT names the TODO then. Sets $status.
run_until_target_gone() {
	local hint=$1 limit=$((LAB_TIMEOUT < 20 ? LAB_TIMEOUT : 20))
	shift
	start_idle_target
	LAB_TIMEOUT=$limit start_lab "$@" -p "$IDLE_PID"
	kill "$IDLE_PID"
	wait "$IDLE_PID" 2>/dev/null || true
	status=0
	wait "$LAB_PID" || status=$?
	wait "$LAB_ERR_CAT" 2>/dev/null || true
	LAB_PID=
	case $status in
	124|137) flunk "lab-$LAB to stop once pid $IDLE_PID is gone" \
		"still running $limit s later: stopped by timeout(1) (exit $status)" "$hint" ;;
	esac
}

# stop_lab SIGNAL: signal the running lab, wait for it. Sets $status.
stop_lab() {
	status=0
	kill -"$1" "$LAB_PID"
	wait "$LAB_PID" || status=$?
	wait "$LAB_ERR_CAT" 2>/dev/null
	LAB_PID=
}

# wait_for_lines N ERE [SECONDS]: while the lab runs, block until its stdout
# holds N lines matching ERE, or SECONDS (LAB_TIMEOUT) pass; print how many. tail -f
# follows the file with inotify, so this wakes on each write: no sleeping.
wait_for_lines() {
	local want=$1 pattern=$2 seen=0 line fd follower
	exec {fd}< <(exec timeout "${3:-$LAB_TIMEOUT}" tail -n +1 -f "$LAB_OUT" 2>/dev/null)
	follower=$!
	while [ "$seen" -lt "$want" ] && IFS= read -r -u "$fd" line; do
		[[ $line =~ $pattern ]] && seen=$((seen + 1))
	done
	kill "$follower" 2>/dev/null
	exec {fd}<&-
	echo "$seen"
}

# The pid of the lab process itself (timeout is its parent).
lab_process() {
	pgrep -P "$LAB_PID" -x "lab-$LAB" | head -n 1
}

# ---- reading what it printed ----------------------------------------------

# summary_value KEY: the value of KEY in the "summary: ..." line on stderr.
summary_value() {
	sed -n 's/^summary: .*\b'"$1"'=\([^ ]*\).*/\1/p' "$LAB_ERR" | tail -n 1
}

expect_summary() {
	grep -q '^summary: ' "$LAB_ERR" ||
		flunk "a 'summary: ...' line on stderr" "none" "the summary is printed after the final drain"
}

# trigger_value KEY: from the trigger's report line on stderr.
trigger_value() {
	sed -n 's/^trigger: .*\b'"$1"'=\([^ ]*\).*/\1/p' "$LAB_ERR" | tail -n 1
}

# The pid the ready line names: the -- COMMAND that was started.
ready_pid() {
	sed -n 's/.*tracing .* of pid \([0-9]*\).*(Ctrl-C to stop)$/\1/p' "$LAB_ERR" | head -n 1
}

# count_lines ERE [FILE]: lines of stdout matching ERE.
count_lines() {
	grep -cE -- "$1" "${2:-$LAB_OUT}" || true
}

# ---- failing with a reason --------------------------------------------------

# flunk EXPECTED SAW HINT: print what was expected, what was seen, and where to
# look, with the end of the lab's stderr; then fail the test.
flunk() {
	printf 'expected: %s\n     saw: %s\n    hint: %s\n' "$1" "$2" "$3"
	if [ -s "${LAB_ERR:-}" ]; then
		echo "--- the lab's stderr, last lines:"
		tail -n 6 "$LAB_ERR"
	fi
	return 1
}

# expect_eq WHAT EXPECTED ACTUAL HINT
expect_eq() {
	[ "$2" = "$3" ] || flunk "$1 = $2" "${3:-nothing}" "$4"
}

# ---- BPF objects --------------------------------------------------------------

# One line per loaded program, map and link: "prog 12 name", ...
bpf_objects() {
	local kind
	for kind in prog map link; do
		bpftool "$kind" show 2>/dev/null |
			awk -v kind="$kind" '/^[0-9]+:/ { id = $1; sub(":", "", id); name = "-";
				for (i = 2; i < NF; i++) if ($i == "name") name = $(i + 1);
				print kind, id, name }'
	done | sort
}

# Programs, maps and links are freed when their last reference goes, some of
# it after an RCU grace period: poll (bounded) until what the test created is
# gone, then fail naming what is left.
expect_no_bpf_left() {
	local before=$1 left i
	for i in $(seq 100); do
		left=$(comm -13 "$before" <(bpf_objects))
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	flunk "no BPF program, map or link of the lab left once it exited" "$(echo $left)" \
		"does every exit path call the skeleton's __destroy()? is something pinned?"
}

# The tracepoints the lab process has programs attached to ("prog_id name").
attached_tracepoints() {
	bpftool perf show 2>/dev/null |
		awk -v pid="$1" '$1 == "pid" && $2 == pid { print $6, $8 }' | tr -d ':'
}

# map_types_of_prog PROG_ID: "type name" of each map the program uses.
map_types_of_prog() {
	local id
	for id in $(bpftool prog show id "$1" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$id" | awk 'NR == 1 { print $2, $4 }'
	done
}

# helper_calls PROG_ID: the helper functions the loaded program calls.
helper_calls() {
	bpftool prog dump xlated id "$1" | sed -n 's/.*call \([a-z_0-9]*\).*/\1/p' | sort -u
}
