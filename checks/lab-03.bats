#!/usr/bin/env bats
# Lab 03 (event ordering): checks the lifecycle tracer by what it prints.
#
# The workload is "$TRIGGER [-P 2] lifecycle N PATH": worker threads, each
# pinned to a CPU, fork N children in all; each child moves to another CPU,
# execs PATH and exits. So every child's fork is recorded on one CPU and its
# exec and exit on another, and the run holds exactly 3N + 2 records: N forks,
# N execs, N exits, plus the trigger's own exec and exit (it was forked before
# tracing began, so it has no fork line).
#
# Lateness is made on purpose, never left to timing: --lag-cpu CPU (a
# checker's option, named in the README) leaves that CPU's ring to the final
# drain, so records arrive after newer ones were printed.
LAB=03
load helpers

setup_file() { lab_setup_file; }
setup() {
	lab_setup
	# a uniquely named child binary, so its exec lines can be told from any other
	COPY=$BATS_TEST_TMPDIR/true-$RANDOM
	cp /bin/true "$COPY"
}
teardown() { lab_teardown; }

HINT_STAMP="TODO(03.1) stamps each record with bpf_ktime_get_ns()"
HINT_ORDER="the reorder stage: TODO(03.5) the heap, TODO(03.6) holds each record, TODO(03.7) releases the oldest first"
HINT_COUNT="TODO(03.6) counts each record on arrival"

# ---- reading the output ------------------------------------------------------

# Stamps are compared as decimal strings (shorter is smaller, then text order):
# exact at any size, where awk's numbers (doubles) are not.
AWK_LIB='
function key(name) {
	if (match($0, " " name "=[0-9]+"))
		return substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 2)
	return ""
}
function below(a, b) { return length(a) < length(b) || (length(a) == length(b) && a < b) }
'

# The event lines: "fork|exec|exit ts=N ...", and with --probe "probe ts=N ...".
event_lines() {
	count_lines '^(fork|exec|exit|probe) ts=[0-9]+ '
}

# How many probe lines have a stamp below a line printed before them.
probes_backwards() {
	awk "$AWK_LIB"'
	$1 !~ /^(fork|exec|exit|probe)$/ { next }
	{ ts = key("ts") }
	max != "" && below(ts, max) { if ($1 == "probe") n++; next }
	{ max = ts }
	END { print n + 0 }' "$LAB_OUT"
}

# How many event lines have a stamp below the largest stamp of the lines
# printed before them: what out_of_order counts, in arrival order.
backwards() {
	awk "$AWK_LIB"'
	$1 !~ /^(fork|exec|exit|probe)$/ { next }
	{ ts = key("ts") }
	max != "" && below(ts, max) { n++; next }
	{ max = ts }
	END { print n + 0 }' "$LAB_OUT"
}

# The first line printed with a stamp below one printed before it, and that one.
first_backwards() {
	awk "$AWK_LIB"'
	$1 !~ /^(fork|exec|exit|probe)$/ { next }
	{ ts = key("ts") }
	max != "" && below(ts, max) { print "line " NR ": " $0 " came after line " at ": " maxline; exit }
	{ max = ts; maxline = $0; at = NR }' "$LAB_OUT"
}

