#!/usr/bin/env bats
# Lab 06 (map caching): checks the state cache by what its maps hold.
LAB=06
load helpers

# The checker's runs pin their maps under a name of their own, so runs of
# anyone else (a manual run, a benchmark) neither upset it nor are touched.
BASE=/sys/fs/bpf/lab-06
NAME=checker-$$
PINS=$BASE/$NAME
N=1000000 # getpgid calls in a burst

setup_file() {
	lab_setup_file
}

setup() {
	lab_setup
	DONE=$BATS_TEST_TMPDIR/done.fifo
	GO=$BATS_TEST_TMPDIR/go.fifo
	SUB_OUT=$BATS_TEST_TMPDIR/sub.stdout
	SUB_ERR=$BATS_TEST_TMPDIR/sub.stderr
}

teardown() {
	local pinned= pid
	for pid in ${LAB_PID:-} ${OTHER_PIDS:-}; do
		# a test that failed mid-run: its runs, and a held command (timeout's process group)
		kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LAB_PID=
	if [ -e "$PINS" ]; then
		pinned=$(ls -A "$PINS" | tr '\n' ' ')
		rm -rf "$PINS" # only this checker's own directory: else its next run refuses
	fi
	rmdir "$BASE" 2>/dev/null # if no other run is using it
	lab_teardown
	[ -z "$pinned" ] || flunk "nothing pinned in $PINS once the test is over" "${pinned:-an empty $PINS}" \
		"TODO(06.6): unpin_maps() must run on every way out of run"
}

HINT_COUNT="TODO(06.2) counts each call in place, TODO(06.7) looks the counters up"

# ---- helpers -----------------------------------------------------------------

# sub ARGS...: run lab-06 ARGS (query, top, cleanup, or a second run) to the
# end, while a run started by start_lab may still write $LAB_OUT and $LAB_ERR.
# Sets $sub_status; output in $SUB_OUT and $SUB_ERR.
sub() {
	sub_status=0
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" "$@" > "$SUB_OUT" 2> "$SUB_ERR" || sub_status=$?
}

# subn SUBCOMMAND ARGS...: sub, on this checker's run (--name)
subn() {
	sub "$1" --name "$NAME" "${@:2}"
}

# expect_sub WHAT STATUS HINT: the last sub exited with STATUS.
expect_sub() {
	[ "$sub_status" = "$2" ] ||
		flunk "$1: exit status $2" "exit status $sub_status: $(head -c 600 "$SUB_ERR")" "$3"
}

# start_held [RUN OPTIONS...] SCRIPT: start `lab-06 run` on /bin/sh -c SCRIPT
# and return once SCRIPT's workload is over, with run still tracing and its
# maps still pinned. In SCRIPT, $1 is the trigger and $2 a directory for pid
# files. After it, the command says "done" on a fifo, then waits on another
# until release_held: no sleeping, and nothing ends before the test allows.
start_held() {
	local script=${*: -1}
	mkfifo "$DONE" "$GO"
	start_lab run --name "$NAME" "${@:1:$#-1}" -- /bin/sh -c "$script"'
echo done > "$3"; read go < "$4"' sh "$TRIGGER" "$BATS_TEST_TMPDIR" "$DONE" "$GO"
	# opening a fifo waits for the other end: timeout bounds it if the command died
	[ "$(timeout "$LAB_TIMEOUT" cat "$DONE")" = done ] ||
		flunk "the command's workload to finish while run traces it" "no word from it" \
			"see the lab's message below"
}

# release_held: let the command exit; run then stops by itself. Sets $status.
release_held() {
	timeout "$LAB_TIMEOUT" sh -c 'echo go > "$1"' sh "$GO" ||
		flunk "the held command to be waiting for its release" "it is gone" "see the lab's message below"
	status=0
	wait "$LAB_PID" || status=$?
	wait "$LAB_ERR_CAT" 2>/dev/null
	LAB_PID=
}

