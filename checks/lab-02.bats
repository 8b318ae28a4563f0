#!/usr/bin/env bats
# Lab 02 (ring buffer: reserve, submit, discard): checks the tracer by what it does.
LAB=02
load helpers

setup_file() { lab_setup_file; }
setup() {
	lab_setup
	COPY=$BATS_TEST_TMPDIR/true-$RANDOM$RANDOM
	cp /bin/true "$COPY"
}
teardown() { lab_teardown; }

HINT_EVENTS="TODO(02.2) reserves, TODO(02.3) fills, TODO(02.5) submits; TODO(02.7) opens the buffer, TODO(02.8) polls it"

# exit_hint: after a run that did not end with status 0, the task its
# stderr points at (the verifier's reason when the load failed).
exit_hint() {
	if grep -q 'cannot load the BPF programs' "$LAB_ERR"; then
		if grep -qE 'mem_size=|invalid access to memory' "$LAB_ERR"; then
			echo "TODO(02.2): the verifier checks every write into the record against the reserved size: reserve sizeof(*e), the whole struct event"
		elif grep -qE '_or_null|invalid mem access' "$LAB_ERR"; then
			echo "TODO(02.2): bpf_ringbuf_reserve() may return NULL: check it before the record is used"
		elif grep -q 'Unreleased reference' "$LAB_ERR"; then
			echo "TODO(02.4) and TODO(02.5): every path after a reserve must submit or discard the record"
		else
			echo "the verifier rejected the program: its reason is in the lines above 'cannot load the BPF programs' (TODO(02.2) to TODO(02.5))"
		fi
	elif grep -q 'cannot poll the ring buffer: Interrupted system call' "$LAB_ERR"; then
		echo "TODO(02.8): ring_buffer__poll() returns -EINTR when a signal arrives (Ctrl-C, SIGTERM, the command's SIGCHLD): that is a stop, not an error"
	elif grep -q 'TODO(02\.' "$LAB_ERR"; then
		echo "the lab's message below names the task: $(grep -o 'TODO(02\.[0-9]*)' "$LAB_ERR" | head -n 1)"
	else
		echo "see the lab's message below"
	fi
}

