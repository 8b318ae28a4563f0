#!/usr/bin/env bash
# Lab 06 benchmark: how fast getpgid() runs with nothing attached, with an
# empty BPF program on sys_enter, and with the cache (tracking the command
# only, and every process), and whether the cache counted every call.
# The rate is the trigger's own: produced / elapsed_ns.
#
#   make bench-06                   (builds the solution first)
#   BENCH_N=2000000 BENCH_RUNS=5 BENCH_THREADS="1 2" solutions/lab-06-map-caching/bench.sh
#
# Runs of the configurations are interleaved, so that a noisy moment of the
# machine spreads over all rows instead of landing on one.
set -u
cd "$(dirname "$0")/../.."
LAB=${LAB_BIN:-$PWD/build/solutions/lab-06}
TRIGGER=$PWD/build/trigger
N=${BENCH_N:-2000000}
RUNS=${BENCH_RUNS:-5}
THREADS=${BENCH_THREADS:-1 2}
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2> /dev/null; rm -rf "$TMP"' EXIT

[ -x "$LAB" ] && [ -x "$TRIGGER" ] || { echo "bench: build first: make solution-06" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }

# rate FILE: calls per second from the trigger's report in FILE
rate() {
	sed -n 's/^trigger: .*produced=\([0-9]*\) .*elapsed_ns=\([0-9]*\).*/\1 \2/p' "$1" |
		awk '{ printf "%.0f\n", $1 * 1e9 / $2 }'
}

# counted FILE: the trigger's getpgid calls in run's final table
counted() {
	sed -n 's/^proc .* comm="trigger" .*busiest=getpgid busiest_calls=\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# one CONFIG THREADS: one run; prints "rate counted" ("-" when nothing counts)
one() {
	local out=$TMP/out err=$TMP/err load=("$TRIGGER" -t "$2" getpgid "$N")
	case $1 in
	none)   "${load[@]}" 2> "$err"; echo "$(rate "$err") -" ;;
	empty)  "$LAB" run --empty -q -- "${load[@]}" > /dev/null 2> "$err"; echo "$(rate "$err") -" ;;
	filtered) "$LAB" run -n 1 -- "${load[@]}" > "$out" 2> "$err"; echo "$(rate "$err") $(counted "$out")" ;;
	all)	# every process: start the cache, wait for its ready line, run the load, stop it
		rm -f "$TMP/ready" && mkfifo "$TMP/ready"
		"$LAB" run -n 1 -i 0 > "$out" 2> "$TMP/ready" &
		local pid=$! line
		exec {fd}< "$TMP/ready"
		while read -r -u "$fd" line && [[ $line != *"(Ctrl-C to stop)" ]]; do :; done
		"${load[@]}" 2> "$err"
		kill -INT "$pid"
		cat <&"$fd" > /dev/null
		exec {fd}<&-
		wait "$pid"
		echo "$(rate "$err") $(counted "$out")" ;;
	esac
}

configs="none empty filtered all"
for t in $THREADS; do
	for run in $(seq "$RUNS"); do
		for c in $configs; do
			echo "$t $c $(one "$c" "$t")" >> "$TMP/results"
		done
	done
done

label() {
	case $1 in
	none)     echo "nothing attached" ;;
	empty)    echo "empty program on sys_enter" ;;
	filtered) echo "cache, -- COMMAND only" ;;
	all)      echo "cache, every process" ;;
	esac
}

# rates T CONFIG: the rates of that row, sorted
rates() {
	awk -v t="$1" -v c="$2" '$1 == t && $2 == c { print $3 }' "$TMP/results" | sort -n
}

median() {
	awk '{ r[NR] = $1 } END { print NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
}

echo "lab 06: $N getpgid calls per run, $RUNS runs per row, $(nproc) CPUs, $(uname -r)"
printf '| threads | attached | median M/s | min | max | counted exactly |\n|---|---|---|---|---|---|\n'
for t in $THREADS; do
	for c in $configs; do
		exact=$(awk -v t="$t" -v c="$c" -v n="$N" '$1 == t && $2 == c && $4 != "-" { runs++; if ($4 == n) ok++ }
			END { if (runs) printf "%d of %d runs", ok, runs; else print "-" }' "$TMP/results")
		rates "$t" "$c" | awk -v t="$t" -v label="$(label "$c")" -v exact="$exact" -v med="$(rates "$t" "$c" | median)" \
			'{ r[NR] = $1 } END { printf "| %s | %s | %.2f | %.2f | %.2f | %s |\n", t, label, med / 1e6, r[1] / 1e6, r[NR] / 1e6, exact }'
	done
done
# the issue's target: the cache costs at most 15% of the empty program's rate
for t in $THREADS; do
	empty=$(rates "$t" empty | median)
	for c in filtered all; do
		awk -v t="$t" -v what="$(label "$c")" -v e="$empty" -v m="$(rates "$t" "$c" | median)" \
			'BEGIN { printf "%s thread(s), %s: %.0f%% of the empty program'"'"'s median rate (cost %.0f%%)\n", t, what, 100 * m / e, 100 - 100 * m / e }'
	done
done