# field KEY LINE: the value of KEY=... in a "kind key=value ..." line.
field() {
	sed -n 's/.* '"$1"'=\("[^"]*"\|[^ ]*\).*/\1/p' <<< "$2"
}

# proc_line PID FILE: the "proc pid=PID ..." line of FILE.
proc_line() {
	grep "^proc pid=$1 " "$2" | head -n 1
}

# pinned_entries NAME: how many entries the pinned map holds now (bpftool, not the lab).
pinned_entries() {
	bpftool map dump pinned "$PINS/$1" 2>/dev/null | grep -c '"key":' || true
}

expect_pins_gone() {
	[ ! -e "$PINS" ] || flunk "no $PINS once run has stopped ($1)" "$(ls -A "$PINS" | tr '\n' ' ')" \
		"TODO(06.6): unpin_maps() with bpf_map__unpin(); run removes the directory itself"
}

# ---- the tests -----------------------------------------------------------------

@test "lab-06 builds" {
	lab_builds
}

@test "run -- COMMAND: exactly N getpgid calls from 2 CPUs are counted exactly N, and query reads them" {
	# two threads of one process, one per CPU, count the same syscall at once
	start_held '"$1" -t 2 getpgid '"$N"' & echo $! > "$2/trigger.pid"; wait $!'
	pid=$(cat "$BATS_TEST_TMPDIR/trigger.pid")
	subn query --pid "$pid"
	expect_sub "lab-06 query --pid $pid" 0 "$HINT_COUNT"
	line=$(grep "^syscall pid=$pid nr=[0-9]* name=getpgid " "$SUB_OUT" || true)
	[ -n "$line" ] || flunk "a line 'syscall pid=$pid nr=... name=getpgid calls=$N'" "$(head -n 5 "$SUB_OUT")" "$HINT_COUNT"
	expect_eq "getpgid calls counted for pid $pid" "$N" "$(field calls "$line")" \
		"TODO(06.2) adds 1 to this CPU's copy (TODO(06.1): a per-CPU map); TODO(06.7) sums every CPU's copy with sum_cpus()"
	expect_eq "the proc line's syscalls = the sum of its syscall lines" \
		"$(awk '/^syscall / { sub("calls=", "", $5); s += $5 } END { print s }' "$SUB_OUT")" \
		"$(field syscalls "$(proc_line "$pid" "$SUB_OUT")")" "TODO(06.7): every counter of the pid, nr 0 .. MAX_SYSCALL_NR - 1"
	release_held
	expect_eq "exit status once the command has exited" 0 "$status" "see the lab's message below"
	expect_eq "trigger's produced" "$N" "$(trigger_value produced)" "the trigger itself failed"
	expect_summary
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "TODO(06.2): no call is dropped on this workload"
	final=$(grep "^proc pid=$pid " "$LAB_OUT" | head -n 1)
	expect_eq "getpgid calls of pid $pid in run's final table" "$N" "$(field busiest_calls "$final")" \
		"TODO(06.8) reads every CPU's copy of each counter (bpf_map_lookup_batch)"
	expect_pins_gone "the command ended"
}

