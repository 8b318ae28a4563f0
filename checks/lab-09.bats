#!/usr/bin/env bats
# Lab 09 (a flight recorder): overwritable perf rings, read only on a trigger.
# Checks by what the dumps hold: after N records per CPU into rings that keep
# K, exactly the newest min(N, K) of each CPU, oldest first, once each, and
# nothing lost; a SIGUSR1 in the middle of a run dumps that moment and
# recording goes on. Every workload is pinned per CPU (trigger -c CPU), so
# each CPU's count is known; a record is 40 bytes in a perf ring, so a ring of
# P pages keeps K = P x page size / 40 of them (rounded down).
LAB=09
load helpers

setup_file() { lab_setup_file; }
setup() {
	lab_setup
	PAGE=$(getconf PAGESIZE)
	NCPU=$(nproc)
}
teardown() { lab_teardown; }

HINT_NONE="TODO(09.1) writes each record, TODO(09.2) opens a ring per CPU, TODO(09.3) maps it and stores it in events, TODO(09.5) walks it, TODO(09.7) hands each sample to dump_add()"

# keeps PAGES: how many 40-byte records a ring of PAGES data pages holds
keeps() { echo $(($1 * PAGE / 40)); }

# need_cpus N: skip unless N CPUs are online
need_cpus() { [ "$NCPU" -ge "$1" ] || skip "needs $1 online CPUs"; }

# seqs_of DUMP CPU: the seq of each record line of dump DUMP from CPU, in the
# order printed
seqs_of() {
	awk -v dump="n=$1" -v cpu="cpu=$2" '$1 == "dump" { d = $2 }
		d == dump && $1 == "record" && $2 == cpu { sub("seq=", "", $3); print $3 }' "$LAB_OUT"
}

# brief WORDS...: "N records: a b c ... x y z"
brief() {
	local n=$#
	if [ "$n" -le 8 ]; then echo "$n records: ${*:-none}"; return; fi
	echo "$n records: ${*:1:4} ... ${*:n-3:4}"
}

# expect_window DUMP CPU FIRST LAST [PREVIOUS]: dump DUMP holds CPU's records
# FIRST..LAST, each once, oldest first. PREVIOUS: what an earlier dump held,
# to tell a ring that never resumed. The hint follows the shape of what was
# seen: the oldest records, one too many, a few wrong, all wrong, ...
expect_window() {
	local dump=$1 cpu=$2 first=$3 last=$4 previous=${5:-} seen want n count bad dups hint
	seen=$(seqs_of "$dump" "$cpu" | tr '\n' ' ')
	want=$(seq "$first" "$last" | tr '\n' ' ')
	[ "$seen" = "$want" ] && return 0
	n=$(wc -w <<< "$seen")
	count=$((last - first + 1))
	# seqs no CPU ever wrote (above LAST, or 0), and seqs seen twice
	bad=$(tr ' ' '\n' <<< "$seen" | awk -v last="$last" 'NF && ($1 + 0 > last + 0 || $1 + 0 < 1) { b++ } END { print b + 0 }')
	dups=$(tr ' ' '\n' <<< "$seen" | sed '/^$/d' | sort -n | uniq -d | wc -l)
	if [ -n "$previous" ] && [ "$seen" = "$previous" ]; then
		hint="TODO(09.4): this ring still holds what the earlier dump showed: resume it after reading (PERF_EVENT_IOC_PAUSE_OUTPUT with 0)"
	elif [ "$n" = 0 ] && [ "$(summary_value dropped)" != 0 ] && [ -n "$(summary_value dropped)" ]; then
		hint="TODO(09.3): store each ring's fd in events at its own CPU's index; TODO(09.1): write with BPF_F_CURRENT_CPU"
	elif [ "$n" = 0 ] && [ "$(summary_value produced)" = 0 ]; then
		hint="TODO(09.1): the program writes nothing (produced=0): e.seq = ++*seq, then bpf_perf_event_output()"
	elif [ "$n" = 0 ]; then
		hint="records were written but none read back: TODO(09.2): write_backward = 1 (data_head then points at the newest record); TODO(09.5): walk from data_head; TODO(09.6): the offset is pos & (data_size - 1); TODO(09.7): hand each sample to dump_add()"
	elif [ "$(tr ' ' '\n' <<< "$seen" | sed '/^$/d' | sort -n | tr '\n' ' ')" = "$want" ]; then
		hint="TODO(09.8): the dump is printed in time order (qsort with by_time), so each CPU's records come oldest first"
	elif [ "$(tr ' ' '\n' <<< "$seen" | sed '/^$/d' | awk '{ print $1 + 1 }' | tr '\n' ' ')" = "$want" ]; then
		hint="TODO(09.1): e.seq = ++*seq: a CPU's first record is seq 1, its last is its count (produced_by_cpu)"
	elif [ "$first" != 1 ] && [ "$seen" = "$(seq 1 "$n" | tr '\n' ' ')" ]; then
		hint="TODO(09.3): the window holds the oldest records, not the newest: the kernel overwrites only a ring mapped PROT_READ (a writable mapping makes it drop new records instead)"
	elif [ "$n" = $((count + 1)) ] && [ "$bad" -le 1 ]; then
		hint="TODO(09.5): one record too many: the oldest one, whose end runs past head + data_size, was partly overwritten by the newest: stop before it"
	elif [ "$bad" -gt $((n / 2)) ]; then
		hint="TODO(09.7): every record reads wrong: the event sits at byte 12 of a sample (after the 8-byte header and the __u32 size)"
	elif [ "$bad" -gt 0 ] || { [ "$n" = "$count" ] && [ "$dups" -gt 0 ]; }; then
		hint="TODO(09.6): a few records read wrong: a record that runs over the data area's end goes on at its start (copy it in two pieces)"
	elif [ "$dups" -gt 0 ]; then
		hint="TODO(09.5): each record is read once: step pos by the record's header.size, and stop after data_size bytes"
	else
		hint="TODO(09.5): walk until the window wraps (pos - head reaches data_size) or ends (a header of size 0); TODO(09.6) and TODO(09.7) copy each record out"
	fi
	flunk "dump $dump, CPU $cpu: records seq=$first..$last, each once, oldest first" "$(brief $seen)" "$hint"
}