# lifecycle_problems PARENT N: the children of PARENT (the pids of fork lines
# whose ppid is PARENT) must be N, and each must show exactly one fork, one
# exec and one exit, printed in that order, with stamps that increase, and
# with its exec and exit on another CPU than its fork (the trigger moves each
# child). Prints one line per problem, "what: detail", nothing when all is
# well. Only lines with ppid=PARENT count, so a pid reused by another process
# does not.
lifecycle_problems() {
	awk -v parent="$1" -v want="$2" -v ncpus="$(nproc)" "$AWK_LIB"'
	$1 !~ /^(fork|exec|exit)$/ || key("ppid") != parent { next }
	{
		pid = key("pid")
		if ($1 == "fork" && !((pid, "fork") in seen))
			child[++n] = pid
		seen[pid, $1]++
		line[pid, $1] = NR
		ts[pid, $1] = key("ts")
		cpu[pid, $1] = key("cpu")
	}
	END {
		if (n != want)
			print "missing: " n + 0 " children with a fork line, expected " want
		for (i = 1; i <= n; i++) {
			pid = child[i]
			for (k = 1; k <= 3; k++) {
				kind = substr("forkexecexit", 4 * k - 3, 4)
				if (seen[pid, kind] != 1)
					print (seen[pid, kind] ? "twice" : "missing") ": child " pid " has " \
						seen[pid, kind] + 0 " " kind " lines, expected 1"
			}
			if (seen[pid, "fork"] != 1 || seen[pid, "exec"] != 1 || seen[pid, "exit"] != 1)
				continue
			if (!(line[pid, "fork"] < line[pid, "exec"] && line[pid, "exec"] < line[pid, "exit"]))
				print "order: child " pid " is printed out of the order fork, exec, exit (lines " \
					line[pid, "fork"] ", " line[pid, "exec"] ", " line[pid, "exit"] ")"
			else if (!(below(ts[pid, "fork"], ts[pid, "exec"]) && below(ts[pid, "exec"], ts[pid, "exit"])))
				print "stamps: child " pid " has stamps fork " ts[pid, "fork"] ", exec " ts[pid, "exec"] \
					", exit " ts[pid, "exit"] ", which do not increase"
			else if (ncpus > 1 && (cpu[pid, "exec"] == cpu[pid, "fork"] || cpu[pid, "exit"] == cpu[pid, "fork"]))
				print "cpu: child " pid " has cpu fork=" cpu[pid, "fork"] " exec=" cpu[pid, "exec"] \
					" exit=" cpu[pid, "exit"] ", but the trigger runs each child on another CPU than its parent"
		}
	}' "$LAB_OUT"
}

# expect_lifecycles PARENT N: no problem from lifecycle_problems.
expect_lifecycles() {
	local problems hint
	problems=$(lifecycle_problems "$1" "$2")
	[ -n "$problems" ] || return 0
	case $problems in
	missing:*) hint="a record never printed: TODO(03.2) keeps every new process (test the child, not the parent), TODO(03.4) sends it, TODO(03.6) holds it, TODO(03.7) releases it" ;;
	twice:*)   hint="each record is printed once: TODO(03.7) prints what heap_pop() takes out; TODO(03.2) and TODO(03.3) keep processes, not threads" ;;
	order:*)   hint=$HINT_ORDER ;;
	stamps:*)  hint=$HINT_STAMP ;;
	*)         hint="TODO(03.1): e->cpu = bpf_get_smp_processor_id()" ;;
	esac
	flunk "each of the $2 children shows fork, exec, exit: once each, in that order, stamps increasing" \
		"$(head -n 3 <<< "$problems")" "$hint"
}

# The -- COMMAND itself: its exec and its exit, no fork (it was forked before tracing).
expect_command_lines() {
	local pid
	pid=$(ready_pid)
	expect_eq "fork lines of the command (pid $pid): forked before tracing began" 0 \
		"$(count_lines "^fork .* pid=$pid ")" \
		"TODO(03.2): a new thread (pthread_create) is not a new process; skip it when child->pid != child->tgid"
	expect_eq "exit lines of the command (pid $pid)" 1 "$(count_lines "^exit .* pid=$pid ")" \
		"TODO(03.3): every thread exits, the process once: keep only the exit that ends the thread group (group_dead)"
	expect_eq "exec lines of the command (pid $pid)" 1 "$(count_lines "^exec .* pid=$pid ")" \
		"handle_exec sends one record per exec"
}

expect_in_order() {
	expect_eq "lines whose stamp is below one printed before them" 0 "$(backwards)" \
		"$HINT_ORDER; $(first_backwards)"
}

