#!/usr/bin/env bats
# Lab 05 (queue offloading): checks the reader -> bounded queue -> workers
# pipeline by its exact counts and by the sequence numbers it processes.
LAB=05
# Every run here ends within seconds; a shorter limit keeps a hung run cheap.
LAB_TIMEOUT=${LAB_TIMEOUT:-20}
load helpers

setup_file() { lab_setup_file; }
setup() { lab_setup; }
teardown() {
	[ -z "${IDLE_PID:-}" ] || kill "$IDLE_PID" 2>/dev/null || true
	[ -z "${PRODUCER:-}" ] || kill "$PRODUCER" 2>/dev/null || true
	# the ThreadSanitizer build of a mutant or a mistake goes with it
	case $LAB_TREE in labs|solutions) ;; *) [ -n "${TSAN:-}" ] || rm -rf "$ROOT/build/tsan/$LAB_TREE" ;; esac
	lab_teardown
}

# bytes a struct record takes in the BPF ring: 24 bytes + the 8-byte header
RECORD_BYTES=32

HINT_BPF="TODO(05.2): count every call in produced and every failed reserve in dropped, each with an atomic add"
HINT_QUEUE="TODO(05.3) queue_push and TODO(05.4) queue_pop"
HINT_END="TODO(05.8): drain the ring, then close the queue, then join the workers"
# a run that had to be stopped: where a wait that never ends comes from
HINT_HANG="does the reader wait for room that never comes (queue_pop signals not_full: TODO(05.4); queue_push waits on not_full: TODO(05.3)), does --on-full drop push without waiting, and are held workers released once the command is over (TODO(05.5)), does the poll end at a stop (TODO(05.7)), and are the workers woken to leave ($HINT_END)?"

# run_to_end HINT ARGS...: run the lab to its end, like run_lab; a run that
# timeout(1) had to stop (124: it ended on the SIGTERM, 137: it did not and
# was killed) fails with HINT, the TODOs that can make a run wait for ever.
run_to_end() {
	local hint=$1
	shift
	status=0
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" "$@" > "$LAB_OUT" 2> "$LAB_ERR" || status=$?
	case $status in
	124) flunk "lab-05 $* to end by itself" \
		"still running after ${LAB_TIMEOUT}s: timeout(1) stopped it with SIGTERM (exit 124)" "$hint" ;;
	137) flunk "lab-05 $* to end by itself" \
		"still running after ${LAB_TIMEOUT}s, and 5 s after SIGTERM: killed (exit 137)" "$hint" ;;
	esac
}

# expect_ok WHAT: exit status 0. A run whose counts do not add up exits 1:
# then the counts are checked first, for their hint.
expect_ok() {
	[ "$status" = 0 ] && return 0
	grep -q 'the counts do not add up' "$LAB_ERR" && expect_accounts
	if grep -q 'cannot drain the ring buffer: Operation canceled' "$LAB_ERR"; then
		flunk "exit status 0 ($1)" "$status: the final drain stopped with STOP_POLL (ECANCELED)" \
			"handle_record() must not stop the final drain: it takes every record once final_drain is set (TODO(05.7))"
	fi
	flunk "exit status 0 ($1)" "$status" "the lab's message is in its stderr, below"
}

