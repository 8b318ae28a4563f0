#!/usr/bin/env bats
# Lab 04 (sampled wakeups): checks the getpgid tracer by what it does.
#
# Only counts, never times. Every workload is `trigger getpgid N`, which makes
# exactly N getpgid() calls; the command itself makes no other (it is run by
# absolute path, so exec finds it at once). A record is 24 bytes: 32 in the
# ring buffer (8-byte header), 40 in a perf buffer (perf header, size, padding).
LAB=04
load helpers

setup_file() { lab_setup_file; }
setup() { lab_setup; }
teardown() { lab_teardown; }

PAGE=$(getconf PAGESIZE)
CPUS=$(nproc --all)
RING_RECORD=32
PERF_RECORD=40

HINT_RECEIVE="TODO(04.4) opens the perf buffer, TODO(04.3) reads its records, TODO(04.6) polls, TODO(04.7) drains"

# expect_wakeups_slept: a wakeup is a poll that slept (the reader's voluntary
# context switches grew during it) and returned records, so there are never
# more wakeups than context switches. A poll that found records already
# there (a level-triggered epoll, or a wakeup that came while the reader was
# busy) is not one.
expect_wakeups_slept() {
	local wakeups ctxsw
	wakeups=$(summary_value wakeups)
	ctxsw=$(summary_value ctxsw)
	[[ $wakeups =~ ^[0-9]+$ && $ctxsw =~ ^[0-9]+$ ]] ||
		flunk "wakeups=<number> ctxsw=<number> in the summary" "wakeups=${wakeups:-} ctxsw=${ctxsw:-}" "TODO(04.6) counts wakeups"
	[ "$wakeups" -le "$ctxsw" ] || flunk "wakeups <= ctxsw (each wakeup slept)" "wakeups=$wakeups ctxsw=$ctxsw" \
		"TODO(04.6): count a wakeup only when the poll returned records and usage_now().ctxsw grew"
}

