#!/usr/bin/env bash
# Lab 04 benchmark (not a test): one getpgid workload, delivered every way the
# lab knows, in one table.
#
#   bench.sh [N] [RUNS]      N getpgid() calls per run (default 1000000),
#                            RUNS runs per mode (default 3)
#   make bench-04            the same, for the reference solution
#
# Each run is `lab-04 -q MODE -- trigger getpgid N`: one producer thread,
# pinned to CPU 0, so the reader has the other CPU. The producer's rate is
# the trigger's produced / elapsed; the other columns come from the lab's
# summary. A row shows the run with the median rate, and the range of the
# rates over all runs. Runs hold the checkers' lock, so no checker runs on
# the machine meanwhile (other work may: run it more than once).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tree=$(basename "$(dirname "$here")")            # labs or solutions
lab=$root/build/$tree/lab-04
trigger=$root/build/trigger
n=${1:-1000000}
runs=${2:-3}
K=1000   # --wakeup-events: a wakeup per 1000 samples (40000 bytes)
B=32768  # --wakeup-bytes: a wakeup per 1024 records (32 bytes each)

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root (BPF programs are loaded)"; exit 1; }
target=$([ "$tree" = labs ] && echo lab-04 || echo solution-04)
make -s -C "$root" "$target" "$trigger" || exit 1

if [ -z "${KEDL_LOCKED:-}" ]; then
	exec {lock_fd}> "${TMPDIR:-/tmp}/kedl-checkers.lock"
	flock -w 3600 "$lock_fd"
fi

# value KEY TEXT: KEY=value from the trigger's or the summary line
value() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<< "$2" | tail -n 1; }

# one_run MODE...: prints "rate lost wakeups per_wakeup polls ctxsw cpu_ms"
one_run() {
	local out rate
	if [ "$1" = bare ]; then
		out=$("$trigger" getpgid "$n" 2>&1)
	else
		out=$("$lab" -q "$@" -- "$trigger" getpgid "$n" 2>&1)
	fi
	if [ "$(value produced "$out")" != "$n" ]; then
		echo "bench.sh: run failed: $*" >&2
		echo "$out" >&2
		return 1
	fi
	rate=$(( n * 1000000000 / $(value elapsed_ns "$out") ))
	if [ "$1" = bare ]; then
		echo "$rate - - - - - -"
		return
	fi
	local lost cpu_us
	lost=$(value lost "$out")
	lost=${lost:-$(value dropped "$out")}
	cpu_us=$(value cpu_us "$out")
	echo "$rate $lost $(value wakeups "$out") $(value events_per_wakeup "$out")" \
	     "$(value polls "$out") $(value ctxsw "$out") $((cpu_us / 1000))"
}

declare -A median_rate
row() {
	local name=$1 i r results sorted median
	shift
	results=()
	for ((i = 0; i < runs; i++)); do
		r=$(one_run "$@") || exit 1
		results+=("$r")
	done
	sorted=$(printf '%s\n' "${results[@]}" | sort -n -k1,1)
	median=$(sed -n "$(((runs + 1) / 2))p" <<< "$sorted")
	median_rate[$name]=${median%% *}
	read -r rate lost wakeups per polls ctxsw cpu <<< "$median"
	printf '%-24s %10s  %-21s %8s %8s %8s %8s %8s %7s\n' "$name" "$rate" \
		"[$(head -n 1 <<< "$sorted" | cut -d' ' -f1)-$(tail -n 1 <<< "$sorted" | cut -d' ' -f1)]" \
		"$lost" "$wakeups" "$per" "$polls" "$ctxsw" "$cpu"
}

echo "lab 04 benchmark: trigger getpgid $n, $runs runs per mode, $(nproc) CPUs, $(uname -r)"
printf '%-24s %10s  %-21s %8s %8s %8s %8s %8s %7s\n' mode "events/s" "[min-max]" lost wakeups \
	"ev/wake" polls ctxsw "cpu ms"
row "nothing attached" bare
row "empty BPF program" --buffer none
row "perf, every event" --buffer perf --wakeup-events 1
row "perf, every $K" --buffer perf --wakeup-events "$K"
row "ring, adaptive" --buffer ring
row "ring, at $B bytes" --buffer ring --wakeup-bytes "$B"

sampled=${median_rate["ring, at $B bytes"]}
empty=${median_rate["empty BPF program"]}
perf1=${median_rate["perf, every event"]}
echo
awk -v s="$sampled" -v e="$empty" -v p="$perf1" 'BEGIN {
	printf "ring at '"$B"' bytes / empty program:    %.0f%%  (target: at least 75%%)\n", 100 * s / e
	printf "ring at '"$B"' bytes / perf, every event: %.1fx  (target: at least 2.5x)\n", s / p
}'