# expect_accounts: the summary has exactly the lab's keys, and they add up:
# produced = received + dropped and received = processed + queue_drops,
# so produced = processed + queue_drops + dropped. The latency keys end the
# line when a record was processed (each one noted its latency), and only then.
expect_accounts() {
	local keys want="received dropped produced queue_drops processed max_queue_depth "
	expect_summary
	processed=$(summary_value processed)
	[ "${processed:-0}" = 0 ] || want+="lat_p50_us lat_p99_us lat_max_us "
	keys=$(sed -n 's/^summary: //p' "$LAB_ERR" | tail -n 1 | grep -o '[a-z_0-9]*=' | tr -d = | tr '\n' ' ')
	expect_eq "the summary's keys (processed=${processed:-none})" "$want" "$keys" \
		"the summary line is fixed by the lab's README: the latency keys come with processed > 0"
	produced=$(summary_value produced)
	received=$(summary_value received)
	dropped=$(summary_value dropped)
	queue_drops=$(summary_value queue_drops)
	max_queue_depth=$(summary_value max_queue_depth)
	expect_eq "received + dropped (= produced)" "$produced" "$((received + dropped))" \
		"$HINT_BPF; $HINT_END"
	expect_eq "processed + queue_drops (= received)" "$received" "$((processed + queue_drops))" \
		"TODO(05.6) counts what is received, processed inline and refused by offer(); $HINT_END"
}

# run_timed HINT ARGS...: run_to_end, with the run's bounds in RUN_START_NS
# and RUN_END_NS (CLOCK_REALTIME, from date, around the whole lab process).
run_timed() {
	RUN_START_NS=$(date +%s%N)
	run_to_end "$@"
	RUN_END_NS=$(date +%s%N)
}

# expect_latency_within_run: every record is stamped after the lab started and
# handled before it ended, so no latency exceeds the run (a fact, not a timing
# bound). A record without its stamp carries ts = 0: its latency is the time
# since boot. The percentiles are read from one histogram: p50 <= p99 <= max.
expect_latency_within_run() {
	local run_us=$(((RUN_END_NS - RUN_START_NS) / 1000)) p50 p99 max
	p50=$(summary_value lat_p50_us)
	p99=$(summary_value lat_p99_us)
	max=$(summary_value lat_max_us)
	[ -n "$p50" ] && [ -n "$p99" ] && [ -n "$max" ] ||
		flunk "lat_p50_us, lat_p99_us and lat_max_us in the summary" "p50=$p50 p99=$p99 max=$max" \
			"process_record() notes every record's latency (support.c)"
	[ "$max" -le "$run_us" ] ||
		flunk "lat_max_us <= $run_us, the whole run in µs: each record is stamped and handled within it" \
			"lat_max_us=$max (the machine has been up $(cut -d' ' -f1 /proc/uptime) s)" \
			"TODO(05.2): stamp each record, r->ts = bpf_ktime_get_ns(); a record without it says ts=0, and its latency is the time since boot"
	[ "$p50" -le "$p99" ] && [ "$p99" -le "$max" ] ||
		flunk "lat_p50_us <= lat_p99_us <= lat_max_us" "p50=$p50 p99=$p99 max=$max" \
			"TODO(05.2): r->ts = bpf_ktime_get_ns(), the same clock lab_latency_note() reads"
}

# seqs_processed: the sequence numbers of the record lines, sorted
seqs_processed() {
	sed -n 's/^record seq=\([0-9]*\) .*/\1/p' "$LAB_OUT" | sort -n
}

# expect_each_seq_once N: the record lines hold each of 0..N-1 exactly once
expect_each_seq_once() {
	local n=$1 seqs=$BATS_TEST_TMPDIR/seqs dups missing
	seqs_processed > "$seqs"
	dups=$(uniq -d "$seqs" | head -n 3 | tr '\n' ' ')
	[ -z "$dups" ] || flunk "each record processed once" "sequence numbers seen twice: $dups..." \
		"a slot taken by two workers: $HINT_QUEUE must change head and count under the lock"
	missing=$(comm -23 <(seq 0 $((n - 1)) | sort) <(sort "$seqs") | sort -n | head -n 3 | tr '\n' ' ')
	[ -z "$missing" ] || flunk "every sequence number 0..$((n - 1))" "missing: $missing..." "$HINT_QUEUE"
	expect_eq "record lines" "$n" "$(wc -l < "$seqs")" "one line per processed record"
}

