#!/usr/bin/env bats
# Lab 08 (several ring buffers, merged in user space): checks by what it does
# that each CPU's records land in its ring, every record is read once from the
# right ring, the merged stream is in time order, and loss is exact per ring.
LAB=08
load helpers

setup_file() { lab_setup_file; }
setup() { lab_setup; }
teardown() { lab_teardown; }

HINT_RING="TODO(08.2) picks ring cpu % nr_rings; TODO(08.7) puts every ring in its slot; TODO(08.9) reads every ring, its index as ctx; TODO(08.8) counts it in that ring"
HINT_COUNT="TODO(08.3) reserves (a failure counted in dropped[ring]); TODO(08.4) fills and submits; TODO(08.8) counts and holds; TODO(08.10) prints; TODO(08.12) drains and prints what is left"

# exit_hint: after a run that did not end with status 0, the task its stderr
# points at.
exit_hint() {
	if grep -q 'cannot load the BPF programs' "$LAB_ERR"; then
		if grep -q 'Unreleased reference' "$LAB_ERR"; then
			echo "TODO(08.4): every record reserved in TODO(08.3) must be submitted"
		elif grep -qE 'ringbuf_mem_or_null|invalid mem access|map_value_or_null' "$LAB_ERR"; then
			echo "TODO(08.2) and TODO(08.3): bpf_map_lookup_elem() on events and bpf_ringbuf_reserve() may return NULL: check each before use"
		elif grep -qE 'size|max_entries|Invalid argument' "$LAB_ERR"; then
			echo "TODO(08.6): events needs its slot count and ring 0 as its inner map template (bpf_map__set_inner_map_fd) before load"
		else
			echo "the verifier rejected the program: its reason is in the lines above 'cannot load the BPF programs' (TODO(08.1) to TODO(08.4))"
		fi
	elif grep -q 'cannot make ring' "$LAB_ERR"; then
		echo "TODO(08.5): each ring is a BPF_MAP_TYPE_RINGBUF, key and value size 0, max_entries = --ring-size in bytes"
	elif grep -q 'cannot set up `events`' "$LAB_ERR"; then
		echo "TODO(08.6): bpf_map__set_max_entries(events, rings) and bpf_map__set_inner_map_fd(events, ring 0's fd), before load"
	elif grep -q 'cannot put ring' "$LAB_ERR"; then
		echo "TODO(08.7): bpf_map_update_elem(outer fd, &i, &ring i's fd, BPF_ANY), i < --rings"
	elif grep -q 'cannot open the rings' "$LAB_ERR"; then
		echo "TODO(08.9): ring_buffer__new() on ring 0, ring_buffer__add() for rings 1 .. N-1"
	elif grep -q 'cannot read the rings' "$LAB_ERR"; then
		echo "TODO(08.11): epoll_wait() returns -1 with errno EINTR when a signal arrives: that is a stop, not an error"
	elif grep -q 'TODO(08\.' "$LAB_ERR"; then
		echo "the lab's message below names the task: $(grep -o 'TODO(08\.[0-9]*)' "$LAB_ERR" | head -n 1)"
	else
		echo "see the lab's message below"
	fi
}

# fields: "ring cpu ts seq" for each event line of stdout, in order
fields() {
	sed -n 's/^event ring=\([0-9]*\) cpu=\([0-9]*\) ts=\([0-9]*\) seq=\([0-9]*\) .*/\1 \2 \3 \4/p' "$LAB_OUT"
}

# lines_where AWK_CONDITION: how many event lines hold the condition on
# $1 ring, $2 cpu, $3 ts, $4 seq
lines_where() {
	fields | awk "$1 { n++ } END { print n + 0 }"
}