@test "query shows each process's record: comm, exec path, parent, exec count, exited or not" {
	# the sh execs nothing more; its subshell forks without exec; the trigger
	# execs once; the last child execs twice (sh, then the trigger)
	start_held '(exit 0) & echo $! > "$2/child.pid"; wait $!
"$1" getpgid 1000 & echo $! > "$2/trigger.pid"; wait $!
/bin/sh -c '"'"'exec "$0" getpgid 10'"'"' "$1" & echo $! > "$2/twice.pid"; wait $!'
	sh=$(ready_pid)
	child=$(cat "$BATS_TEST_TMPDIR/child.pid")
	trig=$(cat "$BATS_TEST_TMPDIR/trigger.pid")
	twice=$(cat "$BATS_TEST_TMPDIR/twice.pid")
	for pid in "$sh" "$child" "$trig" "$twice"; do
		subn query --pid "$pid"
		expect_sub "lab-06 query --pid $pid" 0 "TODO(06.7) looks the record up; TODO(06.3) and TODO(06.4) fill it"
		cp "$SUB_OUT" "$BATS_TEST_TMPDIR/query.$pid"
	done
	t=$(proc_line "$trig" "$BATS_TEST_TMPDIR/query.$trig")
	expect_eq "the trigger's comm" '"trigger"' "$(field comm "$t")" "TODO(06.3): bpf_get_current_comm() at exec"
	expect_eq "the trigger's file" "\"$TRIGGER\"" "$(field file "$t")" "TODO(06.3): bprm->filename at exec"
	expect_eq "the trigger's execs" 1 "$(field execs "$t")" "TODO(06.3): execs + 1 at each exec"
	expect_eq "the trigger's ppid" "$sh" "$(field ppid "$t")" "TODO(06.4): the fork sets ppid, the parent's tgid"
	expect_eq "the trigger's state" exited "$(field state "$t")" "TODO(06.3): record_exit() marks it exited"
	[ "$(field first_ns "$t")" -lt "$(field last_ns "$t")" ] ||
		flunk "first_ns < last_ns for the trigger" "$t" "TODO(06.4) sets first_ns at fork, TODO(06.3) last_ns at exec and exit"
	w=$(proc_line "$twice" "$BATS_TEST_TMPDIR/query.$twice")
	expect_eq "execs of a child that exec'd /bin/sh, then the trigger" 2 "$(field execs "$w")" \
		"TODO(06.3): add 1 to execs at each exec (not set it to 1)"
	expect_eq "its file (the last exec)" "\"$TRIGGER\"" "$(field file "$w")" "TODO(06.3)"
	s=$(proc_line "$sh" "$BATS_TEST_TMPDIR/query.$sh")
	expect_eq "the command's comm" '"sh"' "$(field comm "$s")" "TODO(06.3)"
	expect_eq "the command's file" '"/bin/sh"' "$(field file "$s")" "TODO(06.3)"
	expect_eq "the command's execs" 1 "$(field execs "$s")" "TODO(06.3)"
	expect_eq "the command's state (it still waits)" running "$(field state "$s")" \
		"TODO(06.3): only the exit of a process's last thread marks it exited"
	c=$(proc_line "$child" "$BATS_TEST_TMPDIR/query.$child")
	expect_eq "the forked subshell's ppid" "$sh" "$(field ppid "$c")" "TODO(06.4): record_fork() makes its record"
	expect_eq "the forked subshell's file (its parent's: no exec)" '"/bin/sh"' "$(field file "$c")" \
		"TODO(06.4): copy the parent's file into the child's record"
	expect_eq "the forked subshell's comm" '"sh"' "$(field comm "$c")" "TODO(06.4)"
	expect_eq "the forked subshell's execs" 0 "$(field execs "$c")" "TODO(06.4): a fresh record"
	expect_eq "the forked subshell's state" exited "$(field state "$c")" "TODO(06.3)"
	# query's keyed lookups and top's batches must agree on every process
	subn top -n 1000
	expect_sub "lab-06 top -n 1000" 0 "TODO(06.8)"
	for pid in "$sh" "$child" "$trig" "$twice"; do
		expect_eq "syscalls of pid $pid: query (keyed lookups) = top (batches)" \
			"$(field syscalls "$(proc_line "$pid" "$SUB_OUT")")" \
			"$(field syscalls "$(proc_line "$pid" "$BATS_TEST_TMPDIR/query.$pid")")" \
			"TODO(06.7) looks up every nr from 0 to MAX_SYSCALL_NR - 1; TODO(06.8) reads every counter once"
	done
	release_held
	expect_eq "exit status once the command has exited" 0 "$status" "see the lab's message below"
}