# The record lines, in the format of the README.
expect_record_lines_well_formed() {
	local bad
	bad=$(grep -vE '^record seq=[0-9]+ pid=[0-9]+ tid=[0-9]+ worker=[0-9]+$' "$LAB_OUT" | head -n 1)
	[ -z "$bad" ] || flunk "lines 'record seq=N pid=P tid=T worker=W'" "$bad" "process_record() prints them"
}

@test "lab-05 builds" {
	lab_builds
}

@test "--inline: a workload of exactly N getpgid calls gives N records, processed by the reader in the order produced, each stamped within the run" {
	run_timed "$HINT_HANG" --inline -- "$TRIGGER" getpgid 3000
	expect_ok "--inline"
	expect_eq "trigger's produced" 3000 "$(trigger_value produced)" "the trigger itself failed"
	expect_accounts
	expect_eq "summary produced" 3000 "$produced" "$HINT_BPF"
	expect_eq "summary dropped (a 256 KiB ring holds 8191 records)" 0 "$dropped" "$HINT_BPF"
	expect_eq "summary processed" 3000 "$processed" "TODO(05.6): with --inline, process_record() in the callback"
	expect_eq "summary queue_drops" 0 "$queue_drops" "--inline has no queue"
	expect_eq "summary max_queue_depth" 0 "$max_queue_depth" "--inline has no queue"
	expect_record_lines_well_formed
	# one thread made the calls one after another: the ring holds them in order
	expect_eq "sequence numbers, in the order printed" "$(seq 0 2999 | tr '\n' ' ')" \
		"$(sed -n 's/^record seq=\([0-9]*\) .*/\1/p' "$LAB_OUT" | tr '\n' ' ')" \
		"TODO(05.2): seq = __sync_fetch_and_add(&produced, 1) before the reserve"
	expect_eq "lines not from the reader (worker=0)" 0 "$(count_lines ' worker=[1-9]')" "--inline processes in the callback"
	expect_eq "lines with the trigger's pid" 3000 "$(count_lines " pid=$(ready_pid) ")" \
		"pid is the upper half of bpf_get_current_pid_tgid()"
	expect_latency_within_run
}

@test "offload, --on-full drop: produced == processed + queue_drops + dropped for a workload of exactly N, latency within the run" {
	run_timed "$HINT_HANG" -q --workers 2 --queue-size 32 --work-us 10 -- "$TRIGGER" getpgid 20000
	expect_ok "--on-full drop"
	expect_accounts
	expect_eq "summary produced" 20000 "$produced" "$HINT_BPF"
	[ "$processed" -gt 0 ] || flunk "processed > 0" "processed=$processed" "$HINT_QUEUE; TODO(05.5) offer()"
	[ "$max_queue_depth" -le 32 ] || flunk "max_queue_depth <= 32" "$max_queue_depth" "the queue is bounded: TODO(05.3)"
	expect_eq "record lines printed with -q" 0 "$(count_lines .)" "-q prints the summary only"
	expect_latency_within_run # queue time included
}

@test "records are processed while the command still runs: a push wakes a sleeping worker" {
	local fifo=$BATS_TEST_TMPDIR/go fd seen
	mkfifo "$fifo"
	exec {fd}<> "$fifo" # read-write: our word never waits for the reader
	# the command makes 10 calls, then waits for the test's word: the workers
	# (asleep on an empty queue at first) must have processed them by then
	start_lab --workers 2 -- /bin/sh -c '"$0" getpgid 10 2>/dev/null; read go < "$1"' "$TRIGGER" "$fifo"
	# (bounded well inside the lab's own time limit: a bound, not a timing test)
	seen=$(wait_for_lines 10 '^record seq=' $((LAB_TIMEOUT / 2)))
	echo go >&"$fd" # stays in the FIFO until the command reads it: fd is kept open till then
	status=0
	wait "$LAB_PID" || status=$?
	wait "$LAB_ERR_CAT" 2>/dev/null || true
	exec {fd}>&-
	LAB_PID=
	expect_eq "record lines printed while the command still ran" 10 "$seen" \
		"queue_push() wakes a sleeping worker: pthread_cond_signal(&q->not_empty) (TODO(05.3)); queue_pop() sleeps only while the queue is empty (TODO(05.4))"
	expect_eq "exit status" 0 "$status" "the lab's message is in its stderr, below"
	expect_accounts
	expect_eq "summary processed" 10 "$processed" "$HINT_QUEUE"
}