# expect_rings N COUNTS...: ring r received COUNTS[r] records, printed as that
# many lines, each from a CPU c with c % N == r; nothing dropped
expect_rings() {
	local n=$1 r want seen total=0
	shift
	r=0
	for want in "$@"; do
		seen=$(summary_value "received$r")
		expect_eq "summary received$r (--rings $n)" "$want" "$seen" "$HINT_RING; $HINT_COUNT" || return 1
		seen=$(lines_where "\$1 == $r")
		expect_eq "event lines with ring=$r (--rings $n)" "$want" "$seen" "$HINT_COUNT" || return 1
		expect_eq "summary dropped$r (--rings $n: the default ring holds this)" 0 "$(summary_value "dropped$r")" \
			"TODO(08.2): the slot looked up is cpu % nr_rings, which TODO(08.7) filled; TODO(08.3) counts a failed reserve only" || return 1
		total=$((total + want))
		r=$((r + 1))
	done
	seen=$(lines_where "\$1 != \$2 % $n")
	expect_eq "lines whose ring is not cpu % $n" 0 "$seen" "$HINT_RING" || return 1
	expect_eq "summary received (--rings $n)" "$total" "$(summary_value received)" "$HINT_COUNT" || return 1
	expect_eq "summary rings" "$n" "$(summary_value rings)" "parse_option (support.c)"
}

@test "lab-08 builds" {
	lab_builds
}

@test "the verifier accepts the program, and a run with -- COMMAND ends with status 0" {
	run_lab --rings 2 -- "$TRIGGER" -t 2 getpgid 20
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_summary
}

@test "a workload pinned per CPU lands in ring cpu % N, exactly, per ring (N = 2, then 1)" {
	# 30 calls on CPU 0, then 50 on CPU 1: different counts, so a swap shows
	run_lab --rings 2 -- /bin/sh -c "\"$TRIGGER\" -q -c 0 getpgid 30; \"$TRIGGER\" -q -c 1 getpgid 50"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_rings 2 30 50
	run_lab --rings 1 -- /bin/sh -c "\"$TRIGGER\" -q -c 0 getpgid 30; \"$TRIGGER\" -q -c 1 getpgid 50"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_rings 1 80
}

@test "each ring's seq is complete (0 .. n-1, each once), and the merged stream never goes back in time" {
	# a window far longer than a program run, even on a busy machine
	run_lab --rings 2 --window-us 20000 -- "$TRIGGER" -t 2 getpgid 6000
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "summary received" 6000 "$(summary_value received)" "$HINT_COUNT"
	for r in 0 1; do
		n=$(summary_value "received$r")
		bad=$(fields | awk -v r="$r" '$1 == r { print $4 }' | sort -n |
			awk -v n="$n" '$1 != NR - 1 { bad++ } END { print bad + (NR != n) }')
		expect_eq "ring $r: its $n lines hold seq 0 .. $((n - 1)), each once" 0 "$bad" \
			"TODO(08.4): seq = __sync_fetch_and_add(ring_counter(next_seq, ring), 1), the ring's own counter, after a successful reserve"
	done
	back=$(fields | awk '$3 + 0 < prev { bad++ } { prev = $3 + 0 } END { print bad + 0 }')
	expect_eq "lines whose ts is older than the line before" 0 "$back" \
		"TODO(08.10) prints the oldest head of all rings first; TODO(08.11) reads the clock before the rings and releases only what is older than clock - window"
	expect_eq "summary late" 0 "$(summary_value late)" "TODO(08.11): the clock first, then every ring, then release_until(clock - window)"
}

