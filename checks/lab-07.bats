#!/usr/bin/env bats
# Lab 07 (one binary for every kernel): the ring buffer where the kernel has
# one, the perf buffer where not. Checks each path by what it does, and that
# both print the same events.
LAB=07
load helpers

setup_file() { lab_setup_file; }
setup() {
	lab_setup
	COPY=$BATS_TEST_TMPDIR/true-$RANDOM$RANDOM
	cp /bin/true "$COPY"
	PAGE=$(getconf PAGESIZE)
	NCPU=$(nproc)                 # online CPUs: perf opens one ring on each
	POSSIBLE=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-");
		n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' /sys/devices/system/cpu/possible)
}
teardown() { lab_teardown; }

HINT_RING="TODO(07.1) reserves, TODO(07.2) submits; TODO(07.4) sets up the ring, TODO(07.6) opens it"
HINT_PERF="TODO(07.1) takes the scratch record, TODO(07.2) outputs it; TODO(07.5) turns events into a perf event array, TODO(07.7) opens it"

hint_for() { # MODE: the tasks its events go through
	case $1 in ring|auto) echo "$HINT_RING" ;; *) echo "$HINT_PERF" ;; esac
}

# the largest power of two <= $1 (>= 1)
pow2_floor() {
	local p=1
	while [ $((p * 2)) -le "$1" ]; do p=$((p * 2)); done
	echo "$p"
}

# expected_memory MODE BUDGET: what the README's arithmetic gives
expected_memory() {
	if [ "$1" = ring ]; then
		echo $((PAGE * $(pow2_floor $(($2 / PAGE)))))
	else
		echo $(($(pow2_floor $(($2 / (PAGE * POSSIBLE)))) * NCPU * PAGE))
	fi
}