@test "offload, --on-full block: the same identity, and never a queue drop" {
	run_to_end "$HINT_HANG" -q --on-full block --workers 2 --queue-size 32 --work-us 10 --ring-size 16384 \
		-- "$TRIGGER" getpgid 20000
	expect_ok "--on-full block"
	expect_accounts
	expect_eq "summary produced" 20000 "$produced" "$HINT_BPF"
	expect_eq "summary queue_drops" 0 "$queue_drops" \
		"TODO(05.5): --on-full block waits for room and never drops"
	[ "$max_queue_depth" -le 32 ] || flunk "max_queue_depth <= 32" "$max_queue_depth" "the queue is bounded: TODO(05.3)"
}

@test "--stall-ms: a reader that reads nothing before the command has exited gets every record through the final drain" {
	# the poll loop ends at once: what the ring holds comes only from finish()
	run_to_end "$HINT_HANG" -q --stall-ms 1 --ring-size 1048576 --queue-size 8192 -- "$TRIGGER" getpgid 5000
	expect_ok "--stall-ms 1"
	expect_accounts
	expect_eq "summary produced" 5000 "$produced" "$HINT_BPF"
	expect_eq "summary received" 5000 "$received" \
		"$HINT_END: the drain takes every record: the callback must not stop it (TODO(05.7))"
	expect_eq "summary processed" 5000 "$processed" "$HINT_END: close the queue after the drain, not before"
	# a 4096-byte ring holds fewer than 4096 / RECORD_BYTES records: the kernel counts the rest
	run_to_end "$HINT_HANG" -q --stall-ms 1 --ring-size 4096 -- "$TRIGGER" getpgid 5000
	expect_ok "4096-byte ring"
	expect_accounts
	expect_eq "summary produced (4096-byte ring)" 5000 "$produced" "$HINT_BPF"
	[ "$received" -gt 0 ] && [ "$received" -le $((4096 / RECORD_BYTES)) ] ||
		flunk "0 < received <= $((4096 / RECORD_BYTES))" "received=$received" "$HINT_END"
	expect_eq "summary processed (4096-byte ring)" "$received" "$processed" "the queue holds them all"
}

@test "two CPUs against a tiny ring: every failed reserve is counted exactly once in dropped (an atomic add)" {
	# two threads, one per CPU, fail their reserves at the same time, millions
	# of times: a plain dropped += 1 (load, add, store) loses some of them
	run_to_end "$HINT_HANG" -q --stall-ms 1 --ring-size 4096 -- "$TRIGGER" -t 2 getpgid 2000000
	expect_accounts
	expect_ok "two CPUs, tiny ring"
	expect_eq "summary produced" 2000000 "$produced" "$HINT_BPF"
	[ "$dropped" -ge $((2000000 - 4096 / RECORD_BYTES)) ] ||
		flunk "dropped >= $((2000000 - 4096 / RECORD_BYTES))" "dropped=$dropped" "$HINT_BPF"
}