# expect_time_order: every dump's record lines by ts, oldest first
expect_time_order() {
	local unsorted
	unsorted=$(awk '$1 == "dump" { prev = "" } $1 == "record" { sub("ts=", "", $4);
		if (prev != "" && $4 + 0 < prev + 0) n++; prev = $4 } END { print n + 0 }' "$LAB_OUT")
	expect_eq "record lines whose ts is older than the line before" 0 "$unsorted" \
		"TODO(09.8): merge the CPUs' windows by time: qsort(dump.events, dump.n, sizeof(dump.events[0]), by_time)"
}

# expect_clean PRODUCED_BY_CPU: lost=0, dropped=0, and the per-CPU counts
expect_clean() {
	expect_summary
	expect_eq "summary produced_by_cpu (getpgid calls per CPU)" "$1" "$(summary_value produced_by_cpu | cut -d, -f1-2)" \
		"TODO(09.1): e.seq = ++*seq, the CPU's own counter in the per-CPU map seqs"
	expect_eq "summary dropped" 0 "$(summary_value dropped)" \
		"TODO(09.3): every CPU's ring at its own index in events; TODO(09.1): BPF_F_CURRENT_CPU, and only failures other than -ENOSPC are counted"
	expect_eq "summary lost (PERF_RECORD_LOST: none, an overwritable ring makes room)" 0 "$(summary_value lost)" \
		"TODO(09.3): mapped PROT_READ only, the ring overwrites instead of losing; TODO(09.4): resume every ring after a dump"
}

# expect_exit0 WHAT: $status is 0, else a hint drawn from the status and the lab's message
expect_exit0() {
	local hint="see the lab's message below"
	[ "$status" = 0 ] && return 0
	if grep -q 'TODO(09\.[0-9]*) is not done yet' "$LAB_ERR"; then
		hint="$(grep -o 'TODO(09\.[0-9]*) is not done yet' "$LAB_ERR" | head -n 1): see the message below"
	elif grep -q "cannot open CPU .*ring" "$LAB_ERR"; then
		hint="TODO(09.2): perf_event_open() of the BPF output event; TODO(09.3): mmap() it, then bpf_map_update_elem(events, &cpu, &fd): key the CPU, value the fd"
	elif grep -q 'cannot pause\|cannot resume' "$LAB_ERR"; then
		hint="TODO(09.4): ioctl(fd, PERF_EVENT_IOC_PAUSE_OUTPUT, 1 or 0) on each ring that exists"
	elif [ "$status" -ge 128 ]; then
		hint="the lab died of signal $((status - 128)): a read outside the rings' mapping? TODO(09.6): offsets are pos & (data_size - 1); TODO(09.5): the walk stays within data_size bytes of data_head"
	fi
	expect_eq "$1" 0 "$status" "$hint"
}