expect_all_printed() {
	expect_eq "summary received = event lines printed" "$(event_lines)" "$(summary_value received)" \
		"$HINT_COUNT; every record held must be released (TODO(03.7)), the last ones by the final flush"
}

expect_counter_matches_output() {
	local counted=$1 seen
	seen=$(backwards)
	expect_eq "summary out_of_order = lines printed in arrival order with a stamp below an earlier one" \
		"$seen" "$counted" "$HINT_COUNT: out_of_order when ts < the largest ts received before it"
}

# ---- the tests -------------------------------------------------------------------

@test "lab-03 builds" {
	lab_builds
}

@test "200 lifecycles over all CPUs: timestamps never go backwards, each child shows fork < exec < exit once" {
	run_lab -- "$TRIGGER" -P 2 lifecycle 200 "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "trigger's produced" 200 "$(trigger_value produced)" "the trigger itself failed"
	expect_summary
	expect_in_order
	expect_lifecycles "$(ready_pid)" 200
	expect_eq "exec lines of $COPY" 200 "$(count_lines "^exec .* file=\"$COPY\"$")" \
		"handle_exec reads the file from bprm->filename"
	expect_command_lines
	expect_eq "event lines (3 per child, and the command's exec and exit)" 602 "$(event_lines)" \
		"TODO(03.2) and TODO(03.3): threads are not processes"
	expect_all_printed
	expect_eq "summary late (default window)" 0 "$(summary_value late)" \
		"TODO(03.8): read the clock before read_every_ring(), release what is older than that time - window"
	expect_eq "summary lost" 0 "$(summary_value lost)" "the default buffers hold this workload"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" \
		"TODO(03.4): count in dropped only the outputs that failed (and for perf, not -ENOSPC)"
}

@test "a process whose second thread calls execve: fork, exec, exec, then one exit" {
	# the thread's exec kills the old leader (pid == tgid) before the new
	# program runs: that exit is not the process's
	printf '%s\n' '#include <pthread.h>' '#include <unistd.h>' 'static char **a;' \
		'static void *run(void *u) { execv(a[0], a); return u; }' \
		'int main(int c, char **v) { pthread_t t; a = v + 1; pthread_create(&t, 0, run, 0); pthread_join(t, 0); return 1; }' \
		> "$BATS_TEST_TMPDIR/thexec.c"
	cc -pthread -o "$BATS_TEST_TMPDIR/thexec" "$BATS_TEST_TMPDIR/thexec.c" ||
		flunk "cc builds the test's helper program" "a compiler error" "install gcc (make setup)"
	# a shell forks it (so it has a fork line) and waits for it
	run_lab -- sh -c '"$0" "$1"; exit $?' "$BATS_TEST_TMPDIR/thexec" "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_summary
	seq=$(awk -v sh="$(ready_pid)" '$1 ~ /^(fork|exec|exit)$/ && $0 ~ " ppid=" sh " " {
		printf "%s%s", sep, $1 ($1 == "exec" ? "(" ($0 ~ /file=".*thexec"/ ? "thexec" : "copy") ")" : ""); sep = ","
	}' "$LAB_OUT")
	expect_eq "the lines of the shell's child, in order" "fork,exec(thexec),exec(copy),exit" "$seq" \
		"TODO(03.3): the process exits when its thread group dies (group_dead), not when a task with pid == tgid exits: the old leader dies in the exec"
}

@test "a stalled consumer reads the per-CPU rings one after the other: out_of_order > 0, yet the output is in order" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs: the trigger moves each child to another CPU"
	# one worker forks on CPU 0, its children exec and exit on CPU 1; nothing
	# is read before the command has exited, then each ring is read to its
	# end in turn: one ring's records all arrive before the other's.
	run_lab --stall-ms 1 -- "$TRIGGER" lifecycle 100 "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_summary
	ooo=$(summary_value out_of_order)
	[ "${ooo:-0}" -gt 0 ] || flunk "out_of_order > 0: ring after ring, records of one CPU arrive older than the other's" \
		"out_of_order=${ooo:-none}" "$HINT_COUNT"
	expect_in_order
	expect_lifecycles "$(ready_pid)" 100
	expect_eq "event lines" 302 "$(event_lines)" "every record is held, then printed by the final flush"
	expect_all_printed
	expect_eq "summary late (everything is held until the final flush)" 0 "$(summary_value late)" \
		"TODO(03.6): a record is late only if its stamp is below newest_released, the newest one printed, not the newest received"
}