@test "--hold-workers, drop: a burst of N into a queue of Q: the first Q processed, N - Q queue drops, no kernel drop" {
	# the workers take nothing before the command has exited and the ring is
	# drained, and a 1 MiB ring holds the whole burst: the loss is all in the queue
	run_to_end "$HINT_HANG" --hold-workers --workers 3 --queue-size 100 --ring-size 1048576 -- "$TRIGGER" getpgid 5000
	expect_ok "--hold-workers"
	expect_accounts
	expect_eq "summary produced" 5000 "$produced" "$HINT_BPF"
	expect_eq "summary dropped" 0 "$dropped" "a 1 MiB ring holds 5000 records: $HINT_BPF"
	expect_eq "summary received" 5000 "$received" "TODO(05.6) counts every record; $HINT_END"
	expect_eq "summary processed (what the queue held)" 100 "$processed" \
		"a queue of 100 holds 100 records: full is count == capacity ($HINT_QUEUE)"
	expect_eq "summary queue_drops" 4900 "$queue_drops" "TODO(05.5): --on-full drop counts what does not fit"
	expect_eq "summary max_queue_depth" 100 "$max_queue_depth" "TODO(05.3) keeps max_count"
	expect_record_lines_well_formed
	expect_each_seq_once 100
}

@test "--hold-workers, block: the reader waits for room, the workers drain the queue once the command is over, nothing is dropped" {
	run_to_end "TODO(05.5): once lab_should_stop(), queue_release() lets the held workers make room; $HINT_HANG" \
		-q --hold-workers --on-full block --workers 2 --queue-size 100 --ring-size 1048576 \
		-- "$TRIGGER" getpgid 5000
	expect_ok "--hold-workers --on-full block"
	expect_accounts
	expect_eq "summary produced" 5000 "$produced" "$HINT_BPF"
	expect_eq "summary dropped" 0 "$dropped" "a 1 MiB ring holds 5000 records"
	expect_eq "summary queue_drops" 0 "$queue_drops" "TODO(05.5): --on-full block never drops"
	expect_eq "summary processed" 5000 "$processed" \
		"TODO(05.5): once lab_should_stop(), queue_release() lets the held workers make room"
	expect_eq "summary max_queue_depth" 100 "$max_queue_depth" "the queue was full while the workers were held"
}

@test "--on-full block with held workers and a small ring: the loss moves into the kernel, queue_drops stays 0" {
	# the reader fills the queue (16), then waits; the ring (4096 bytes) fills
	# behind it, and the kernel drops the rest of the burst
	run_to_end "$HINT_HANG" -q --hold-workers --on-full block --queue-size 16 --ring-size 4096 -- "$TRIGGER" getpgid 5000
	expect_ok "small ring, block"
	expect_accounts
	expect_eq "summary produced" 5000 "$produced" "$HINT_BPF"
	expect_eq "summary queue_drops" 0 "$queue_drops" "TODO(05.5): --on-full block never drops"
	at_least=$((5000 - 16 - 4096 / RECORD_BYTES - 1))
	[ "$dropped" -ge "$at_least" ] ||
		flunk "dropped >= $at_least (the queue and the ring hold at most $((5000 - at_least)))" \
			"dropped=$dropped" "$HINT_BPF; the reader must wait while the queue is full (TODO(05.5))"
	expect_eq "summary max_queue_depth" 16 "$max_queue_depth" "the queue was full while the workers were held"
}

@test "several workers: every record is processed exactly once (sequence numbers), with drop and with block" {
	# two CPUs make calls at once; nothing can be dropped: the ring holds them
	# all, and so does the queue (drop) or the reader waits (block)
	for mode in "drop --queue-size 65536" "block --queue-size 8"; do
		run_to_end "$HINT_HANG" --workers 4 --ring-size 1048576 --on-full $mode -- "$TRIGGER" -t 2 getpgid 20000
		expect_ok "--on-full $mode"
		expect_accounts
		expect_eq "summary produced (--on-full $mode)" 20000 "$produced" "$HINT_BPF"
		expect_eq "summary processed (--on-full $mode)" 20000 "$processed" "$HINT_QUEUE"
		expect_record_lines_well_formed
		expect_each_seq_once 20000
		expect_eq "lines from a worker outside 1..4" 0 "$(count_lines ' worker=([05-9]|[1-9][0-9]+)$')" \
			"workers are numbered 1..W"
	done
}