# check_records N: the event lines on stdout are exactly seqs 0..N-1, each
# once, and on each CPU in increasing seq order. A tracepoint program runs
# with preemption off (perf_syscall_enter() and trace_call_bpf()), so on one
# CPU a record takes its seq and reaches the buffer before the next record
# starts; both buffers keep the order of one CPU's writes.
check_records() {
	local n=$1 report
	report=$(awk -v n="$n" '
		/^getpgid / {
			lines++
			seq = -1; cpu = -1
			for (i = 2; i <= NF; i++) {
				split($i, kv, "=")
				if (kv[1] == "seq") seq = kv[2] + 0
				if (kv[1] == "cpu") cpu = kv[2]
			}
			if (seq < 0 || seq >= n || cpu == -1) { bad++; next }
			if (seen[seq]++) dup++; else distinct++
			if ((cpu in last) && seq <= last[cpu]) disorder++
			last[cpu] = seq
		}
		END { printf "lines=%d distinct=%d dup=%d bad=%d disorder=%d\n", lines, distinct, dup, bad, disorder }
	' "$LAB_OUT")
	expect_eq "event lines with seqs 0..$((n - 1)), each once, in order per CPU" \
		"lines=$n distinct=$n dup=0 bad=0 disorder=0" "$report" \
		"TODO(04.1) numbers records with __sync_fetch_and_add(&next_seq, 1); $HINT_RECEIVE"
}

@test "lab-04 builds" {
	lab_builds
}

@test "-- COMMAND: every mode delivers exactly N records, each seq once, in order per CPU, none lost" {
	# buffers larger than the whole workload: nothing can be lost, however
	# slowly the reader runs
	local n=20000 mode
	for mode in "--buffer perf --pages 1024" \
		    "--buffer perf --pages 1024 --wakeup-events 1000" \
		    "--buffer ring --ring-size 4194304" \
		    "--buffer ring --ring-size 4194304 --wakeup-bytes 16384" \
		    "--buffer ring --ring-size 4194304 --wakeup-bytes 16384 --edge-triggered"; do
		run_lab $mode -- "$TRIGGER" -t 2 getpgid "$n"
		echo "# lab-04 $mode"
		expect_eq "exit status" 0 "$status" "see the lab's message below"
		expect_eq "trigger's produced" "$n" "$(trigger_value produced)" "the trigger itself failed"
		check_records "$n"
		expect_summary
		expect_eq "summary received" "$n" "$(summary_value received)" "$HINT_RECEIVE"
		if [[ $mode == *perf* ]]; then
			expect_eq "summary lost" 0 "$(summary_value lost)" "a 1024-page buffer holds the whole workload"
		fi
		expect_eq "summary dropped" 0 "$(summary_value dropped)" "the buffer holds the whole workload"
		expect_wakeups_slept
	done
}

@test "--buffer perf --wakeup-events K: at most N/K wakeups (plus half-buffer watermarks), all N delivered" {
	# The bound, and why it holds on any machine. The lab counts a wakeup when
	# a poll slept and returned a ready ring. A perf ring reports "ready" to
	# epoll only after the kernel woke it (perf_poll() reads and clears
	# rb->poll, which perf_output_wakeup() sets), so wakeups <= kernel
	# wakeups. The kernel wakes a ring every K samples (wakeup_events), and
	# also each time another half of the ring's data area has been written
	# (the watermark of a buffer without wakeup_watermark), so kernel
	# wakeups <= N/K + N*40/(pages*PAGE/2). Timed-out polls never count.
	# Neither term depends on how fast the producer or reader runs; +2 is
	# slack.
	local n=100000 k=1000 pages=2048
	run_lab -q --buffer perf --pages "$pages" --wakeup-events "$k" -- "$TRIGGER" getpgid "$n"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "summary received" "$n" "$(summary_value received)" "$HINT_RECEIVE"
	expect_eq "summary lost" 0 "$(summary_value lost)" "a 2048-page buffer holds the whole workload"
	local wakeups polls bound
	wakeups=$(summary_value wakeups)
	polls=$(summary_value polls)
	bound=$((n / k + n * PERF_RECORD / (pages * PAGE / 2) + 2))
	expect_wakeups_slept
	[ "$wakeups" -le "$bound" ] || flunk "wakeups <= $bound (N/K = $((n / k)))" "wakeups=$wakeups" \
		"TODO(04.4): set wakeup_events = opts.wakeup_events in the perf_event_attr"
	[ "$wakeups" -le "$polls" ] || flunk "wakeups <= polls" "wakeups=$wakeups polls=$polls" \
		"TODO(04.6): a wakeup is a poll call that slept and returned records"
}

@test "--buffer ring --wakeup-bytes B: at most (CPUs+2)*N*32/B wakeups, all N delivered" {
	# Why the bound holds on any machine. With B > 0 the program submits with
	# BPF_RB_NO_WAKEUP, or with BPF_RB_FORCE_WAKEUP once it sees >= B bytes
	# unconsumed: every wake-up is an irq_work queued by such a submit. The
	# lab counts a wakeup when a poll slept and returned records; each is
	# ended by a different irq_work. libbpf's epoll is level-triggered, so
	# the reader's last check of the ring before it sleeps found it empty.
	# Let S be the submit behind the wake-up that ends a sleep, E that check.
	# - S after E: the >= B bytes S saw were all written between E and the
	#   wake-up. These stretches do not overlap: at most N*32/B such wakeups.
	# - S before E (its irq_work still pending or running at E): the >= B
	#   bytes S saw were all read by E. One byte is covered by at most CPUs+1
	#   such wakeups: each was queued before the byte was read and woke the
	#   reader after, and only one irq_work can be pending, one running per
	#   CPU. At most (CPUs+1)*N*32/B such wakeups.
	# Neither depends on speeds; +2 is slack for the rounding.
	local n=100000 b=32768
	run_lab -q --buffer ring --ring-size 4194304 --wakeup-bytes "$b" -- "$TRIGGER" getpgid "$n"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "summary received" "$n" "$(summary_value received)" "$HINT_RECEIVE"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "a 4 MiB ring holds the whole workload"
	local wakeups polls bound
	wakeups=$(summary_value wakeups)
	polls=$(summary_value polls)
	bound=$(((CPUS + 2) * ((n * RING_RECORD + b - 1) / b) + 2))
	expect_wakeups_slept
	[ "$wakeups" -le "$bound" ] || flunk "wakeups <= $bound (N*32/B = $((n * RING_RECORD / b)))" "wakeups=$wakeups" \
		"TODO(04.2): BPF_RB_NO_WAKEUP until bpf_ringbuf_query(BPF_RB_AVAIL_DATA) reaches wakeup_bytes; TODO(04.5) sets it"
	[ "$wakeups" -le "$polls" ] || flunk "wakeups <= polls" "wakeups=$wakeups polls=$polls" \
		"TODO(04.6): a wakeup is a poll call that slept and returned records"

	# --edge-triggered: the epoll reports the ring once per kernel wakeup, so
	# every poll ends with a wake-up (bounded as above), a timeout or a signal
	run_lab -q --buffer ring --ring-size 4194304 --wakeup-bytes "$b" --edge-triggered -- "$TRIGGER" getpgid "$n"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "summary received" "$n" "$(summary_value received)" "$HINT_RECEIVE"
	local timeouts
	polls=$(summary_value polls)
	timeouts=$(summary_value timeouts)
	[ "$polls" -le "$((bound + timeouts + 2))" ] ||
		flunk "edge-triggered: polls <= $bound + timeouts + 2" "polls=$polls timeouts=$timeouts" \
		"TODO(04.2): BPF_RB_NO_WAKEUP until bpf_ringbuf_query(BPF_RB_AVAIL_DATA) reaches wakeup_bytes; TODO(04.6) polls once per wakeup"
}

@test "perf: a quiet CPU's records are read within --poll-ms while another CPU keeps waking the reader" {
	# Each CPU has its own perf ring and its own wakeup count. A producer that
	# never stops on CPU 0 wakes the reader every K samples, so no poll ever
	# times out; 5 < K samples on CPU 1 wake nobody. The reader must still
	# read CPU 1's ring (every ring at least once per --poll-ms, TODO(04.6)):
	# the busy producer is held until CPU 1's lines appear, and only then
	# stopped. No time is asserted; a third of the lab's time limit (20 s)
	# only bounds a failing run.
	[ "$CPUS" -ge 2 ] || skip "needs 2 CPUs"
	local k=10 stop=$BATS_TEST_TMPDIR/stop busy early seen bound=$((LAB_TIMEOUT / 3))
	start_lab --buffer perf --wakeup-events "$k" --pages 1024
	taskset -c 0 bash -c 'while [ ! -e "$1" ]; do "$2" -q getpgid 20; done' _ "$stop" "$TRIGGER" &
	busy=$!
	early=$(wait_for_lines 100 '^getpgid .* cpu=0 ' "$bound")
	"$TRIGGER" -q -c 1 getpgid 5
	seen=$(wait_for_lines 5 '^getpgid .* cpu=1 ' "$bound")
	touch "$stop"
	wait "$busy"
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_eq "records of the busy CPU 0 before the quiet one starts" 100 "$early" \
		"TODO(04.4) wakes the reader every K samples; TODO(04.6) polls"
	expect_eq "CPU 1's 5 records (K = $k) printed while CPU 0 still wakes the reader" 5 "$seen" \
		"TODO(04.6): read every ring (buffer_consume()) at least once per --poll-ms, whatever the poll returned"
}

@test "the final drain: N not a multiple of K arrives whole; below K the kernel never wakes the reader" {
	# --poll-ms 10000: no poll times out during these runs, so records the
	# kernel did not wake us for arrive through the final drain only
	local n
	for n in 999 2500; do
		run_lab -q --buffer perf --wakeup-events 1000 --poll-ms 10000 -- "$TRIGGER" getpgid "$n"
		expect_eq "exit status (N=$n)" 0 "$status" "see the lab's message below"
		expect_eq "summary received (N=$n, K=1000)" "$n" "$(summary_value received)" \
			"TODO(04.7): the final drain reads what is still in the buffer"
		expect_eq "summary lost (N=$n)" 0 "$(summary_value lost)" "nothing can be lost here"
		if [ "$n" = 999 ]; then
			expect_eq "wakeups for 999 samples with K=1000" 0 "$(summary_value wakeups)" \
				"TODO(04.4): wakeup_events = K; TODO(04.6) counts only polls that slept and returned records"
		fi
	done
}

@test "ring: records that stay below the threshold B arrive through the final drain" {
	# 1000 records are 32000 bytes < B: the program never forces a wakeup
	run_lab -q --buffer ring --wakeup-bytes 65536 --poll-ms 10000 -- "$TRIGGER" getpgid 1000
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "summary received" 1000 "$(summary_value received)" \
		"TODO(04.7): the final drain reads what is still in the ring"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "a 256 KiB ring holds 1000 records"
}

@test "while it runs: the program on sys_enter_getpgid queries the ring when B > 0, or writes to the perf buffer" {
	start_lab -q --buffer ring --wakeup-bytes 4096
	local pid attached prog calls
	pid=$(lab_process)
	attached=$(attached_tracepoints "$pid")
	prog=$(awk '$2 == "sys_enter_getpgid" { print $1 }' <<< "$attached")
	[ -n "$prog" ] || flunk "a running lab-04 with a program on tracepoint sys_enter_getpgid" \
		"${attached:-none}" "the poll loop (TODO(04.6)) keeps it running until stopped"
	calls=$(helper_calls "$prog" | tr '\n' ' ')
	[[ " $calls" == *" bpf_ringbuf_query "* ]] ||
		flunk "the loaded program calls bpf_ringbuf_query" "$calls" \
		"TODO(04.2) asks bpf_ringbuf_query(&events_ring, BPF_RB_AVAIL_DATA); TODO(04.5) sets wakeup_bytes before load"
	[[ " $calls" == *" bpf_ringbuf_submit "* ]] ||
		flunk "the loaded program calls bpf_ringbuf_submit" "$calls" "--buffer ring sets skel->rodata->buffer before load"
	map_types_of_prog "$prog" | grep -q '^ringbuf events_ring$' ||
		flunk "the program uses map 'events_ring' of type ringbuf" "$(map_types_of_prog "$prog" | tr '\n' ' ')" "--buffer ring"
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "see the lab's message below"

	start_lab -q --buffer perf --wakeup-events 10
	pid=$(lab_process)
	prog=$(attached_tracepoints "$pid" | awk '$2 == "sys_enter_getpgid" { print $1 }')
	helper_calls "$prog" | grep -q '^bpf_perf_event_output' ||
		flunk "the loaded program calls bpf_perf_event_output" "$(helper_calls "$prog" | tr '\n' ' ')" \
		"--buffer perf: skel->rodata->buffer is BUFFER_PERF"
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "see the lab's message below"
}

@test "a stalled reader and a 4096-byte ring: received + dropped == N exactly, dropped > 0" {
	# --stall-ms with -- COMMAND: nothing is read before the command exits,
	# so the ring fills and bpf_ringbuf_reserve() fails; the program counts
	# each failure
	run_lab --buffer ring --ring-size 4096 --stall-ms 1 -q -- "$TRIGGER" getpgid 1000
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	local received dropped
	received=$(summary_value received)
	dropped=$(summary_value dropped)
	expect_eq "received + dropped" 1000 "$((received + dropped))" \
		"TODO(04.7): the final drain reads the ring; dropped is the program's counter"
	[ "$dropped" -gt 0 ] || flunk "dropped > 0 with a 4096-byte ring" "received=$received dropped=$dropped" \
		"TODO(04.5): bpf_map__set_max_entries(skel->maps.events_ring, opts.ring_size) before load"
	expect_eq "event lines printed with -q" 0 "$(count_lines .)" "-q prints the summary only"

	# the same with a one-page perf buffer: received + lost, exact thanks to the flush
	run_lab --buffer perf --pages 1 --stall-ms 1 -q -- "$TRIGGER" getpgid 1000
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	received=$(summary_value received)
	local lost
	lost=$(summary_value lost)
	dropped=$(summary_value dropped)
	expect_eq "received + lost + dropped" 1000 "$((received + lost + dropped))" \
		"TODO(04.3) adds PERF_RECORD_LOST counts; TODO(04.7) flushes them with lab_perf_flush_lost()"
	[ "$lost" -gt 0 ] || flunk "lost > 0 with a one-page perf buffer" "received=$received lost=$lost" "TODO(04.3): add PERF_RECORD_LOST counts to lost"
}

@test "SIGINT: exit 0, records below the threshold are delivered, summary printed, nothing left loaded" {
	# every process is traced; 1000 records stay below B, and no poll times
	# out, so only the final drain can deliver them
	start_lab -q --buffer ring --wakeup-bytes 65536 --poll-ms 30000
	"$TRIGGER" getpgid 1000 2>/dev/null
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "see the lab's message below"
	expect_summary
	local received
	received=$(summary_value received)
	[ "${received:-0}" -ge 1000 ] || flunk "received >= 1000" "received=${received:-nothing}" \
		"TODO(04.7): the final drain delivers what no wakeup announced"
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

@test "bad options or values: exit 2 with the usage, nothing loaded" {
	local args
	for args in "--wakeup-events 0" "--buffer ring --ring-size 4096 --wakeup-bytes 8192" \
		    "--buffer ring --ring-size 4096 --wakeup-bytes 4096" "--buffer ring --ring-size 6000" \
		    "--buffer ring --ring-size 2048" "--buffer fifo" "--buffer ring --wakeup-events 10" \
		    "--wakeup-bytes 64" "--pages 3" "--poll-ms 0" "--edge-triggered" \
		    "--buffer ring --raw-tp"; do
		run_lab $args -- /bin/true
		expect_eq "exit status of lab-04 $args" 2 "$status" "bad usage exits 2"
		grep -qE 'Usage:|--help' "$LAB_ERR" || flunk "the usage on stderr for $args" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
}
