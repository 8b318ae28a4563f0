#!/usr/bin/env bats
# Lab 10 (the whole picture): checks the summarizer's arithmetic on synthetic
# raw rows, with exact expected figures, and then one small real run of the
# harness (bench.sh, BENCH_QUICK=1, one run of each row): every row accounts for every event, and
# the table and the plots' data hold every mechanism. Never a speed.
LAB=10
load helpers

setup_file() { lab_setup_file; }
teardown() { lab_teardown; }

# The summarizer needs no root: its tests skip only what lab_setup would
# skip for a failed build or an earlier failure (KEDL_FAIL_FAST).
setup() {
	if [[ $BATS_TEST_DESCRIPTION != summarizer:* ]]; then
		lab_setup
		return
	fi
	kedl_lock_forget
	if [ -n "${KEDL_FAIL_FAST:-}" ] && [ -e "$BATS_FILE_TMPDIR/a-test-failed" ]; then
		skip "an earlier test failed (KEDL_FAIL_FAST)"
	fi
	[ ! -e "$BATS_FILE_TMPDIR/build-failed" ] || skip "lab-$LAB does not build (see the first test)"
	LAB_OUT=$BATS_TEST_TMPDIR/stdout
	LAB_ERR=$BATS_TEST_TMPDIR/stderr
	OUT_DIR=$BATS_TEST_TMPDIR/out
	LAB_PID=
}

# summarize: the raw rows on stdin, through lab-10. Sets $status.
summarize() {
	status=0
	timeout -k 5 "$LAB_TIMEOUT" "$LAB_BIN" -o "$OUT_DIR" > "$LAB_OUT" 2> "$LAB_ERR" || status=$?
	expect_finished "$status"
}

# cell MECHANISM COLUMN [PARAM]: one cell of the table on stdout, trimmed.
# The wide table (main, exec): 1 mechanism, 2 runs, 3 events/s, 4 % of
# empty, 5 producer ns/event, 6 reader CPU ns/event, 7 wakeups, 8 memory,
# 9 lost+dropped, 10 latency, 11 identity. A sweep's table (PARAM given):
# 1 mechanism, 2 param, 3 runs, 4 events/s, 5 loss fraction, 6 latency, 7 identity.
cell() {
	awk -F'|' -v m="$1" -v c="$2" -v p="${3:-}" '
		function trim(s) { gsub(/^ +| +$/, "", s); return s }
		trim($2) == m && (p == "" || trim($3) == p) { print trim($(c + 1)); exit }
	' "$LAB_OUT"
}

# expect_cell WHAT MECHANISM COLUMN PARAM EXPECTED HINT
expect_cell() {
	expect_eq "$1 of $2${4:+ at $4} in the table" "$5" "$(cell "$2" "$3" "$4")" "$6"
}

@test "lab-10 builds" {
	lab_builds
}

@test "summarizer: the median and range of repeated runs, odd and even counts" {
	summarize <<-'EOF'
	mechanism=odd run=1 produced=100 rate=300
	mechanism=odd run=2 produced=100 rate=100
	mechanism=odd run=3 produced=100 rate=200
	mechanism=even run=1 produced=100 rate=10
	mechanism=even run=2 produced=100 rate=40
	mechanism=even run=3 produced=100 rate=20
	mechanism=even run=4 produced=100 rate=30
	mechanism=once run=1 produced=100 rate=7
	EOF
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	local hint="TODO(10.1): sort the values, then the middle one (odd n) or the mean of the two middle ones (even n); min and max are the ends"
	expect_cell "events/s, runs 300 100 200:" odd 3 "" "200 [100-300]" "$hint"
	expect_cell "events/s, runs 10 40 20 30:" even 3 "" "25 [10-40]" "$hint"
	expect_cell "events/s, one run of 7:" once 3 "" "7 [7-7]" "$hint"
	expect_cell "runs" even 2 "" 4 "support.c groups the rows: is the mechanism= of each line read?"
}

