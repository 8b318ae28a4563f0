#!/usr/bin/env bash
# Lab 06 benchmark: how fast getpgid() runs with nothing attached, with an
# empty BPF program on sys_enter, and with the cache (tracking the command
# only, and every process), and whether the cache counted every call.
# The rate is the trigger's own: produced / elapsed_ns.
#
#   make bench-06                      your build/labs/lab-06, the reference's rows beside it
#   LAB_TREE=solutions make bench-06   the reference (build/solutions/lab-06) only
#   BENCH_N=2000000 BENCH_RUNS=5 BENCH_THREADS="1 2" labs/lab-06-map-caching/bench.sh
#
# make bench-06 builds both trees first. The baseline rows (nothing, the
# empty program) always use the reference, so they exist before your tasks
# are done. Runs of the configurations are interleaved, so that a noisy
# moment of the machine spreads over all rows instead of landing on one.
# It holds the checkers' lock while it measures (unless KEDL_LOCKED is set:
# make test holds it already), so no checker runs beside it.
set -u
cd "$(dirname "$0")/../.."
TREE=${LAB_TREE:-labs}
MINE=$PWD/build/$TREE/lab-06
REF=$PWD/build/solutions/lab-06
TRIGGER=$PWD/build/trigger
N=${BENCH_N:-2000000}
RUNS=${BENCH_RUNS:-5}
THREADS=${BENCH_THREADS:-1 2}
TARGET=15 # the cache may cost at most this % of the empty program's rate
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2> /dev/null; rm -rf "$TMP"' EXIT

for bin in "$MINE" "$REF" "$TRIGGER"; do
	[ -x "$bin" ] || { echo "bench: no $bin: make lab-06 solution-06 first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }

# the checkers' lock, saying who holds it while waiting (make test holds it
# already: KEDL_LOCKED)
. checks/lock.bash
kedl_take_lock "bench-06" || exit 1

# rate FILE: calls per second from the trigger's report in FILE ("-" if none)
rate() {
	sed -n 's/^trigger: .*produced=\([0-9]*\) .*elapsed_ns=\([0-9]*\).*/\1 \2/p' "$1" |
		awk '{ printf "%.0f\n", $1 * 1e9 / $2; ok = 1 } END { if (!ok) print "-" }'
}

# counted FILE: the trigger's getpgid calls in run's final table ("-" if none)
counted() {
	sed -n 's/^proc .* comm="trigger" .*busiest=getpgid busiest_calls=\([0-9]*\).*/\1/p' "$1" |
		awk 'NR == 1 { print; ok = 1 } END { if (!ok) print "-" }'
}

# one CONFIG THREADS: one run; prints "rate counted" ("-" when nothing counts).
# Every run pins in its own directory (its pid), so nothing else can clash.
one() {
	local out=$TMP/out err=$TMP/err load=("$TRIGGER" -t "$2" getpgid "$N") lab=$MINE
	: > "$out"; : > "$err"
	case $1 in
	ref-*) lab=$REF ;;
	esac
	case $1 in
	none)   "${load[@]}" 2> "$err"; echo "$(rate "$err") -" ;;
	empty)  "$REF" run --empty -q -- "${load[@]}" > /dev/null 2> "$err"; echo "$(rate "$err") -" ;;
	*filtered) "$lab" run -n 1 -- "${load[@]}" > "$out" 2> "$err"; echo "$(rate "$err") $(counted "$out")" ;;
	*all)	# every process: start the cache, wait for its ready line, run the load, stop it
		rm -f "$TMP/ready" && mkfifo "$TMP/ready"
		"$lab" run -n 1 -i 0 > "$out" 2> "$TMP/ready" &
		local pid=$! line ready=
		exec {fd}< "$TMP/ready"
		while read -r -u "$fd" line; do
			[[ $line == *"(Ctrl-C to stop)" ]] && { ready=1; break; }
		done
		if [ -n "$ready" ]; then
			"${load[@]}" 2> "$err"
			kill -INT "$pid"
		fi
		cat <&"$fd" > /dev/null
		exec {fd}<&-
		wait "$pid"
		echo "$(rate "$err") $(counted "$out")" ;;
	esac
}

configs="none empty filtered all"
[ "$TREE" = labs ] && configs="$configs ref-filtered ref-all"
for t in $THREADS; do
	for run in $(seq "$RUNS"); do
		for c in $configs; do
			echo "$t $c $(one "$c" "$t")" >> "$TMP/results"
		done
	done
done

label() {
	local who="yours ($TREE)"
	[ "$TREE" = solutions ] && who=reference
	case $1 in
	none)         echo "nothing attached" ;;
	empty)        echo "empty program on sys_enter" ;;
	filtered)     echo "cache, -- COMMAND only: $who" ;;
	all)          echo "cache, every process: $who" ;;
	ref-filtered) echo "cache, -- COMMAND only: reference" ;;
	ref-all)      echo "cache, every process: reference" ;;
	esac
}

# rates T CONFIG: the rates of that row, sorted (runs that did not run left out)
rates() {
	awk -v t="$1" -v c="$2" '$1 == t && $2 == c && $3 != "-" { print $3 }' "$TMP/results" | sort -n
}

median() {
	awk '{ r[NR] = $1 } END { if (!NR) print "-"; else print NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
}

echo "lab 06: $N getpgid calls per run, $RUNS runs per row, $(nproc) CPUs, $(uname -r)"
printf '| threads | attached | median M/s | min | max | counted exactly |\n|---|---|---|---|---|---|\n'
for t in $THREADS; do
	for c in $configs; do
		exact=$(awk -v t="$t" -v c="$c" -v n="$N" '$1 == t && $2 == c && c != "none" && c != "empty" { runs++; if ($4 == n) ok++ }
			END { if (runs) printf "%d of %d runs", ok, runs; else print "-" }' "$TMP/results")
		rates "$t" "$c" | awk -v t="$t" -v label="$(label "$c")" -v exact="$exact" \
			'{ r[NR] = $1 } END { if (!NR) { printf "| %s | %s | did not run | - | - | %s |\n", t, label, exact; exit }
			  m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
			  printf "| %s | %s | %.2f | %.2f | %.2f | %s |\n", t, label, m / 1e6, r[1] / 1e6, r[NR] / 1e6, exact }'
	done
done
# the target: the cache costs at most TARGET% of the empty program's rate
for t in $THREADS; do
	empty=$(rates "$t" empty | median)
	for c in $configs; do
		case $c in none|empty) continue ;; esac
		m=$(rates "$t" "$c" | median)
		if [ "$m" = - ] || [ "$empty" = - ]; then
			echo "$t thread(s), $(label "$c"): MISS (did not run: see build/$TREE/lab-06's message)"
			continue
		fi
		awk -v t="$t" -v what="$(label "$c")" -v e="$empty" -v m="$m" -v target="$TARGET" \
			'BEGIN { cost = 100 - 100 * m / e
			  printf "%s thread(s), %s: %.0f%% of the empty program'"'"'s median rate, cost %.0f%% (target <= %d%%): %s\n",
				t, what, 100 * m / e, cost, target, cost <= target ? "PASS" : "MISS" }'
	done
done