# wait_for_dump K: while the lab runs, block until K dump headers are out, then
# until the record lines they announce (printed=N) are out too; print how
# many record lines there are. Never waits on a dump that will not come.
wait_for_dump() {
	local k=$1 want
	[ "$(wait_for_lines "$k" '^dump ')" = "$k" ] || { echo 0; return; }
	want=$(awk -v k="$k" '$1 == "dump" && ++d <= k { sub("printed=", "", $5); n += $5 } END { print n + 0 }' "$LAB_OUT")
	wait_for_lines "$want" '^record '
}

# wait_for_exit: the lab ends by itself (its command exited). Sets $status.
wait_for_exit() {
	status=0
	wait "$LAB_PID" || status=$?
	wait "$LAB_ERR_CAT" 2>/dev/null
	LAB_PID=
	expect_finished "$status"
}

@test "lab-09 builds" {
	lab_builds
}

@test "fewer records than a ring keeps: the end-of-run dump holds all of each CPU's, oldest first" {
	need_cpus 2
	run_lab --pages 1 -- sh -c "'$TRIGGER' -q -c 0 getpgid 40 && '$TRIGGER' -q -c 1 getpgid 30"
	expect_exit0 "exit status"
	expect_clean "40,30"
	expect_time_order
	expect_window 1 0 1 40
	expect_window 1 1 1 30
	expect_eq "record lines" 70 "$(count_lines '^record ')" "$HINT_NONE"
	grep -q '^window cpu=0 records=40 lost=0 end=unwritten$' "$LAB_OUT" ||
		flunk "window cpu=0 records=40 lost=0 end=unwritten" "$(grep '^window cpu=0' "$LAB_OUT" || echo none)" \
			"TODO(09.5): a header of size 0 is where nothing was written yet: the window ends there"
	expect_eq "summary dumps" 1 "$(summary_value dumps)" "drain_events() makes one dump at the end"
	expect_eq "summary printed" 70 "$(summary_value printed)" "TODO(09.8): without --last every record is printed"
}

@test "more records than a ring keeps: exactly the newest K of each CPU, oldest first, none twice, none lost" {
	need_cpus 2
	local k
	k=$(keeps 1)
	run_lab --pages 1 -- sh -c "'$TRIGGER' -q -c 0 getpgid 300 && '$TRIGGER' -q -c 1 getpgid 250"
	expect_exit0 "exit status"
	expect_clean "300,250"
	expect_time_order
	expect_window 1 0 $((300 - k + 1)) 300
	expect_window 1 1 $((250 - k + 1)) 250
	grep -q "^window cpu=0 records=$k lost=0 end=wrapped$" "$LAB_OUT" ||
		flunk "window cpu=0 records=$k lost=0 end=wrapped" "$(grep '^window cpu=0' "$LAB_OUT" || echo none)" \
			"TODO(09.5): the window wraps when the next record would run past head + data_size"
}

@test "both CPUs at once into 2-page rings: each CPU's newest K, merged in time order" {
	need_cpus 2
	local k
	k=$(keeps 2)
	# -t 2: one thread on CPU 0, one on CPU 1, at the same time
	run_lab --pages 2 -- "$TRIGGER" -q -t 2 getpgid 1000
	expect_exit0 "exit status"
	expect_clean "500,500"
	expect_time_order
	expect_window 1 0 $((500 - k + 1)) 500
	expect_window 1 1 $((500 - k + 1)) 500
}

@test "--last K: the newest K records of all CPUs, merged by time" {
	need_cpus 2
	local k
	k=$(keeps 1)
	# CPU 0's burst ends before CPU 1's begins: the newest 150 are all of
	# CPU 1's window and the newest 150 - K of CPU 0's
	run_lab --pages 1 --last 150 -- sh -c "'$TRIGGER' -q -c 0 getpgid 200 && '$TRIGGER' -q -c 1 getpgid 200"
	expect_exit0 "exit status"
	expect_clean "200,200"
	expect_time_order
	expect_eq "record lines with --last 150" 150 "$(count_lines '^record ')" \
		"TODO(09.8): first = dump.n - opts.last, when opts.last is set and smaller"
	expect_window 1 0 $((200 - (150 - k) + 1)) 200
	expect_window 1 1 $((200 - k + 1)) 200
	expect_eq "summary printed" 150 "$(summary_value printed)" "TODO(09.8): print from the oldest of the newest opts.last"
}