@test "--lag-cpu 1: CPU 1's records arrive only at the end; late counts exactly the lines printed out of place" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs: the trigger moves each child to another CPU"
	# every process is traced; the trigger's children are told apart by their
	# ppid. Its worker forks on CPU 0, read as usual; each child execs and
	# exits on CPU 1, whose ring only the final drain reads.
	start_lab --lag-cpu 1
	"$TRIGGER" lifecycle 20 "$COPY" 2>/dev/null &
	trigger=$!
	wait "$trigger"
	# hold the lab until the 20 forks are printed: each fork is newer than
	# the exec and exit of the child before it, still unread
	shown=$(wait_for_lines 20 "^fork .* ppid=$trigger " 20)
	stop_lab INT
	expect_eq "fork lines of the 20 children printed before the lab was stopped" 20 "$shown" \
		"TODO(03.8): after each wait, read every ring and release what is older than the clock read before - window"
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_summary
	late=$(summary_value late)
	[ "${late:-0}" -ge 38 ] || flunk "late >= 38: the exec and exit of children 1 to 19 are older than fork 20, printed before them" \
		"late=${late:-none}" "TODO(03.7) raises newest_released to each record it prints; TODO(03.6) counts late against it"
	expect_eq "summary late = lines printed with a stamp below one printed before them" "$(backwards)" "$late" \
		"TODO(03.6) counts late when ts < newest_released; TODO(03.7) raises newest_released to each record printed"
	expect_lifecycles "$trigger" 20
	expect_all_printed
}

@test "--probe: a record written into a ring already read, after the clock was read, is held in place, never late" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs: the probe writes on CPU 0, then on CPU 1"
	# each turn of the loop, once ring 0 is read, lab_probe writes a record
	# on CPU 0 (into ring 0, read already) and then one on CPU 1 (ring 1,
	# read next). Stamped after the clock was read, both must be held: the
	# first is only read in the next turn. With a window of 0, only the
	# order of the clock read and the ring reads decides.
	start_lab --probe --reorder-us 0
	"$TRIGGER" -P 2 lifecycle 50 "$COPY" 2>/dev/null &
	trigger=$!
	wait "$trigger"
	shown=$(wait_for_lines 20 "^probe ts=" 20)
	stop_lab INT
	expect_eq "probe lines printed while the lab runs" 20 "$shown" \
		"TODO(03.8): each turn waits, reads the clock, reads every ring and releases"
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_summary
	expect_eq "probe lines printed with a stamp below one printed before them" 0 "$(probes_backwards)" \
		"TODO(03.8): read the clock (lab_now_ns) before read_every_ring(), not after it: a record written during the reads must stay held; $(first_backwards)"
	expect_eq "summary late = lines printed with a stamp below one printed before them" "$(backwards)" \
		"$(summary_value late)" "TODO(03.6) counts late when ts < newest_released"
	expect_lifecycles "$trigger" 50
	expect_all_printed
}