@test "summarizer: a run that breaks received + lost + dropped == produced is flagged, exit status 1" {
	summarize <<-'EOF'
	mechanism=empty run=1 produced=1000 received=- lost=- dropped=- rate=10
	mechanism=perf run=1 produced=1000 received=990 lost=10 dropped=0 rate=10
	mechanism=ring run=1 produced=1000 received=990 lost=- dropped=10 rate=10
	mechanism=both run=1 produced=1000 received=900 lost=60 dropped=40 rate=10
	mechanism=short run=1 produced=1000 received=990 lost=5 dropped=4 rate=10
	mechanism=short run=2 produced=1000 received=1000 lost=0 dropped=0 rate=10
	mechanism=over run=1 produced=1000 received=1001 lost=- dropped=0 rate=10
	EOF
	local hint="TODO(10.2): received + lost + dropped == produced, a \"-\" lost or dropped counting 0, and always true when received is \"-\" (nothing delivered)"
	expect_eq "exit status (a run breaks the identity)" 1 "$status" "$hint"
	expect_cell "identity" short 11 "" "BROKEN in 1 of 2 runs" "$hint"
	expect_cell "identity" over 11 "" "BROKEN in 1 of 1 runs" "$hint"
	expect_cell "identity (perf: 990 + lost 10)" perf 11 "" ok "$hint"
	expect_cell "identity (ring: 990 + dropped 10, lost -)" ring 11 "" ok "$hint"
	expect_cell "identity (900 + 60 + 40)" both 11 "" ok "$hint"
	expect_cell "identity (received -)" empty 11 "" "n/a (nothing delivered)" "$hint"
	grep -q 'short (sweep main) run 1' "$LAB_ERR" && ! grep -q 'short (sweep main) run 2' "$LAB_ERR" ||
		flunk "a message on stderr naming mechanism short, run 1 (and not run 2)" \
			"$(grep -c . "$LAB_ERR") lines: $(head -n 2 "$LAB_ERR")" "$hint"
	# the same rows without the broken ones: exit 0
	summarize <<-'EOF'
	mechanism=empty run=1 produced=1000 received=- lost=- dropped=- rate=10
	mechanism=perf run=1 produced=1000 received=990 lost=10 dropped=0 rate=10
	mechanism=ring run=1 produced=1000 received=990 lost=- dropped=10 rate=10
	mechanism=both run=1 produced=1000 received=900 lost=60 dropped=40 rate=10
	EOF
	expect_eq "exit status (every run balanced)" 0 "$status" "$hint"
}

@test "summarizer: % of the empty program is the median of the ratios within each run" {
	# the ratios per run are 50, 80 and 80 %: median 80. The medians of the
	# rates (640000 / 1000000) would give 64 %: a ratio of figures measured
	# in different runs
	summarize <<-'EOF'
	mechanism=empty run=1 produced=1000 received=- rate=1000000
	mechanism=empty run=2 produced=1000 received=- rate=800000
	mechanism=empty run=3 produced=1000 received=- rate=1250000
	mechanism=perf-1 run=1 produced=1000 received=1000 rate=500000
	mechanism=perf-1 run=2 produced=1000 received=1000 rate=640000
	mechanism=perf-1 run=3 produced=1000 received=1000 rate=1000000
	mechanism=late run=4 produced=1000 received=1000 rate=1000000
	mechanism=empty sweep=exec run=1 produced=10 received=- rate=100
	mechanism=exec-x sweep=exec run=1 produced=10 received=10 rate=25
	EOF
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	local hint="TODO(10.3): per run, 100 * rate / the rate of the baseline row (empty) of the same sweep, param and run; the median of those"
	expect_cell "% of empty" perf-1 4 "" "80.0 [50.0-80.0]" "$hint"
	expect_cell "% of empty" empty 4 "" "100.0 [100.0-100.0]" "$hint"
	expect_cell "% of empty (run 4 has no empty row)" late 4 "" "-" "$hint"
	expect_cell "% of empty (the exec sweep's own baseline)" exec-x 4 "" "25.0 [25.0-25.0]" "$hint"
}