@test "top -n K: the K busiest processes, busiest first, every counter once; run prints the final table when it stops" {
	start_held '"$1" getpgid 1000 & wait $!; "$1" getpgid 200000 & echo $! > "$2/trigger.pid"; wait $!'
	big=$(cat "$BATS_TEST_TMPDIR/trigger.pid")
	subn top -n 2
	expect_sub "lab-06 top -n 2" 0 "TODO(06.8) reads the counters in batches"
	header=$(grep '^table ' "$SUB_OUT" || true)
	expect_eq "processes in the table (sh and two triggers)" 3 "$(field processes "$header")" "TODO(06.8)"
	expect_eq "counters in the table = entries bpftool finds in counts" "$(pinned_entries counts)" \
		"$(field counters "$header")" "TODO(06.8): each call's out_batch is the next call's in_batch; stop at ENOENT"
	expect_eq "proc lines printed by top -n 2" 2 "$(count_lines '^proc ' "$SUB_OUT")" "TODO(06.8)"
	first=$(grep -m 1 '^proc ' "$SUB_OUT" || true)
	expect_eq "the busiest process" "$big" "$(field pid "$first")" "TODO(06.8): every counter must be read"
	expect_eq "its busiest syscall" getpgid "$(field busiest "$first")" "TODO(06.8)"
	expect_eq "its getpgid calls" 200000 "$(field busiest_calls "$first")" "$HINT_COUNT"
	second=$(grep '^proc ' "$SUB_OUT" | sed -n 2p)
	expect_eq "the second busiest's getpgid calls" 1000 "$(field busiest_calls "$second")" "TODO(06.8)"
	release_held
	expect_eq "exit status once the command has exited" 0 "$status" "see the lab's message below"
	final=$(proc_line "$big" "$LAB_OUT")
	expect_eq "getpgid calls of pid $big in run's final table" 200000 "$(field busiest_calls "$final")" \
		"run prints the table after detach, with TODO(06.8)"
}

@test "--max-entries 16 with 100 short-lived processes: maps sized 16, never more entries, nothing fails" {
	start_held --max-entries 16 '"$1" lifecycle 100 /bin/true'
	for map in counts procs; do
		info=$(bpftool map show pinned "$PINS/$map" 2>&1)
		[[ $info == *"max_entries 16 "* ]] ||
			flunk "pinned map $map with max_entries 16" "$(echo $info)" \
				"TODO(06.5): bpf_map__set_max_entries() on both maps, before load (TODO(06.6) pins them)"
		[ "$(pinned_entries "$map")" -le 16 ] ||
			flunk "at most 16 entries in $map" "$(pinned_entries "$map")" "an LRU hash never holds more than max_entries"
	done
	subn top -n 1000
	expect_sub "lab-06 top on a full map" 0 "TODO(06.8)"
	[ "$(count_lines '^proc ' "$SUB_OUT")" -le 16 ] ||
		flunk "at most 16 processes in top" "$(count_lines '^proc ' "$SUB_OUT")" "TODO(06.5)"
	release_held
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "trigger's produced" 100 "$(trigger_value produced)" "the trigger itself failed"
	expect_summary
	records=$(summary_value records)
	counters=$(summary_value counters)
	[ "$records" -gt 0 ] && [ "$records" -le 16 ] && [ "$counters" -gt 0 ] && [ "$counters" -le 16 ] ||
		flunk "summary: 0 < records <= 16 and 0 < counters <= 16 (the oldest are evicted)" \
			"records=$records counters=$counters" "TODO(06.5); TODO(06.2) and TODO(06.4) insert"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "TODO(06.2): a full LRU map evicts, it does not refuse"
}

@test "while run runs both maps are pinned, counts per-CPU; SIGINT stops it: exit 0, summary, pins removed" {
	start_lab run --name "$NAME" -q
	info=$(bpftool map show pinned "$PINS/counts" 2>&1 | head -n 1)
	[[ $info == *" lru_percpu_hash "*"name counts "* ]] ||
		flunk "an LRU per-CPU hash map counts pinned at $PINS/counts" "${info:-nothing}" \
			"TODO(06.1) declares it BPF_MAP_TYPE_LRU_PERCPU_HASH, TODO(06.6) pins it"
	info=$(bpftool map show pinned "$PINS/procs" 2>&1 | head -n 1)
	[[ $info == *" lru_hash "*"name procs "* ]] ||
		flunk "an LRU hash map procs pinned at $PINS/procs" "${info:-nothing}" "TODO(06.6) pins it"
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_summary
	expect_pins_gone SIGINT
}