@test "while it runs: the program is attached to sys_enter_getpgid, reserves and submits into a ring buffer, and counts with atomic adds" {
	start_idle_target
	start_lab -q -p "$IDLE_PID"
	pid=$(lab_process)
	attached=$(attached_tracepoints "$pid")
	prog=$(awk '$2 == "sys_enter_getpgid" { print $1 }' <<< "$attached")
	[ -n "$prog" ] || flunk "a program attached to tracepoint sys_enter_getpgid" "${attached:-none}" \
		"the skeleton's attach() does it, from SEC(\"tp/syscalls/sys_enter_getpgid\")"
	maps=$(map_types_of_prog "$prog")
	grep -q '^ringbuf events$' <<< "$maps" ||
		flunk "the program uses map 'events' of type ringbuf" "$(echo $maps)" "TODO(05.1) and TODO(05.2)"
	calls=$(helper_calls "$prog" | tr '\n' ' ')
	[[ $calls == *bpf_ringbuf_reserve* && $calls == *bpf_ringbuf_submit* ]] ||
		flunk "the program calls bpf_ringbuf_reserve and bpf_ringbuf_submit" "$calls" "TODO(05.2)"
	# an atomic add is one BPF_STX | BPF_ATOMIC | BPF_DW instruction, opcode 0xdb
	atomics=$(bpftool prog dump xlated id "$prog" | grep -c '(db)' || true)
	[ "$atomics" -ge 2 ] || flunk "2 atomic adds in the program (produced, dropped)" "$atomics" \
		"$HINT_BPF: a plain += is a load, an add and a store, and two CPUs can interleave them"
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "the lab's message is in its stderr, below"
	expect_accounts
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

# start_producer: a process that calls getpgid() without end, in $PRODUCER
# (killed in teardown), for -p: nothing then stops the flow of records.
start_producer() {
	"$TRIGGER" -q getpgid 4000000000 3>&- &
	PRODUCER=$!
}

# stop_while_fed SIGNAL ARGS...: start the lab on the endless producer, then
# send SIGNAL. The run must end with its summary; a run that does not is
# killed by timeout(1) 5 s after the signal: exit 137.
stop_while_fed() {
	local signal=$1
	shift
	start_lab -q "$@" -p "$PRODUCER"
	stop_lab "$signal"
	[ "$status" != 137 ] && [ "$status" != 124 ] ||
		flunk "lab-05 $* to end after SIG$signal" "still running 5 s after it: killed (exit $status)" \
			"libbpf calls the callback for as long as records arrive: handle_record() must end the poll once stop_requested() (TODO(05.7))"
	expect_eq "exit status after SIG$signal ($*)" 0 "$status" "the lab's message is in its stderr, below"
	expect_accounts
}

@test "a producer that never stops (-p): SIGTERM ends --inline and --on-full block with their summary, and so does -d" {
	start_producer
	stop_while_fed TERM --inline --work-us 1000 --ring-size 4096
	stop_while_fed TERM --on-full block --queue-size 16 --work-us 1000 --ring-size 4096
	run_to_end "libbpf calls the callback for as long as records arrive: handle_record() must end the poll once stop_requested() (TODO(05.7))" \
		-q -d 1 --on-full block --queue-size 16 --work-us 1000 --ring-size 4096 -p "$PRODUCER"
	expect_ok "-d 1"
	expect_accounts
	[ "$produced" -gt 0 ] || flunk "produced > 0" "$produced" "$HINT_BPF"
}

# sigint_while_full WORK_US ARGS...: the command makes a burst, tells the test
# through a FIFO, and waits. The workers are held while it runs, so the
# queue fills; SIGINT comes then. Processing what is queued would take far
# longer than the lab's time limit, so only a queue discarded at Ctrl-C
# lets the run end by itself.
sigint_while_full() {
	local fifo=$BATS_TEST_TMPDIR/burst-done line fd burst=$1
	shift
	mkfifo "$fifo"
	exec {fd}<> "$fifo" # read-write: the open does not wait for the writer
	start_lab -q --hold-workers --workers 2 --work-us 200000 "$@" \
		-- /bin/sh -c '"$0" getpgid "$2" 2>/dev/null; echo done > "$1"; exec /bin/sleep 600' \
		"$TRIGGER" "$fifo" "$burst"
	read -r -t "$LAB_TIMEOUT" -u "$fd" line ||
		flunk "the burst to end" "no word from the command" "the lab's message is in its stderr, below"
	exec {fd}<&-
	stop_lab INT
	[ "$status" != 137 ] && [ "$status" != 124 ] ||
		flunk "lab-05 to end after SIGINT" "still running after ${LAB_TIMEOUT}s (exit $status)" \
			"after Ctrl-C, finish() discards the queue before the drain (TODO(05.8)); the reader waiting for room stops at lab_interrupted() (TODO(05.5)), and the poll must end (TODO(05.7))"
	expect_eq "exit status after SIGINT" 0 "$status" "the lab's message is in its stderr, below"
	expect_accounts
	expect_eq "summary processed (the workers were held)" 0 "$processed" \
		"after Ctrl-C the queue is discarded, not processed: TODO(05.8) (and TODO(05.5) with block)"
	[ "$produced" -ge "$burst" ] || flunk "produced >= $burst" "$produced" "$HINT_BPF"
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

@test "SIGINT while the queue is full and the reader waits (block): exit 0 promptly, every record accounted for, nothing left loaded" {
	# the reader fills the 8-record queue, then waits for room; up to 127 more
	# wait in the 4096-byte ring: (8 + 127) x 200 ms to process them all
	sigint_while_full 1000 --on-full block --queue-size 8 --ring-size 4096
	expect_eq "summary max_queue_depth" 8 "$max_queue_depth" "the queue was full"
	[ "$queue_drops" -ge 8 ] || flunk "queue_drops >= 8: the full queue counted when discarded" \
		"queue_drops=$queue_drops" "TODO(05.8): after Ctrl-C, discard_queue() counts what is queued"
}

@test "SIGINT with a full queue (drop): the queue is discarded, not processed, and every record accounted for" {
	# 2000 records queued (200 ms each for 2 workers: 200 s), then Ctrl-C
	sigint_while_full 2000 --queue-size 4096 --ring-size 1048576
	expect_eq "summary queue_drops (the whole burst, discarded at Ctrl-C)" 2000 "$queue_drops" \
		"after Ctrl-C, finish() discards the queue and counts it in queue_drops (TODO(05.8))"
}

@test "SIGINT while the workers work through a long queue at the end: the rest is discarded, the exit is prompt" {
	# held workers and a queue that takes the whole burst: once the command has
	# exited, the lab drains the ring, closes the queue and waits for the
	# workers, who start on 2000 records of 200 ms each. Their first line says
	# the lab is waiting for them: SIGINT then.
	start_lab --hold-workers --workers 2 --work-us 200000 --queue-size 4096 --ring-size 1048576 \
		-- "$TRIGGER" getpgid 2000
	seen=$(wait_for_lines 1 '^record seq=' $((LAB_TIMEOUT / 2)))
	expect_eq "a record line once the command is over" 1 "$seen" "$HINT_END"
	stop_lab INT
	[ "$status" != 137 ] && [ "$status" != 124 ] ||
		flunk "lab-05 to end after SIGINT" "still running 5 s after it: killed (exit $status)" \
			"while finish() waits for the workers, Ctrl-C discards what is queued: join_workers(discard_queue) (TODO(05.8))"
	expect_eq "exit status after SIGINT" 0 "$status" "the lab's message is in its stderr, below"
	expect_accounts
	expect_eq "summary produced" 2000 "$produced" "$HINT_BPF"
	[ "$processed" -lt 2000 ] && [ "$queue_drops" -gt 0 ] ||
		flunk "processed < 2000 and queue_drops > 0: the rest discarded at Ctrl-C" \
			"processed=$processed queue_drops=$queue_drops" "join_workers(discard_queue) (TODO(05.8))"
}

# tsan_binary: the ThreadSanitizer build of the tree under test, on stdout.
# With TSAN=1 the whole checker already runs it; else it is built here, the
# way `make TSAN=1 lab-05` does (build/tsan/<tree>/lab-05).
tsan_binary() {
	local src
	if [ -n "${TSAN:-}" ]; then
		echo "$LAB_BIN"
		return 0
	fi
	case $LAB_TREE in
	labs|solutions) src=$(ls -d "$ROOT/$LAB_TREE"/lab-05-* 2>/dev/null | head -n 1) ;;
	*)              src=$(ls -d "$ROOT/build/variant-src/$LAB_TREE"/lab-05-* 2>/dev/null | head -n 1) ;;
	esac
	[ -n "$src" ] || { echo "no source tree for $LAB_TREE" >&2; return 1; }
	# UBSAN= : under make test's UBSan pass the ThreadSanitizer build is still
	# TSan alone, in build/tsan/ (UBSAN=1 would put it in build/tsan/ubsan/)
	UBSAN= make -C "$ROOT" TSAN=1 common > "$BATS_TEST_TMPDIR/tsan-build.log" 2>&1 &&
		UBSAN= make -C "$src" TSAN=1 >> "$BATS_TEST_TMPDIR/tsan-build.log" 2>&1 ||
		{ tail -n 20 "$BATS_TEST_TMPDIR/tsan-build.log" >&2; return 1; }
	echo "$ROOT/build/tsan/$LAB_TREE/lab-05"
}