@test "summarizer: producer ns per event and reader CPU ns per record" {
	summarize <<-'EOF'
	mechanism=empty run=1 produced=1000 received=- seconds=0.001 reader_cpu_us=50 rate=1
	mechanism=ring run=1 produced=1000 received=500 dropped=500 seconds=0.002 reader_cpu_us=300 rate=1
	mechanism=ring run=2 produced=2000 received=2000 dropped=0 seconds=0.006 reader_cpu_us=1000 rate=1
	mechanism=ring run=3 produced=1000 received=1000 dropped=0 seconds=0.0025 reader_cpu_us=1500 rate=1
	mechanism=idle run=1 produced=1000 received=0 dropped=1000 seconds=0.001 reader_cpu_us=10 rate=1
	EOF
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	expect_cell "producer ns/event (2 / 3 / 2.5 us per 1000)" ring 5 "" "2500 [2000-3000]" \
		"TODO(10.4): seconds * 1e9 / produced, per run"
	expect_cell "producer ns/event" empty 5 "" "1000 [1000-1000]" "TODO(10.4): seconds * 1e9 / produced, per run"
	local hint="TODO(10.5): reader_cpu_us * 1000 / received (not produced), per run; NAN when received is 0 or -"
	expect_cell "reader CPU ns/record (300 us / 500, 1000 us / 2000, 1500 us / 1000)" ring 6 "" "600 [500-1500]" "$hint"
	expect_cell "reader CPU ns/record (received -)" empty 6 "" "-" "$hint"
	expect_cell "reader CPU ns/record (received 0)" idle 6 "" "-" "$hint"
}

@test "summarizer: lost + dropped, and the burst's loss fraction per memory size" {
	summarize <<-'EOF'
	mechanism=perf run=1 produced=1000 received=993 lost=3 dropped=4 rate=1
	mechanism=empty run=1 produced=1000 received=- lost=- dropped=0 rate=1
	mechanism=burst-perf sweep=burst param=16384 run=1 produced=2000 received=1500 lost=500 dropped=0
	mechanism=burst-perf sweep=burst param=16384 run=2 produced=2000 received=1400 lost=590 dropped=10
	mechanism=burst-ring sweep=burst param=16384 run=1 produced=2000 received=1000 lost=- dropped=1000
	mechanism=burst-ring sweep=burst param=16384 run=2 produced=2000 received=1000 lost=- dropped=1000
	mechanism=burst-ring sweep=burst param=65536 run=1 produced=2000 received=2000 lost=- dropped=0
	mechanism=burst-ring sweep=burst param=65536 run=2 produced=2000 received=2000 lost=- dropped=0
	EOF
	expect_eq "exit status" 0 "$status" "see the lab's message below"
	local hint6="TODO(10.6): lost + dropped, each \"-\" counting 0; NAN (\"-\") when received is \"-\""
	expect_cell "lost+dropped (3 + 4)" perf 9 "" "7 [7-7]" "$hint6"
	expect_cell "lost+dropped (received -)" empty 9 "" "-" "$hint6"
	local hint7="TODO(10.7): (lost + dropped) / produced per run (TODO(10.6) gives lost + dropped)"
	expect_cell "loss fraction (500 / 2000, 600 / 2000)" burst-perf 5 16384 "0.2750 [0.2500-0.3000]" "$hint7"
	expect_cell "loss fraction (dropped 1000 / 2000, lost -)" burst-ring 5 16384 "0.5000 [0.5000-0.5000]" "$hint7"
	expect_cell "loss fraction" burst-ring 5 65536 "0.0000 [0.0000-0.0000]" "$hint7"
	grep -q '^"burst-perf"$' "$OUT_DIR/burst.dat" && grep -q '^"burst-ring"$' "$OUT_DIR/burst.dat" ||
		flunk "a block for burst-perf and one for burst-ring in burst.dat" "$(grep '^"' "$OUT_DIR/burst.dat" 2>/dev/null | tr '\n' ' ')" \
			"support.c's write_sweep_dat"
	expect_eq "burst.dat: burst-ring at 16384 (param rate rate_min rate_max loss_fraction ...)" \
		"16384 - - - 0.5 0.5 0.5 - - -" "$(awk '/^"burst-ring"/ { on = 1; next } on && NF { print; exit }' "$OUT_DIR/burst.dat" | sed 's/^ //')" "$hint7"
}