@test "SIGTERM: exit 0, summary, pins removed" {
	start_lab run --name "$NAME" -q
	[ -e "$PINS/counts" ] || flunk "$PINS/counts while run runs" "$(ls -A "$PINS" 2>&1)" "TODO(06.6)"
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "see the lab's message below"
	expect_summary
	expect_pins_gone SIGTERM
}

@test "after SIGKILL the pins stay readable; a run of that name refuses, naming lab-06 cleanup, which removes them" {
	start_lab run --name "$NAME" -q
	pid=$(lab_process)
	kill -KILL "$pid"
	wait "$LAB_PID" 2>/dev/null || true
	wait "$LAB_ERR_CAT" 2>/dev/null
	LAB_PID=
	[ -e "$PINS/counts" ] && [ -e "$PINS/procs" ] ||
		flunk "the pins outlive a run killed by SIGKILL" "$(ls -A "$PINS" 2>&1)" "TODO(06.6) pins both maps"
	subn top
	expect_sub "lab-06 top on the pins of a killed run (the last state)" 0 "TODO(06.8)"
	subn run -q -- /bin/true
	expect_sub "a new run over stale pins of its name" 1 "the run must refuse, not reuse or remove them"
	expect_eq "lines on stderr" 1 "$(grep -c . "$SUB_ERR")" "one line that says what to do"
	grep -q 'lab-06 cleanup' "$SUB_ERR" || flunk "a message naming lab-06 cleanup" "$(cat "$SUB_ERR")" "claim_pins()"
	[ -e "$PINS/counts" ] || flunk "the stale pins left alone by the refused run" "$(ls -A "$PINS" 2>&1)" "claim_pins()"
	subn cleanup
	expect_sub "lab-06 cleanup --name $NAME" 0 "cmd_cleanup()"
	grep -q "^removed path=\"$PINS/counts\"" "$SUB_OUT" || flunk "cleanup says what it removed" "$(cat "$SUB_OUT")" "cmd_cleanup()"
	[ ! -e "$PINS" ] || flunk "no $PINS after cleanup" "$(ls -A "$PINS")" "cmd_cleanup()"
	subn run -q -- /bin/true
	expect_sub "a run after cleanup" 0 "see its message: $(cat "$SUB_ERR")"
	expect_pins_gone "the command ended"
}

@test "while a run is active, a second run of its name and cleanup refuse and leave its pins alone" {
	start_lab run --name "$NAME" -q
	subn run -q -- /bin/true
	expect_sub "a second run with the same --name" 1 "one run at a time owns $PINS"
	grep -q 'active' "$SUB_ERR" || flunk "a message saying a run is active" "$(cat "$SUB_ERR")" "claim_pins()"
	subn cleanup
	expect_sub "cleanup --name of an active run" 1 "only a killed run's pins are cleaned up"
	sub cleanup
	expect_sub "cleanup of every stale run while a run is active" 0 "live runs are left alone, quietly"
	[ -e "$PINS/counts" ] || flunk "the active run's pins untouched" "$(ls -A "$PINS" 2>&1)" "TODO(06.6)"
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_pins_gone SIGINT
}