@test "--no-reorder prints in arrival order: out_of_order counts exactly the lines that go backwards" {
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs: the trigger moves each child to another CPU"
	run_lab --no-reorder --stall-ms 1 -- "$TRIGGER" lifecycle 100 "$COPY"
	expect_eq "exit status (stalled)" 0 "$status" "see the lab's message below"
	expect_eq "event lines (stalled)" 302 "$(event_lines)" "TODO(03.6): without opts.reorder, print each record as it arrives"
	expect_all_printed
	[ "$(backwards)" -gt 0 ] || flunk "lines out of order when the rings are read one after the other" \
		"none" "TODO(03.6): --no-reorder must print in arrival order, not through the reorder stage"
	expect_counter_matches_output "$(summary_value out_of_order)"

	run_lab --no-reorder -- "$TRIGGER" -P 2 lifecycle 200 "$COPY"
	expect_eq "exit status (live)" 0 "$status" "see the lab's message below"
	expect_eq "event lines (live)" 602 "$(event_lines)" "TODO(03.6): without opts.reorder, print each record as it arrives"
	expect_all_printed
	expect_counter_matches_output "$(summary_value out_of_order)"
}

@test "--buffer ring delivers every lifecycle, and out_of_order matches its output" {
	run_lab --buffer ring -- "$TRIGGER" -P 2 lifecycle 200 "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_summary
	expect_eq "event lines" 602 "$(event_lines)" "TODO(03.4): with use_ring, bpf_ringbuf_output(&events_ring, ...)"
	# a fork is reserved before the child can run, its exec before its exit:
	# one ring keeps each child's records in order
	expect_lifecycles "$(ready_pid)" 200
	expect_all_printed
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "a 256 KiB ring holds this workload"
	expect_counter_matches_output "$(summary_value out_of_order)"

	run_lab --buffer ring --stall-ms 1 -- "$TRIGGER" lifecycle 100 "$COPY"
	expect_eq "exit status (stalled)" 0 "$status" "see the lab's message below"
	expect_eq "event lines (stalled)" 302 "$(event_lines)" "TODO(03.4): with use_ring, bpf_ringbuf_output(&events_ring, ...)"
	expect_counter_matches_output "$(summary_value out_of_order)"
}

@test "tiny buffers and a stalled consumer: received + lost + dropped == 302, each loss counted once" {
	for args in "--pages 1" "--buffer ring --ring-size 4096"; do
		run_lab $args --stall-ms 1 -- "$TRIGGER" lifecycle 100 "$COPY"
		expect_eq "exit status ($args)" 0 "$status" "see the lab's message below"
		received=$(summary_value received)
		lost=$(summary_value lost)
		dropped=$(summary_value dropped)
		expect_eq "received + lost + dropped ($args)" 302 "$((${received:-0} + ${lost:-0} + ${dropped:-0}))" \
			"TODO(03.4): dropped counts a failed bpf_ringbuf_output(), and a failed bpf_perf_event_output() other than -ENOSPC (the kernel reports that one in lost)"
		if [[ $args == *ring* ]]; then
			[ "${dropped:-0}" -gt 0 ] || flunk "dropped > 0 ($args)" "dropped=${dropped:-none}" \
				"TODO(03.4): bpf_ringbuf_output() fails when the ring is full; count it in dropped"
			expect_counter_matches_output "$(summary_value out_of_order)"
		else
			[ "${lost:-0}" -gt 0 ] || flunk "lost > 0 ($args)" "lost=${lost:-none}" \
				"a full perf ring: the kernel reports the lost samples, handle_lost() adds them"
			expect_eq "dropped ($args): a full perf ring is the kernel's to report" 0 "${dropped:-none}" \
				"TODO(03.4): -ENOSPC is counted by the kernel (lost); count only other failures in dropped"
			expect_in_order
		fi
		expect_all_printed
	done
}

@test "dropped is added to atomically, in both buffers' paths" {
	for mode in perf ring; do
		start_lab -q --buffer $mode
		prog=$(attached_tracepoints "$(lab_process)" | awk '$2 == "sched_process_exec" { print $1 }')
		xlated=$(bpftool prog dump xlated id "${prog:-0}" 2>&1)
		stop_lab TERM
		grep -q 'lock \*(u64 \*)' <<< "$xlated" || flunk "an atomic add (lock ... +=) in handle_exec ($mode)" \
			"$(grep -E 'call bpf_(ringbuf|perf_event)_output|\+= 1$' <<< "$xlated" | head -n 3)" \
			"TODO(03.4): every CPU runs the program at once: __sync_fetch_and_add(&dropped, 1), not dropped++"
	done
}