@test "SIGUSR1 mid-run dumps that moment's windows; recording goes on; a second SIGUSR1 shows the later records" {
	need_cpus 2
	local k burst go1 go2 x w1c0 w1c1
	k=$(keeps 1)
	burst=$BATS_TEST_TMPDIR/burst go1=$BATS_TEST_TMPDIR/go1 go2=$BATS_TEST_TMPDIR/go2
	mkfifo "$burst" "$go1" "$go2"
	# the command makes a burst, says so, and waits until the test has seen
	# the dump; twice
	start_lab --pages 1 -- sh -c "
		'$TRIGGER' -q -c 0 getpgid 30 && '$TRIGGER' -q -c 1 getpgid 20 && echo 1 > '$burst' && read x < '$go1' &&
		'$TRIGGER' -q -c 0 getpgid 200 && '$TRIGGER' -q -c 1 getpgid 150 && echo 2 > '$burst' && read x < '$go2'"
	# read-write opens never block, even before the other end is open
	exec {b}<> "$burst" {g1}<> "$go1" {g2}<> "$go2"
	read -r -t "$LAB_TIMEOUT" -u "$b" x || flunk "the command's first burst to end" "nothing" "see the lab's message below"
	kill -USR1 "$(lab_process)"
	seen=$(wait_for_dump 1)
	expect_eq "record lines after the first SIGUSR1" 50 "$seen" \
		"SIGUSR1 runs dump_windows(); $HINT_NONE"
	expect_window 1 0 1 30
	expect_window 1 1 1 20
	w1c0=$(seqs_of 1 0 | tr '\n' ' ') w1c1=$(seqs_of 1 1 | tr '\n' ' ')
	echo go >&"$g1"
	read -r -t "$LAB_TIMEOUT" -u "$b" x || flunk "the command's second burst to end" "nothing" "see the lab's message below"
	kill -USR1 "$(lab_process)"
	wait_for_dump 2 > /dev/null
	expect_window 2 0 $((230 - k + 1)) 230 "$w1c0"
	expect_window 2 1 $((170 - k + 1)) 170 "$w1c1"
	echo go >&"$g2"
	wait_for_exit
	exec {b}<&- {g1}<&- {g2}<&-
	expect_exit0 "exit status"
	expect_eq "summary dumps (two SIGUSR1, one at the end)" 3 "$(summary_value dumps)" "drain_events() dumps once at the end"
	expect_window 3 0 $((230 - k + 1)) 230
	expect_window 3 1 $((170 - k + 1)) 170
	expect_clean "230,170"
}

@test "while it runs: one read-only mapping per CPU of 1 + --pages pages, and a program that writes to the perf event array events" {
	start_lab -q --pages 4
	pid=$(lab_process)
	maps=$(awk '/anon_inode:\[perf_event\]/ { print $1, $2 }' "/proc/$pid/maps")
	expect_eq "perf rings the lab maps" "$NCPU" "$(grep -c . <<< "$maps")" "TODO(09.2) and TODO(09.3): one ring per online CPU"
	while read -r range perms; do
		IFS=- read -r from to <<< "$range"
		expect_eq "the size of the mapping $range" $((5 * PAGE)) $((0x$to - 0x$from)) \
			"TODO(09.3): the header page, then --pages data pages"
		expect_eq "the permissions of the mapping $range" r--s "$perms" \
			"TODO(09.3): PROT_READ only, MAP_SHARED: a writable mapping makes the kernel drop new records instead of overwriting old ones"
	done <<< "$maps"
	prog=$(attached_tracepoints "$pid" | awk '$2 == "sys_enter_getpgid" { print $1 }')
	[ -n "$prog" ] || flunk "a program attached to sys_enter_getpgid" "none" "the skeleton's attach() does it"
	grep -q '^perf_event_array events$' <<< "$(map_types_of_prog "$prog")" ||
		flunk "the program uses map events of type perf_event_array" "$(map_types_of_prog "$prog" | tr '\n' ' ')" "the map is declared in recorder.bpf.c"
	helper_calls "$prog" | grep -q '^bpf_perf_event_output' ||
		flunk "the program calls bpf_perf_event_output" "$(helper_calls "$prog" | tr '\n' ' ')" "TODO(09.1)"
	stop_lab INT
	expect_exit0 "exit status after SIGINT"
	expect_eq "summary dumps (Ctrl-C dumps too)" 1 "$(summary_value dumps)" "drain_events() dumps at the end"
}

@test "--pages that is not a power of two, or --last 0: exit 2 with the usage" {
	for args in "--pages 3" "--pages 0" "--last 0"; do
		run_lab $args -- /bin/true
		expect_eq "exit status of lab-09 $args" 2 "$status" "bad usage exits 2 (lab_usage_error)"
		grep -qE 'Usage:|--help' "$LAB_ERR" || flunk "the usage on stderr for $args" "$(cat "$LAB_ERR")" "lab_usage_error()"
	done
	grep -q 'power of two' <(run_lab --pages 3 -- /bin/true; cat "$LAB_ERR") ||
		flunk "a message that says --pages must be a power of two" "$(cat "$LAB_ERR")" "lab_parse_pages()"
}