# start_other NAME_OPTION...: a run in the background besides $LAB_PID; returns
# on its ready line. Its pid goes to OTHER_PIDS, its lab-06 pid to $other.
start_other() {
	local fifo=$BATS_TEST_TMPDIR/other.$RANDOM line ok=
	mkfifo "$fifo"
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" run -q -i 0 "$@" > /dev/null 2> "$fifo" 3>&- &
	OTHER_PIDS="${OTHER_PIDS:-} $!"
	exec {fd}< "$fifo"
	while IFS= read -r -t "$LAB_TIMEOUT" -u "$fd" line; do
		[[ $line == *"(Ctrl-C to stop)" ]] && { ok=1; break; }
	done
	cat <&"$fd" > /dev/null 3>&- &
	exec {fd}<&-
	[ -n "$ok" ] || flunk "the ready line of lab-06 run $*" "${line:-nothing}" "see claim_pins()"
	other=$(sed -n 's|.*pinned in '"$BASE"'/\([^)]*\)).*|\1|p' <<< "$line")
}

@test "runs that cannot clash: two manual runs, a benchmark-like run and the checker's at once" {
	start_lab run --name "$NAME" -q
	start_other            # a manual run: its directory is named by its pid
	first=$other
	start_other            # another one
	second=$other
	[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ] && [ "$first" != "$NAME" ] ||
		flunk "three runs, three pin directories" "$NAME, '$first', '$second'" "claim_pins()"
	# a benchmark-like run with a command, to its end, while the three run
	sub run -n 1 -- "$TRIGGER" getpgid 100000
	expect_sub "a run -- COMMAND while three runs are live" 0 "see its message: $(cat "$SUB_ERR")"
	expect_eq "its getpgid calls, counted by itself alone" 100000 \
		"$(field busiest_calls "$(grep -m 1 '^proc ' "$SUB_OUT")")" "$HINT_COUNT"
	sub top
	expect_sub "top without --name while three runs are live" 1 "say which runs are live"
	grep -q "3 lab-06 runs are live (.*$first" "$SUB_ERR" ||
		flunk "a message naming the live runs" "$(cat "$SUB_ERR")" "pick_run()"
	sub top --name "$first"
	expect_sub "top --name $first" 0 "TODO(06.8)"
	sub cleanup
	expect_sub "cleanup while three runs are live" 0 "cmd_cleanup()"
	for d in "$NAME" "$first" "$second"; do
		[ -e "$BASE/$d/counts" ] || flunk "the pins of live run $d untouched by cleanup" "$(ls -A "$BASE" 2>&1)" "cmd_cleanup()"
	done
	for pid in $OTHER_PIDS; do
		kill -INT "$pid"
		wait "$pid" || flunk "exit status 0 of a manual run after SIGINT" "$?" "see the lab's message"
	done
	OTHER_PIDS=
	[ ! -e "$BASE/$first" ] && [ ! -e "$BASE/$second" ] ||
		flunk "each manual run removed its own directory" "$(ls -A "$BASE" 2>&1)" "release_pins()"
	subn top -n 1
	expect_sub "the checker's run still readable" 0 "its pins are its own"
	sub top -n 1
	expect_sub "top without --name, with one run live" 0 "the only live run is the one to read"
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_pins_gone SIGINT
}

@test "query or top of a run that is not there: exit 1 with one clear line; cleanup has nothing to do" {
	for args in "query --pid 1" "top"; do
		subn $args
		expect_sub "lab-06 $args --name $NAME with nothing pinned" 1 "open_pinned() says why"
		expect_eq "lines on stderr from lab-06 $args" 1 "$(grep -c . "$SUB_ERR")" "one line"
		grep -q "nothing pinned at $PINS/" "$SUB_ERR" || flunk "'nothing pinned at $PINS/...'" "$(cat "$SUB_ERR")" "open_pinned()"
	done
	subn cleanup
	expect_sub "lab-06 cleanup --name $NAME with nothing pinned" 0 "nothing to do is not an error"
}