expect_no_race() {
	local report
	report=$(grep -m 1 -A 12 'ThreadSanitizer' "$LAB_ERR" || true)
	[ -z "$report" ] || flunk "no ThreadSanitizer report ($1)" "$report" \
		"every access to the queue's fields happens with q->lock held ($HINT_QUEUE)"
}

@test "under ThreadSanitizer (the TSAN=1 build of lab-05): several workers, drop, block, held workers and SIGINT, no data race" {
	LAB_BIN=$(tsan_binary) || flunk "the ThreadSanitizer build" "a build error (above)" "make TSAN=1 lab-05"
	for args in "--workers 4 --queue-size 16 --work-us 2" \
		"--workers 3 --on-full block --queue-size 4" \
		"--workers 3 --on-full block --hold-workers --queue-size 64"; do
		run_to_end "$HINT_HANG" -q --ring-size 1048576 $args -- "$TRIGGER" -t 2 getpgid 20000
		expect_no_race "$args"
		expect_eq "exit status ($args)" 0 "$status" "66 is ThreadSanitizer's exit status after a report"
		expect_accounts
		expect_eq "summary produced ($args)" 20000 "$produced" "$HINT_BPF"
	done
	expect_eq "summary queue_drops (--on-full block)" 0 "$queue_drops" "TODO(05.5)"
	sigint_while_full 1000 --on-full block --queue-size 8 --ring-size 4096
	expect_no_race "SIGINT while the queue is full"
}

@test "a bad option or value: exit 2 with the usage" {
	run_lab --ring-size 12288
	grep -q 'power of two' "$LAB_ERR" ||
		flunk "--ring-size 12288 explained ('power of two')" "$(cat "$LAB_ERR")" "lab_parse_ring_size() checks it"
	for args in "--ring-size 12288" "--ring-size 1024" "--queue-size 0" "--workers 0" "--workers 65" \
		"--on-full wait" "--work-us many" "--inline --workers 2" "--inline --hold-workers" "--bogus"; do
		run_lab $args
		expect_eq "exit status of lab-05 $args" 2 "$status" "bad usage exits 2"
		grep -qE 'Usage:|--help' "$LAB_ERR" || flunk "the usage on stderr for $args" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
}