# counter_writes PROG_ID VAR: how the loaded program writes the global VAR
# (in .bss): "atomic=N plain=M", N atomic adds and M plain stores. Read from
# the translated code: the map value address of .bss plus VAR's offset (from
# the program's BTF), followed through register copies and constant adds.
counter_writes() {
	local prog=$1 var=$2 btf bss off id
	btf=$(bpftool prog show id "$prog" | sed -n 's/.*btf_id \([0-9]*\).*/\1/p')
	off=$(bpftool btf dump id "$btf" | awk -v var="(VAR '$2')" '
		/DATASEC .\.bss./ { in_bss = 1; next }
		/^\[/ { in_bss = 0 }
		in_bss && index($0, var) { sub(/.*offset=/, ""); sub(/ .*/, ""); print; exit }')
	for id in $(bpftool prog show id "$prog" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$id" | head -n 1 | grep -q 'name [^ ]*\.bss ' && bss=$id
	done
	[ -n "$off" ] && [ -n "$bss" ] || { echo "no .bss variable $var"; return 0; }
	bpftool prog dump xlated id "$prog" | awk -v map="map[id:$bss][0]+" -v off="$off" '
		!/^ *[0-9]+: / { next }
		{ insn = $0; sub(/^ *[0-9]+: \([0-9a-f]+\) /, "", insn) }
		match(insn, /\(u64 \*\)\(r[0-9]+ [+-][0-9]+\)/) {
			split(substr(insn, RSTART + 8, RLENGTH - 9), a, " ")
			if ((a[1] in base) && base[a[1]] + a[2] == off) {
				if (insn ~ /^lock / || insn ~ /atomic/) atomic++
				else if (insn ~ /^\*\(u64/) plain++
			}
		}
		match(insn, /^r[0-9]+ /) {
			reg = substr(insn, 1, RLENGTH - 1); rest = substr(insn, RLENGTH + 1)
			if (index(rest, "= " map) == 1) base[reg] = substr(rest, length(map) + 3) + 0
			else if (rest ~ /^= r[0-9]+$/ && (substr(rest, 3) in base)) base[reg] = base[substr(rest, 3)]
			else if (rest ~ /^\+= [0-9]+$/ && (reg in base)) base[reg] += substr(rest, 4)
			else delete base[reg]
		}
		END { printf "atomic=%d plain=%d\n", atomic, plain }'
}

@test "lab-02 builds" {
	lab_builds
}

@test "the verifier accepts the program, and a run with -- COMMAND ends with status 0" {
	run_lab -- "$COPY"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_summary
}

@test "one execve line per exec, with the exact pid and path" {
	start_lab
	sh -c 'echo $$ > "$1"; exec "$2"' sh "$BATS_TEST_TMPDIR/pid" "$COPY"
	stop_lab INT
	expect_eq "exit status after SIGINT" 0 "$status" "$(exit_hint)"
	pid=$(cat "$BATS_TEST_TMPDIR/pid")
	expect_eq "execve lines for $COPY" 1 "$(count_lines "file=\"$COPY\"")" "$HINT_EVENTS"
	line=$(grep -F "file=\"$COPY\"" "$LAB_OUT")
	[[ $line == "execve pid=$pid tid=$pid comm=\"sh\" file=\"$COPY\"" ]] ||
		flunk "execve pid=$pid tid=$pid comm=\"sh\" file=\"$COPY\"" "$line" \
			"TODO(02.3): every field is written in place (reserved memory is not zeroed)"
}

@test "a record is read while the command still runs: submit wakes the sleeping reader" {
	# The command execs $COPY, then waits until the lab has printed that exec's
	# line, and only then ends. A reader that is never woken gets the record at
	# the final drain, after the command ended: then the wait runs out (at half
	# the lab's timeout, a bound, not a measure) and the command says so.
	run_lab -- /bin/bash -c '
		"$1" || exit 2
		exec {fd}< <(exec timeout "$3" tail -n +1 -f "$2" 2>/dev/null)
		follower=$!
		while IFS= read -r -u "$fd" line; do
			if [[ $line == *"file=\"$1\""* ]]; then
				kill "$follower" 2>/dev/null
				echo seen > "$4"
				exit 0
			fi
		done
		exit 1' wait-for-line "$COPY" "$LAB_OUT" $((LAB_TIMEOUT / 2)) "$BATS_TEST_TMPDIR/seen"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "execve lines for $COPY" 1 "$(count_lines "file=\"$COPY\"")" "$HINT_EVENTS"
	[ -s "$BATS_TEST_TMPDIR/seen" ] ||
		flunk "the line for $COPY printed while the command still ran" \
			"only after the command had ended (the final drain read it)" \
			"TODO(02.5): bpf_ringbuf_submit(e, 0) wakes a reader asleep in ring_buffer__poll(); BPF_RB_NO_WAKEUP leaves it asleep"
}

@test "-- COMMAND: exactly N execs give exactly N lines, nothing dropped or discarded" {
	run_lab -- "$TRIGGER" -P 2 exec 40 "$COPY"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "execve lines for the workload's binary" 40 "$(count_lines "file=\"$COPY\"")" "$HINT_EVENTS"
	expect_eq "summary received (40 execs and the trigger's own)" 41 "$(summary_value received)" "$HINT_EVENTS"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" "TODO(02.2): the default 256 KiB ring holds this burst: count only a NULL from reserve"
	expect_eq "summary discarded" 0 "$(summary_value discarded)" "TODO(02.4): without --path-prefix nothing is filtered"
}

@test "--path-prefix: exactly the M matching execs appear; discarded counts the K others" {
	mkdir "$BATS_TEST_TMPDIR/keep" "$BATS_TEST_TMPDIR/drop"
	cp /bin/true "$BATS_TEST_TMPDIR/keep/x"
	cp /bin/true "$BATS_TEST_TMPDIR/drop/y"
	# non-matching: 12 execs of drop/y, and /bin/sh and the two triggers
	run_lab --path-prefix "$BATS_TEST_TMPDIR/keep/" -- /bin/sh -c \
		"\"$TRIGGER\" exec 17 \"$BATS_TEST_TMPDIR/keep/x\" && \"$TRIGGER\" exec 12 \"$BATS_TEST_TMPDIR/drop/y\""
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "lines for the matching path" 17 "$(count_lines "file=\"$BATS_TEST_TMPDIR/keep/x\"")" \
		"TODO(02.4) keeps what has_prefix() accepts; TODO(02.5) submits it"
	expect_eq "lines in all" 17 "$(count_lines '^execve ')" "TODO(02.4): discard what has_prefix() rejects"
	expect_eq "summary discarded (12 + /bin/sh + 2 triggers)" 15 "$(summary_value discarded)" \
		"TODO(02.4): count each bpf_ringbuf_discard() in 'discarded'"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" \
		"TODO(02.4): a discard is not a drop; TODO(02.2): 'dropped' counts failed reserves only"
	expect_eq "summary received" 17 "$(summary_value received)" "$HINT_EVENTS"
}

@test "while it runs: attached to sys_enter_execve, a ring buffer map, and reserve, submit and discard in the loaded code" {
	# with a prefix: without one the verifier knows prefix_len == 0 and
	# deletes the discard path as dead code
	start_lab --path-prefix /nowhere/
	pid=$(lab_process)
	attached=$(attached_tracepoints "$pid")
	prog=$(awk '$2 == "sys_enter_execve" { print $1 }' <<< "$attached")
	[ -n "$prog" ] || flunk "a program attached to tracepoint sys_enter_execve" "${attached:-none}" \
		"SEC(\"tp/syscalls/sys_enter_execve\") is attached by the skeleton"
	maps=$(map_types_of_prog "$prog")
	grep -q '^ringbuf events$' <<< "$maps" ||
		flunk "the program uses map 'events' of type ringbuf" "$(echo $maps)" "TODO(02.1)"
	calls=$(helper_calls "$prog" | tr '\n' ' ')
	for helper in bpf_ringbuf_reserve bpf_ringbuf_submit bpf_ringbuf_discard; do
		[[ " $calls" == *" $helper "* ]] ||
			flunk "the loaded program calls $helper" "$calls" "TODO(02.2), TODO(02.4) and TODO(02.5)"
	done
	stop_lab TERM
	expect_eq "exit status after SIGTERM" 0 "$status" "$(exit_hint)"
}

@test "the loaded code adds to dropped and discarded atomically, and never stores to them" {
	# programs run on every CPU at once: a plain load-add-store loses counts
	# when two CPUs meet; the race is rare, so read the code rather than wait
	start_lab --path-prefix /nowhere/
	prog=$(attached_tracepoints "$(lab_process)" | awk '$2 == "sys_enter_execve" { print $1 }')
	dropped_writes=$(counter_writes "$prog" dropped)
	discarded_writes=$(counter_writes "$prog" discarded)
	stop_lab TERM
	[[ $dropped_writes =~ ^atomic=[1-9][0-9]*\ plain=0$ ]] ||
		flunk "atomic adds to 'dropped' and no plain store (atomic=1 plain=0)" "$dropped_writes" \
			"TODO(02.2): __sync_fetch_and_add(&dropped, 1), not dropped++ or dropped = ..."
	[[ $discarded_writes =~ ^atomic=[1-9][0-9]*\ plain=0$ ]] ||
		flunk "atomic adds to 'discarded' and no plain store (atomic=1 plain=0)" "$discarded_writes" \
			"TODO(02.4): __sync_fetch_and_add(&discarded, 1), not discarded++ or discarded = ..."
}

@test "the smallest ring and a stalled consumer: exactly 14 records, received + dropped == produced" {
	# one page holds 14 records of 288 bytes (280 + an 8-byte header);
	# nothing is read before the burst is over
	run_lab -q --ring-size 4096 --stall-ms 1 -- "$TRIGGER" exec 300 "$COPY"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "trigger's produced" 300 "$(trigger_value produced)" "the trigger itself failed"
	received=$(summary_value received)
	dropped=$(summary_value dropped)
	expect_eq "received + dropped (300 execs and the trigger's own)" 301 "$((received + dropped))" \
		"TODO(02.2): add 1 to 'dropped' for each failed reserve; TODO(02.9): drain what is left"
	expect_eq "received: the records one 4096-byte ring holds" 14 "$received" \
		"TODO(02.2): reserve sizeof(*e), one struct event; TODO(02.6): the ring gets --ring-size bytes; TODO(02.9): drain it"
}

@test "the same burst into a large ring drops nothing, even stalled" {
	run_lab -q --ring-size 1048576 --stall-ms 1 -- "$TRIGGER" exec 300 "$COPY"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" \
		"TODO(02.6): the ring's max_entries is --ring-size in bytes (not records, not pages)"
	expect_eq "summary received" 301 "$(summary_value received)" \
		"TODO(02.9): the final drain reads what the stalled consumer left"
}

@test "every exec is accounted for once: received + dropped + discarded == produced" {
	mkdir "$BATS_TEST_TMPDIR/keep"
	cp /bin/true "$BATS_TEST_TMPDIR/keep/x"
	run_lab -q --ring-size 4096 --stall-ms 1 --path-prefix "$BATS_TEST_TMPDIR/keep/" -- /bin/sh -c \
		"\"$TRIGGER\" exec 50 \"$BATS_TEST_TMPDIR/keep/x\" && \"$TRIGGER\" exec 50 \"$COPY\""
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	total=$(( $(summary_value received) + $(summary_value dropped) + $(summary_value discarded) ))
	expect_eq "received + dropped + discarded (100 execs, /bin/sh, 2 triggers)" 103 "$total" \
		"each reserve ends in exactly one of submit (TODO(02.5)) or discard (TODO(02.4)), or is a drop (TODO(02.2))"
}

@test "-p PID: the run ends by itself once that process is gone" {
	run_until_target_gone "TODO(02.8): ring_buffer__poll(rb, LAB_POLL_MS): a poll that may sleep for ever (-1) never looks at lab_should_stop() again when no record comes"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_summary
}

@test "--ring-size that is not a power of two or below a page: exit 2 with a clear message" {
	for size in 1000 2048 6000 0 lots; do
		run_lab --ring-size "$size"
		expect_eq "exit status of --ring-size $size" 2 "$status" "validate --ring-size in parse_option (support.c)"
		grep -qE 'ring-size' "$LAB_ERR" && grep -q 'Usage:' "$LAB_ERR" ||
			flunk "a message about --ring-size and the usage" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
	run_lab --ring-size 2048
	grep -q 'power of two of at least one page' "$LAB_ERR" ||
		flunk "the rule stated ('power of two of at least one page')" "$(cat "$LAB_ERR")" "lab_usage_error()"
}

@test "SIGINT and SIGTERM: exit 0, summary printed, nothing left loaded" {
	for sig in INT TERM; do
		start_lab -q
		"$TRIGGER" exec 3 "$COPY" 2>/dev/null
		stop_lab "$sig"
		expect_eq "exit status after SIG$sig" 0 "$status" "$(exit_hint)"
		expect_summary
		expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
	done
}