# The mechanisms bench.sh measures, by sweep (lab 08's two rows when its
# reference builds).
EXPECTED_MAIN="empty perf-1 perf-1000 ring-adaptive ring-32768 ring-queue map-cache"
EXPECTED_EXEC="fallback-ring fallback-perf"
EXPECTED_SWEEPS="burst:burst-perf burst:burst-ring latency:lat-perf latency:lat-ring size:size-adaptive size:size-sampled"

@test "harness: a quick real run: every row accounts for every event; the table and the plots hold every mechanism" {
	local out=$BATS_TEST_TMPDIR/bench raw status=0 m s expected
	# one run of each row: the medians were checked above, on exact figures
	BENCH_QUICK=1 BENCH_RUNS=1 BENCH_OUT=$out BENCH_SUMMARIZER=$LAB_BIN timeout -k 5 300 \
		"$ROOT/solutions/lab-10-whole-picture/bench.sh" > "$LAB_OUT" 2> "$LAB_ERR" || status=$?
	raw=$out/raw.txt
	echo "# bench.sh's output:"; sed 's/^/# /' "$LAB_OUT" | head -n 60
	[ -s "$raw" ] || flunk "raw rows in $raw" "none" "see bench.sh's output above"
	# the identity, read from the raw rows themselves
	local broken
	broken=$(awk '{
		delete v
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		if (v["received"] == "-") next
		if (v["received"] + (v["lost"] == "-" ? 0 : v["lost"]) + (v["dropped"] == "-" ? 0 : v["dropped"]) != v["produced"])
			print v["sweep"] "/" v["mechanism"] " run " v["run"] ": received=" v["received"] " lost=" v["lost"] " dropped=" v["dropped"] " produced=" v["produced"]
	}' "$raw")
	expect_eq "every raw row: received + lost + dropped == produced" "" "$broken" \
		"a lab's counts do not add up (the reference's, not lab-10's): see its row above"
	expected=$EXPECTED_MAIN
	[ -x "$ROOT/build/solutions/lab-08" ] && grep -q 'rings-1' "$raw" && expected="$expected rings-1 rings-per-cpu"
	for m in $expected $EXPECTED_EXEC; do
		expect_eq "rows of $m in raw.txt" 1 "$(grep -c "^mechanism=$m " "$raw")" "see bench.sh's message about $m above"
		grep -q "^[0-9]* \"$m\"" "$out/main.dat" ||
			flunk "a line for $m in main.dat (plot 1)" "$(cut -d' ' -f2 "$out/main.dat" | tr '\n' ' ')" "support.c's write_main_dat"
		grep -q "^| $m |" "$out/summary.md" || flunk "a row for $m in summary.md" "none" "support.c's print_tables"
	done
	for s in $EXPECTED_SWEEPS; do
		m=${s#*:}
		grep -q "^mechanism=$m sweep=${s%%:*} " "$raw" || flunk "rows of $m in raw.txt" "none" "see bench.sh's output above"
		grep -q "^\"$m\"$" "$out/${s%%:*}.dat" ||
			flunk "a series for $m in ${s%%:*}.dat" "$(grep '^"' "$out/${s%%:*}.dat" 2>/dev/null | tr '\n' ' ')" "support.c's write_sweep_dat"
	done
	if command -v gnuplot > /dev/null; then
		for s in rate burst latency size; do
			[ -s "$out/$s.png" ] || flunk "$s.png in $out" "$(ls "$out" | tr '\n' ' ')" "plots.gp failed: see bench.sh's output above"
		done
	fi
	expect_eq "bench.sh's exit status (lab-10's)" 0 "$status" \
		"lab-10 flags a row (TODO(10.2)) or could not write its files: see its output above"
}