@test "a traced process that takes the pid of one just reaped keeps being traced: its exec and exit are counted" {
	# The kernel frees a reaped task in an RCU callback, some time later. The
	# shared tracker (bpf-headers/lab.bpf.h) must not let that late free untrack
	# a new traced process that took the same pid meanwhile. ns_last_pid makes
	# the reuse happen; a pid taken by something else in between is retried.
	local script=$BATS_TEST_TMPDIR/reuse.sh a b line try
	[ -w /proc/sys/kernel/ns_last_pid ] || skip "needs /proc/sys/kernel/ns_last_pid (CONFIG_CHECKPOINT_RESTORE)"
	cat > "$script" <<'X'
/bin/true & a=$!; wait $a
echo $((a - 1)) > /proc/sys/kernel/ns_last_pid
sh -c 'j=0; while [ $j -lt 20000 ]; do j=$((j+1)); done; exec /bin/true' & b=$!; wait $b
echo "reuse a=$a b=$b" >&2
X
	for try in 1 2 3 4 5; do
		run_lab run --name "$NAME" -n 100 -i 0 -- /bin/sh "$script"
		expect_eq "exit status of lab-06 run -- sh reuse.sh" 0 "$status" "see the lab's message above"
		a=$(sed -n 's/^reuse a=\([0-9]*\) .*/\1/p' "$LAB_ERR")
		b=$(sed -n 's/^reuse .* b=\([0-9]*\)$/\1/p' "$LAB_ERR")
		[ -n "$a" ] && [ "$a" = "$b" ] && break
	done
	[ -n "$a" ] && [ "$a" = "$b" ] || skip "no pid reuse in 5 tries (something else took the pid each time)"
	line=$(proc_line "$b" "$LAB_OUT")
	# pid b ran /bin/true (exec 1), then as a new process exec'd /bin/true again (exec 2)
	expect_eq "execs of pid $b (reaped, then reused by a traced process)" 2 "$(field execs "$line")" \
		"lab_tracked in bpf-headers/lab.bpf.h: a late sched_process_free must not untrack the new process"
	expect_eq "state of pid $b" exited "$(field state "$line")" \
		"lab_tracked in bpf-headers/lab.bpf.h: a late sched_process_free must not untrack the new process"
}

@test "a burst of N calls with a stalled reader: nothing waits in a buffer, the cache counts all N" {
	# --stall-ms with -- COMMAND: user space reads nothing until the command has
	# exited; lab 04's smallest ring buffer, stalled the same way, keeps ~127 of them
	run_lab run --name "$NAME" --stall-ms 1 -- "$TRIGGER" getpgid "$N"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	row=$(grep '^proc .* comm="trigger" ' "$LAB_OUT" | head -n 1)
	expect_eq "getpgid calls of the trigger in run's final table" "$N" \
		"$(field busiest_calls "$row")" "$HINT_COUNT; the final table needs TODO(06.8)"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "TODO(06.2)"
	expect_pins_gone "the command ended"
}

@test "a bad subcommand, option or value: exit 2 with the usage" {
	for args in "bogus" "run --max-entries 0" "run --max-entries many" "run --interval -1" "run --top 0" \
		    "run --bogus" "run -p 1 -- /bin/true" "run --name a.b" "run --name _x" "run --name a/b" \
		    "query" "query --pid x" "query --pid 1 extra" "top -n 0" "top --bogus" "cleanup extra"; do
		sub $args
		expect_sub "lab-06 $args" 2 "bad usage exits 2"
		grep -qE 'Usage:|--help' "$SUB_ERR" || flunk "the usage on stderr for lab-06 $args" "$(cat "$SUB_ERR")" "lab_usage_error()"
	done
}

@test "not root: a one-line reason, exit 1 (run, and query of a run's pins)" {
	nobody=(timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
	run "${nobody[@]}" "$LAB_BIN" run
	expect_eq "exit status of lab-06 run as nobody" 1 "$status" "lab_preflight() checks this"
	assert_output --partial "needs root"
	start_lab run --name "$NAME" -q
	for args in "--name $NAME" ""; do
		run "${nobody[@]}" "$LAB_BIN" query --pid 1 $args
		expect_eq "exit status of lab-06 query $args as nobody" 1 "$status" "open_pins() says why"
		assert_output --partial "needs root"
	done
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
}