# map_of_prog PROG_ID NAME: "id type max_entries" of the program's map NAME
map_of_prog() {
	local id
	for id in $(bpftool prog show id "$1" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$id" | awk -v want="$2" 'NR == 1 { id = $1; sub(":", "", id); type = $2; name = $4 }
			NR == 2 { for (i = 1; i < NF; i++) if ($i == "max_entries") max = $(i + 1) }
			END { if (name == want) print id, type, max }'
	done
}

# the ids of every program the lab process holds
progs_of_process() {
	bpftool prog show | awk -v pid="$1" '/^[0-9]+:/ { id = $1; sub(":", "", id) }
		index($0, "lab-07(" pid ")") { print id }'
}

# expect_latency MODE RAN_NS: records were received, so the summary ends with
# the three latency keys, ordered p50 <= p99 <= max; and every record was
# stamped and read while the lab ran, so max <= RAN_NS (a fact, not a bound
# on speed)
expect_latency() {
	local p50 p99 max ran_us=$(($2 / 1000))
	local hint="not a task: handle_execve stamps e->ts = bpf_ktime_get_ns() with the other fields, handle_record notes it (lab_latency_note), the summary appends lab_latency_keys()"
	p50=$(summary_value lat_p50_us); p99=$(summary_value lat_p99_us); max=$(summary_value lat_max_us)
	[[ $p50 =~ ^[0-9]+$ && $p99 =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] ||
		flunk "lat_p50_us=N lat_p99_us=N lat_max_us=N in the summary ($1)" "$(grep '^summary: ' "$LAB_ERR")" "$hint"
	[ "$p50" -le "$p99" ] && [ "$p99" -le "$max" ] && [ "$max" -le "$ran_us" ] ||
		flunk "lat_p50_us <= lat_p99_us <= lat_max_us <= $ran_us, the microseconds lab-07 ran ($1)" \
			"lat_p50_us=$p50 lat_p99_us=$p99 lat_max_us=$max" "$hint"
}

@test "lab-07 builds" {
	lab_builds
}

@test "auto picks the BPF ring buffer on this kernel, and the ready line says why" {
	bpftool feature probe kernel 2>/dev/null | grep -q "map_type ringbuf is available" ||
		skip "this kernel has no BPF ring buffer"
	run_lab -- "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	grep -q 'tracing execve through the BPF ring buffer (the kernel has one) of pid .*(Ctrl-C to stop)$' "$LAB_ERR" ||
		flunk "the ready line '... through the BPF ring buffer (the kernel has one) ...'" \
			"$(grep 'Ctrl-C' "$LAB_ERR" || echo none)" \
			"TODO(07.3): libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) says 1 here"
	expect_eq "summary buffer" ring "$(summary_value buffer)" "TODO(07.3) chooses the ring reader"
}

@test "--assume-no-ringbuf: the probe's 'no' takes the perf path, and the ready line says why" {
	run_lab --assume-no-ringbuf -- "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	grep -q 'tracing execve through the perf buffer (no BPF ring buffer: --assume-no-ringbuf) of pid .*(Ctrl-C to stop)$' "$LAB_ERR" ||
		flunk "the ready line '... through the perf buffer (no BPF ring buffer: --assume-no-ringbuf) ...'" \
			"$(grep 'Ctrl-C' "$LAB_ERR" || echo none)" \
			"TODO(07.3): opts.assume_no_ringbuf answers 'no' in place of the probe"
	expect_eq "summary buffer" perf "$(summary_value buffer)" "TODO(07.3) chooses the perf reader"
	expect_eq "execve lines for $COPY" 1 "$(count_lines "file=\"$COPY\"")" "$HINT_PERF"
}

@test "auto, ring, perf and --assume-no-ringbuf print the same events for one workload: counts, pids, paths, latency" {
	# N execs of $COPY, alternating over the CPUs, each through taskset and
	# sh: 3 execs per step under one pid, which the step writes to $pids.
	local n=10 first= mode
	cat > "$BATS_TEST_TMPDIR/workload.sh" <<-'EOF'
	i=0
	while [ $i -lt "$1" ]; do
		/usr/bin/taskset -c $((i % $2)) /bin/sh -c 'echo $$ >> "$1"; exec "$2"' sh "$3" "$4"
		i=$((i + 1))
	done
	EOF
	for mode in auto ring perf --assume-no-ringbuf; do
		pids=$BATS_TEST_TMPDIR/pids.${mode#--}
		args=(--buffer "$mode"); [ "$mode" = --assume-no-ringbuf ] && args=("$mode")
		t0=$(date +%s%N)
		run_lab "${args[@]}" -- /bin/sh "$BATS_TEST_TMPDIR/workload.sh" "$n" "$NCPU" "$pids" "$COPY"
		t1=$(date +%s%N)
		expect_eq "exit status ($mode)" 0 "$status" "see the lab's message below"
		expect_eq "execve lines for $COPY ($mode)" "$n" "$(count_lines "file=\"$COPY\"")" "$(hint_for "$mode")"
		expect_eq "all execve lines: sh, then taskset, sh, $COPY per step ($mode)" $((1 + 3 * n)) \
			"$(count_lines '^execve ')" "$(hint_for "$mode")"
		expect_eq "the pids of the $COPY lines ($mode)" "$(sort -n "$pids" | tr '\n' ' ')" \
			"$(sed -n "s|^execve pid=\([0-9]*\) .*file=\"$COPY\"$|\1|p" "$LAB_OUT" | sort -n | tr '\n' ' ')" \
			"pid is the upper half of bpf_get_current_pid_tgid(); every field of the record is written"
		expect_eq "summary received ($mode)" $((1 + 3 * n)) "$(summary_value received)" "handle_record counts each record once"
		expect_eq "summary lost ($mode)" 0 "$(summary_value lost)" "the default 256 KiB holds this workload"
		expect_eq "summary dropped ($mode)" 0 "$(summary_value dropped)" \
			"TODO(07.2): bpf_perf_event_output with BPF_F_CURRENT_CPU, to this CPU's ring (an event on a CPU without its ring is dropped)"
		expect_latency "$mode" $((t1 - t0))
		# the lines, each pid replaced by its step (0: the first sh), sorted
		norm=$(awk -v ready="$(ready_pid)" 'NR == FNR { step[$1] = FNR; next }
			{ match($0, /pid=[0-9]+/); p = substr($0, RSTART + 4, RLENGTH - 4)
			  s = (p == ready) ? 0 : step[p]; if (s == "") s = "?" p
			  sub(/pid=[0-9]+ tid=[0-9]+/, "step=" s); print }' "$pids" "$LAB_OUT" | sort)
		if [ -z "$first" ]; then
			first=$norm
		elif [ "$norm" != "$first" ]; then
			flunk "the same lines as --buffer auto (pids as steps)" "$(diff <(echo "$first") <(echo "$norm") | head -n 8)" \
				"$(hint_for "$mode")"
		fi
	done
}

@test "while it runs, in each mode: the map's type and size, the helpers the program calls, the memory it maps" {
	local budget=100000 mode
	for mode in ring perf --assume-no-ringbuf; do
		args=(--buffer "$mode"); [ "$mode" = --assume-no-ringbuf ] && args=("$mode")
		kind=$([ "$mode" = ring ] && echo ring || echo perf)
		start_lab -q "${args[@]}" --memory "$budget"
		pid=$(lab_process)
		prog=$(attached_tracepoints "$pid" | awk '$2 == "sys_enter_execve" { print $1 }')
		[ -n "$prog" ] || flunk "a program attached to sys_enter_execve ($mode)" "none" "the skeleton's attach() does it"
		read -r map_id map_type max_entries <<< "$(map_of_prog "$prog" events)"
		calls=$(helper_calls "$prog" | tr '\n' ' ')
		if [ "$kind" = ring ]; then
			expect_eq "the type of map events ($mode)" ringbuf "$map_type" "TODO(07.4): the ring path keeps the declared type"
			[[ $calls == *bpf_ringbuf_reserve*bpf_ringbuf_submit* && $calls != *bpf_perf_event_output* ]] ||
				flunk "ring mode: bpf_ringbuf_reserve and _submit, no bpf_perf_event_output" "$calls" \
					"TODO(07.4) sets use_ringbuf; TODO(07.1) and TODO(07.2) branch on it"
			for p in $(progs_of_process "$pid"); do
				helper_calls "$p" | grep -q '^bpf_perf_event_output' &&
					flunk "ring mode: no program of the lab calls bpf_perf_event_output" "program $p does" \
						"TODO(07.4): lab_perf_flush is for the perf path only (bpf_program__set_autoload)"
			done
			kernel_memory=$max_entries
		else
			expect_eq "the type of map events ($mode)" perf_event_array "$map_type" \
				"TODO(07.5): bpf_map__set_type(events, BPF_MAP_TYPE_PERF_EVENT_ARRAY) before load"
			expect_eq "max_entries of the perf event array: one per possible CPU ($mode)" "$POSSIBLE" "$max_entries" \
				"TODO(07.5): max_entries 0 lets libbpf size it to the CPUs"
			[[ $calls == *bpf_perf_event_output* && $calls != *bpf_ringbuf* ]] ||
				flunk "perf mode: bpf_perf_event_output and no bpf_ringbuf_* call" "$calls" \
					"TODO(07.5) clears use_ringbuf; TODO(07.1) and TODO(07.2) branch on it"
			# each CPU's ring is one mmap: a header page, then the data pages
			rings=$(awk '/anon_inode:\[perf_event\]/ { print $1 }' "/proc/$pid/maps" |
				while IFS=- read -r from to; do echo $((0x$to - 0x$from)); done)
			expect_eq "perf rings mapped by the lab ($mode)" "$NCPU" "$(grep -c . <<< "$rings")" "TODO(07.7): perf_buffer__new()"
			kernel_memory=$(awk -v page="$PAGE" '{ s += $1 - page } END { print s }' <<< "$rings")
		fi
		# one lock-prefixed add on the live path: dropped, counted atomically
		atomics=$(bpftool prog dump xlated id "$prog" | grep -c 'lock \*(u64 \*)' || true)
		expect_eq "atomic adds (dropped) in the loaded program ($mode)" 1 "$atomics" \
			"$([ "$kind" = ring ] && echo "TODO(07.1): a failed reserve" || echo "TODO(07.2): a failed output") is counted with __sync_fetch_and_add (programs run on every CPU at once)"
		stop_lab INT
		expect_eq "exit status after SIGINT ($mode)" 0 "$status" "see the lab's message below"
		expect_eq "summary memory = what the kernel mapped ($mode)" "$kernel_memory" "$(summary_value memory)" \
			"$([ "$kind" = ring ] && echo "TODO(07.6): the ring's data area is max_entries bytes" || echo "TODO(07.7): pages x rings (perf_buffer__buffer_cnt) x page size")"
		expect_eq "summary memory = the README's arithmetic for --memory $budget ($mode)" \
			"$(expected_memory "$kind" "$budget")" "$(summary_value memory)" \
			"$([ "$kind" = ring ] && echo "TODO(07.4): the largest power-of-two number of pages <= the budget" || echo "TODO(07.5): the largest power-of-two pages per CPU with pages x CPUs x page <= the budget")"
	done
}

@test "one budget, rounded down to what each buffer can map, never above it" {
	local budget kind
	for budget in $((PAGE * POSSIBLE)) 20000 100000 1048576; do
		for kind in ring perf; do
			run_lab -q --buffer "$kind" --memory "$budget" -- "$COPY"
			expect_eq "exit status (--buffer $kind --memory $budget)" 0 "$status" "see the lab's message below"
			expect_eq "summary memory (--buffer $kind --memory $budget)" "$(expected_memory "$kind" "$budget")" \
				"$(summary_value memory)" \
				"$([ "$kind" = ring ] && echo "TODO(07.4): the largest power-of-two number of pages <= the budget; TODO(07.6) reports max_entries" || echo "TODO(07.5): the largest power-of-two pages per CPU with pages x CPUs x page <= the budget; TODO(07.7) reports pages x rings x page size")"
		done
	done
}

@test "ring, stalled reader, a one-page ring: received + dropped == produced exactly, dropped > 0" {
	run_lab -q --buffer ring --memory "$PAGE" --stall-ms 1 -- "$TRIGGER" exec 300 "$COPY"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "trigger's produced" 300 "$(trigger_value produced)" "the trigger itself failed"
	expect_eq "summary memory" "$PAGE" "$(summary_value memory)" "TODO(07.4) and TODO(07.6)"
	received=$(summary_value received); dropped=$(summary_value dropped); lost=$(summary_value lost)
	expect_eq "summary lost (the ring reports none)" 0 "$lost" "the ring's loss() is 0: the program counts its drops"
	expect_eq "received + dropped (300 execs and the trigger's own)" 301 "$((received + dropped))" \
		"TODO(07.1): every failed bpf_ringbuf_reserve() adds 1 to dropped"
	[ "$dropped" -gt 0 ] || flunk "dropped > 0" "dropped=$dropped" "TODO(07.1) counts failed reserves"
}

@test "perf, stalled reader, one page per CPU, a burst on every CPU: received + lost + dropped == produced exactly" {
	# one burst pinned to each CPU: every CPU's ring overflows and owes its
	# own lost record, which the final flush makes the kernel write
	local cpu script=
	for cpu in $(seq 0 $((NCPU - 1))); do script="$script \"$TRIGGER\" -c $cpu exec 150 \"$COPY\";"; done
	run_lab -q --buffer perf --memory $((PAGE * POSSIBLE)) --stall-ms 1 -- /bin/sh -c "$script"
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_eq "summary memory" $((PAGE * NCPU)) "$(summary_value memory)" "TODO(07.5) and TODO(07.7)"
	received=$(summary_value received); dropped=$(summary_value dropped); lost=$(summary_value lost)
	produced=$((1 + NCPU * 151)) # sh, and per CPU the trigger and its 150 execs
	expect_eq "summary dropped" 0 "$dropped" \
		"TODO(07.2): -ENOSPC is a lost sample the kernel reports itself; count only other failures in dropped"
	expect_eq "received + lost + dropped (the workload's $produced execs)" "$produced" "$((received + lost + dropped))" \
		"TODO(07.8) adds every lost record's count; TODO(07.9)'s drain consumes, flushes (lab_perf_flush_lost), consumes again"
	[ "$lost" -gt 0 ] || flunk "lost > 0" "lost=$lost" "TODO(07.8): add count to r->lost"
}

@test "lines appear while the lab runs, in each mode: the reader is woken" {
	local mode n
	for mode in ring perf; do
		start_lab --buffer "$mode"
		"$TRIGGER" exec 3 "$COPY" 2>/dev/null
		# held until the lines appear; bounded (a third of the lab's time
		# limit, 20 s) only so that a failure ends
		n=$(wait_for_lines 3 "file=\"$COPY\"" $((LAB_TIMEOUT / 3)))
		expect_eq "lines for $COPY printed while the lab runs ($mode)" 3 "$n" \
			"$([ "$mode" = ring ] && echo "TODO(07.2): bpf_ringbuf_submit(e, 0) wakes the reader (BPF_RB_NO_WAKEUP never does)" || echo "$HINT_PERF")"
		stop_lab INT
		expect_eq "exit status after SIGINT ($mode)" 0 "$status" "see the lab's message below"
		expect_eq "summary received = execve lines printed ($mode)" "$(count_lines '^execve ')" \
			"$(summary_value received)" "handle_record counts and prints in the same place"
	done
}

@test "bad --buffer or --memory values: exit 2 with the usage" {
	local args
	bad=("--buffer fast" "--buffer" "--memory 0" "--memory $((PAGE - 1))" "--memory many"
	     "--memory -4096" "--memory 2147483648" "--buffer ring --assume-no-ringbuf")
	[ "$POSSIBLE" -gt 1 ] && bad+=("--buffer perf --memory $((PAGE * POSSIBLE - 1))" "--memory $PAGE")
	for args in "${bad[@]}"; do
		run_lab $args
		expect_eq "exit status of lab-07 $args" 2 "$status" "bad usage exits 2 (lab_usage_error)"
		grep -qE 'Usage:|--help' "$LAB_ERR" || flunk "the usage on stderr for $args" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
}

@test "SIGTERM: exit 0, summary printed, nothing left loaded" {
	start_lab -q --buffer perf
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "see the lab's message below"
	expect_summary
	expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
}

@test "not root: a one-line reason, exit 1" {
	run timeout 10 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$LAB_BIN"
	expect_eq "exit status as nobody" 1 "$status" "lab_preflight() checks this"
	assert_output --partial "needs root"
}