@test "held records are released while tracing goes on, not only at exit" {
	# every process is traced here; the trigger's children are told apart by
	# their ppid, so other activity on the machine does not matter
	start_lab
	"$TRIGGER" lifecycle 20 "$COPY" 2>/dev/null &
	trigger=$!
	wait "$trigger"
	# block until the exit lines are out (or the checker's timeout): they
	# must show up while the lab still runs, once the window has passed
	shown=$(wait_for_lines 20 "^exit .* ppid=$trigger " 20)
	stop_lab INT
	expect_eq "exit lines of the 20 children printed before the lab was stopped" 20 "$shown" \
		"TODO(03.8): after each wait, read every ring and release what is older than the clock read before - window"
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_summary
	expect_lifecycles "$trigger" 20
	expect_in_order
	expect_all_printed
	expect_eq "summary late (default window)" 0 "$(summary_value late)" \
		"TODO(03.8): read the clock before read_every_ring(), release what is older than that time - window"
}

@test "--stats prints the delays from stamp to line and the hold in the stage: well-formed, ordered, over every record" {
	run_lab -q --stats -- "$TRIGGER" -P 2 lifecycle 50 "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_summary
	line=$(grep '^stats: ' "$LAB_ERR")
	n='([0-9]+)'
	[[ $line =~ ^stats:\ records=$n\ delay_p50_us=$n\ delay_p99_us=$n\ delay_max_us=$n\ hold_p50_us=$n\ hold_p99_us=$n\ hold_max_us=$n\ target=hold_p99\<=2000us\ (PASS|MISS)$ ]] ||
		flunk "stats: records=N delay_p50_us=N delay_p99_us=N delay_max_us=N hold_p50_us=N hold_p99_us=N hold_max_us=N target=hold_p99<=2000us PASS|MISS" \
			"${line:-no stats line}" "print_stats() in support.c"
	expect_eq "stats records = summary received" "$(summary_value received)" "${BASH_REMATCH[1]}" \
		"every record received is printed once (TODO(03.7)), and each print is noted"
	local m=("${BASH_REMATCH[@]}")
	[ "${m[2]}" -le "${m[3]}" ] && [ "${m[3]}" -le "${m[4]}" ] && [ "${m[5]}" -le "${m[6]}" ] && [ "${m[6]}" -le "${m[7]}" ] ||
		flunk "p50 <= p99 <= max, for the delays and the holds" "$line" "print_stats() sorts the figures"
	# a record is held only after it arrived, and printed after it was stamped
	[ "${m[7]}" -le "${m[4]}" ] ||
		flunk "hold_max <= delay_max" "$line" "the hold is part of the delay (note_hold() in heap_pop())"
}

@test "SIGTERM: exit 0, summary printed, nothing left loaded" {
	start_lab -q --buffer ring
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "see the lab's message below"
	expect_summary
	for key in received lost dropped out_of_order late; do
		[ -n "$(summary_value "$key")" ] || flunk "summary key $key" "$(grep '^summary:' "$LAB_ERR")" \
			"the summary keys are fixed: received lost dropped out_of_order late"
	done
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

@test "a bad option or value: exit 2 with the usage" {
	for args in "--buffer bogus" "--reorder-us soon" "--reorder-us 60000001" "--pages 3" \
		"--ring-size 1000" "--buffer ring --reorder-us 10" "--buffer ring --pages 2" \
		"--buffer ring --lag-cpu 1" "--buffer ring --probe" "--ring-size 8192" "--no-reorder --reorder-us 5" "--bogus" \
		"--"; do
		run_lab $args
		expect_eq "exit status of lab-03 $args" 2 "$status" "bad usage exits 2"
		grep -qE 'Usage:|--help' "$LAB_ERR" || flunk "the usage on stderr for $args" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
}