@test "the merge interleaves the rings by time: CPU 0, then CPU 1, then CPU 0 again, read all at once" {
	# the reader reads nothing before the command has ended: ring 0 then holds
	# two bursts and ring 1 one burst from between them
	run_lab --rings 2 --stall-ms 1 -- /bin/sh -c \
		"\"$TRIGGER\" -q -c 0 getpgid 40; \"$TRIGGER\" -q -c 1 getpgid 40; \"$TRIGGER\" -q -c 0 getpgid 40"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	seen=$(fields | awk 'NR == 1 || $2 != last { if (NR > 1) printf "%d ", k; printf "cpu%s:", $2; k = 0 }
		{ k++; last = $2 } END { print k }')
	expect_eq "the CPUs of the lines, in order, with run lengths" "cpu0:40 cpu1:40 cpu0:40" "$seen" \
		"TODO(08.10): the k-way merge prints, again and again, the oldest head among all rings' queues; TODO(08.12) releases everything at the end"
}

@test "lines are printed while the command still runs: the watermark moves on" {
	# The command makes 20 calls on CPU 0, then waits until the lab has printed
	# them, and only then ends. A reader that releases only at the final drain
	# makes the wait run out (after 10 s: a bound, not a measure; the lines come within
	# milliseconds).
	run_lab --rings 2 -- /bin/bash -c '
		"$1" -q -c 0 getpgid 20 || exit 2
		exec {fd}< <(exec timeout "$3" tail -n +1 -f "$2" 2>/dev/null)
		follower=$!
		n=0
		while IFS= read -r -u "$fd" line; do
			[[ $line == "event "* ]] && n=$((n + 1))
			if [ "$n" -ge 20 ]; then
				kill "$follower" 2>/dev/null
				echo seen > "$4"
				exit 0
			fi
		done
		exit 1' wait-for-lines "$TRIGGER" "$LAB_OUT" 10 "$BATS_TEST_TMPDIR/seen"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	[ -s "$BATS_TEST_TMPDIR/seen" ] ||
		flunk "20 event lines printed while the command still ran" \
			"only after the command had ended" \
			"TODO(08.11): after each read, release_until(clock read before the read - window): records older than that are due now"
}

@test "stalled reader, smallest rings: received + dropped == produced, per ring and in total (N = 2, then 1)" {
	# one 4096-byte ring holds 102 records of 40 bytes (32 and an 8-byte
	# header); nothing is read before the command has ended
	run_lab -q --rings 2 --ring-size 4096 --stall-ms 1 -- /bin/sh -c \
		"\"$TRIGGER\" -q -c 0 getpgid 300; \"$TRIGGER\" -q -c 1 getpgid 200"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	for r in 0 1; do
		produced=$([ "$r" = 0 ] && echo 300 || echo 200)
		received=$(summary_value "received$r")
		dropped=$(summary_value "dropped$r")
		expect_eq "ring $r: received$r + dropped$r (its CPU made $produced calls)" "$produced" \
			"$((${received:-0} + ${dropped:-0}))" \
			"TODO(08.3): a failed reserve adds 1 to ring_counter(dropped, ring); TODO(08.8) counts the ring's records; TODO(08.12) drains"
		expect_eq "ring $r: received$r, what one 4096-byte ring holds" 102 "$received" \
			"TODO(08.5): each ring is --ring-size bytes; TODO(08.3) reserves sizeof(*e); TODO(08.12) drains"
	done
	expect_eq "received + dropped in total" 500 "$(( $(summary_value received) + $(summary_value dropped) ))" "$HINT_COUNT"
	run_lab -q --rings 1 --ring-size 4096 --stall-ms 1 -- /bin/sh -c \
		"\"$TRIGGER\" -q -c 0 getpgid 300; \"$TRIGGER\" -q -c 1 getpgid 200"
	expect_eq "exit status" 0 "$status" "$(exit_hint)"
	expect_eq "--rings 1: received0, what its one ring holds" 102 "$(summary_value received0)" \
		"TODO(08.2): with one ring every CPU writes to ring 0; TODO(08.5) sizes it"
	expect_eq "--rings 1: dropped0" 398 "$(summary_value dropped0)" \
		"TODO(08.3): a failed reserve adds 1 to ring_counter(dropped, ring)"
}

# outer_map PROG_ID: "id max_entries" of the program's array_of_maps `events`
outer_map() {
	local id
	for id in $(bpftool prog show id "$1" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$id" | awk 'NR == 1 { id = $1; sub(":", "", id); type = $2; name = $4 }
			NR == 2 { for (i = 1; i < NF; i++) if ($i == "max_entries") max = $(i + 1) }
			END { if (type == "array_of_maps" && name == "events") print id, max }'
	done
}

@test "while it runs: events is an array of maps with N slots, each a ring buffer of --ring-size bytes" {
	for n in 2 1; do
		start_lab --rings "$n" --ring-size 8192
		pid=$(lab_process)
		prog=$(attached_tracepoints "$pid" | awk '$2 == "sys_enter_getpgid" { print $1 }')
		[ -n "$prog" ] || flunk "a program attached to sys_enter_getpgid" "none" "SEC(\"tp/syscalls/sys_enter_getpgid\")" || return 1
		read -r outer slots <<< "$(outer_map "$prog")"
		[ -n "$outer" ] || flunk "the program uses 'events', an array_of_maps" "$(map_types_of_prog "$prog" | tr '\n' ' ')" "TODO(08.1)" || return 1
		expect_eq "max_entries of events (--rings $n)" "$n" "$slots" \
			"TODO(08.6): bpf_map__set_max_entries(events, --rings): one slot per ring" || return 1
		# a slot's value is the ring's map id: bpftool 7.1 prints its 4 bytes,
		# little-endian ("value: ae 7b 01 00"), 7.5 the id ("inner_map_id: 97198")
		inner=$(bpftool map dump id "$outer" | awk '/^key:/ {
				if ($6 == "inner_map_id:") print $7; else print "0x" $10 $9 $8 $7 }' |
			while read -r value; do echo $((value)); done)
		expect_eq "rings in events' slots" "$n" "$(echo "$inner" | grep -c .)" \
			"TODO(08.7): every ring goes into its slot, 0 .. N-1" || return 1
		for id in $inner; do
			shown=$(bpftool map show id "$id" | awk 'NR == 1 { t = $2 } NR == 2 { for (i = 1; i < NF; i++) if ($i == "max_entries") m = $(i + 1) } END { print t, m }')
			expect_eq "map $id in events" "ringbuf 8192" "$shown" \
				"TODO(08.5): a BPF_MAP_TYPE_RINGBUF of --ring-size bytes" || return 1
		done
		stop_lab TERM
		expect_eq "exit status after SIGTERM" 0 "$status" "$(exit_hint)"
	done
}

@test "the loaded code adds to dropped atomically and takes seq with an atomic fetch-and-add" {
	# programs on several CPUs share a ring when N < CPUs: a plain
	# load-add-store loses or repeats counts when two meet; read the code
	start_lab --rings 1
	prog=$(attached_tracepoints "$(lab_process)" | awk '$2 == "sys_enter_getpgid" { print $1 }')
	code=$(bpftool prog dump xlated id "$prog")
	stop_lab TERM
	adds=$(grep -c 'lock \*(u64 \*)' <<< "$code" || true)
	fetches=$(grep -c 'atomic64_fetch_add' <<< "$code" || true)
	expect_eq "atomic adds (lock ... +=) in the loaded program: dropped" 1 "$adds" \
		"TODO(08.3): __sync_fetch_and_add(ring_counter(dropped, ring), 1), not ++"
	expect_eq "atomic fetch-and-adds in the loaded program: seq" 1 "$fetches" \
		"TODO(08.4): e->seq = __sync_fetch_and_add(ring_counter(next_seq, ring), 1), not ++"
}

@test "bad --rings values are usage errors: exit 2 with the usage" {
	possible=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-");
		n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' /sys/devices/system/cpu/possible)
	# 0, more rings than CPUs (a ring no CPU writes to), more than 64, not a number
	for n in 0 $((possible + 1)) 65 lots -1 ''; do
		run_lab --rings "$n"
		expect_eq "exit status of --rings '$n'" 2 "$status" "validate --rings in parse_option (support.c)"
		grep -q -- '--rings' "$LAB_ERR" && grep -q 'Usage:' "$LAB_ERR" ||
			flunk "a message about --rings and the usage" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
}

@test "SIGINT and SIGTERM: exit 0, summary printed, nothing left loaded" {
	for sig in INT TERM; do
		start_lab -q --rings 2
		"$TRIGGER" -q -t 2 getpgid 100
		stop_lab "$sig"
		expect_eq "exit status after SIG$sig" 0 "$status" "$(exit_hint)"
		expect_summary
		expect_no_bpf_left "$BATS_TEST_TMPDIR/bpf.before"
	done
}
