#!/usr/bin/env bash
# Lab 10 benchmark harness: every mechanism of labs 04-08 on one workload,
# each run written as one raw row, then summarized by lab-10 and plotted.
#
#   make bench-10                      the raw rows, then your lab-10
#                                      (build/labs/lab-10) makes the table
#   LAB_TREE=solutions make bench-10   the reference's lab-10 makes it
#   BENCH_RUNS=3     runs of every row (each run measures every row once, so
#                    a ratio to the empty program is taken within one run)
#   BENCH_QUICK=1    a small, fast run (a few thousand events; 2 runs)
#   BENCH_OUT=DIR    where raw.txt, summary.md, *.dat and *.png go
#                    (default build/bench)
#   BENCH_SUMMARIZER=PATH  the lab-10 binary to use (the checker's)
#
# The mechanisms are the reference binaries build/solutions/lab-NN, driven by
# the trigger (build/trigger): `taskset -c 1 lab-NN -q ... -- WRAP trigger -c 0
# getpgid N`. The producer runs on CPU 0, the tracer (reader, workers) on
# CPU 1. WRAP is a bash that reads the tracer's threads' CPU time and
# voluntary context switches (/proc/PID/task/*/schedstat and status) before
# and after the trigger: reader_cpu_us and wakeups, the same way for every
# lab. It makes no getpgid() call; it is one exec (lab 07 counts it).
#
# Raw rows (build/bench/raw.txt), one per run, key=value, "-" where the lab
# does not report a figure:
#   mechanism= sweep= param= run= workload= produced= received= lost= dropped=
#   seconds= rate= mem_bytes= wakeups= reader_cpu_us= lat_p50_us= lat_p99_us= lat_max_us=
# Sweeps: main (the table, plot 1), exec (lab 07: it traces execve), burst
# (plot 2: loss against memory), latency (plot 3: against the wakeup
# threshold), size (plot 4: rate against record size).
# Runs hold the checkers' lock, so no checker runs meanwhile (other work may).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tree=${LAB_TREE:-labs}
trigger=$root/build/trigger
ref=$root/build/solutions
out=${BENCH_OUT:-$root/build/bench}
page=$(getconf PAGESIZE)
cpus=$(nproc)

if [ -n "${BENCH_QUICK:-}" ]; then
	runs=${BENCH_RUNS:-2}
	n=2000          # getpgid() calls per run
	n_exec=20       # lab 07: execs per run
	burst=2000      # the burst: getpgid() calls with the reader stalled
	burst_sizes="16384 262144"
	thresholds="1 100"
	record_sizes="16 4096"
else
	runs=${BENCH_RUNS:-3}
	n=200000
	n_exec=500
	burst=20000
	burst_sizes="16384 32768 65536 131072 262144 524288 1048576 2097152"
	thresholds="1 10 100 1000"
	record_sizes="16 64 256 1024 4096"
fi
K=1000     # perf-sampled: a wakeup per 1000 samples per CPU
B=32768    # ring-sampled: a wakeup once 32 KiB (1024 records) wait

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root (BPF programs are loaded)"; exit 1; }
case $tree in
labs|solutions) ;;
*) [ -n "${BENCH_SUMMARIZER:-}" ] ||
	{ echo "bench.sh: LAB_TREE is labs or solutions, not '$tree'"; exit 2; } ;;
esac
make -s -C "$root" solution-04 solution-05 solution-06 solution-07 "$trigger" || exit 1
summarizer=${BENCH_SUMMARIZER:-}
if [ -z "$summarizer" ]; then
	make -s -C "$root" "$([ "$tree" = labs ] && echo lab-10 || echo solution-10)" || exit 1
	summarizer=$root/build/$tree/lab-10
fi
# lab 08 (several rings) joins when its reference builds
have08=
if [ -d "$(echo "$root"/solutions/lab-08-*)" ] && make -s -C "$root" solution-08 > /dev/null 2>&1; then
	have08=1
else
	echo "bench.sh: lab 08 (several rings) does not build: its rows are left out"
fi

. "$root/checks/lock.bash"
kedl_take_lock "bench-10" || exit 1

mkdir -p "$out"
raw=$out/raw.txt
: > "$raw"

# The wrapper: the tracer is its parent ($PPID). Only bash builtins, so it
# execs nothing but the command.
# shellcheck disable=SC2016
wrap='usage() {
	local cpu=0 sw=0 ns rest key value t
	for t in /proc/$PPID/task/*; do
		read -r ns rest < "$t/schedstat" && cpu=$((cpu + ns))
		while read -r key value; do
			[ "$key" = voluntary_ctxt_switches: ] && sw=$((sw + value))
		done < "$t/status"
	done
	echo "$cpu $sw"
}
read -r cpu0 sw0 <<< "$(usage)"
"$@"
status=$?
read -r cpu1 sw1 <<< "$(usage)"
echo "bench: reader_cpu_us=$(((cpu1 - cpu0) / 1000)) wakeups=$((sw1 - sw0))" >&2
exit $status'

# value KEY TEXT: KEY=value from the trigger's, the wrapper's or the summary line
value() {
	local v
	v=$(sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<< "$2" | tail -n 1)
	echo "${v:--}"
}
sum() { # a + b, "-" + "-" = "-"
	if [ "$1" = - ] && [ "$2" = - ]; then echo -; else echo $(( ${1/#-/0} + ${2/#-/0} )); fi
}

# measure SWEEP MECHANISM PARAM RUN MEM WORKLOAD LAB [LAB-OPTIONS...]: one run,
# one raw row. WORKLOAD is getpgid or exec; MEM the buffer's data bytes ("-":
# from the summary's memory=, or none). For the empty program and the map
# cache, which deliver no records, received is "-".
measure() {
	local sweep=$1 mech=$2 param=$3 run=$4 mem=$5 workload=$6 lab=$7 cmd o status=0
	local produced received lost dropped ns rate
	shift 7
	if [ "$workload" = exec ]; then
		cmd=("$trigger" -c 0 exec "$n_exec" /bin/true)
	else
		cmd=("$trigger" -c 0 getpgid "$( [ "$sweep" = burst ] && echo "$burst" || echo "$n")")
	fi
	# -q, after the subcommand if there is one (lab-10 record-size)
	if [ "$1" = record-size ]; then set -- record-size -q "${@:2}"; else set -- -q "$@"; fi
	o=$(taskset -c 1 timeout 300 "$lab" "$@" -- bash -c "$wrap" bench-10 "${cmd[@]}" 2>&1) || status=$?
	produced=$(value produced "$(grep '^trigger: ' <<< "$o")")
	ns=$(value elapsed_ns "$o")
	if [ "$status" != 0 ] || [ "$produced" = - ] || [ "$ns" = - ]; then
		echo "bench.sh: $sweep $mech${param:+ $param} (run $run) does not run:" \
			"$({ grep -v '(Ctrl-C to stop)$' <<< "$o" | grep '^lab-'; tail -n 1 <<< "$o"; } | head -n 1)" >&2
		return 1
	fi
	received=$(value received "$(grep '^summary: ' <<< "$o")")
	lost=$(value lost "$o")
	dropped=$(value dropped "$o")
	case $mech in
	empty|map-cache) received=- ;;
	ring-queue) # lab 05: the workers processed them; the queue may drop some
		received=$(value processed "$o")
		dropped=$(sum "$dropped" "$(value queue_drops "$o")") ;;
	esac
	rate=$(awk -v p="$produced" -v ns="$ns" 'BEGIN { printf "%.0f", p * 1e9 / ns }')
	# lab 07 counts every execve of the traced tree: the trigger's N, and the
	# wrapper's and the trigger's own
	[ "$workload" = exec ] && produced=$((produced + 2))
	[ "$mem" = - ] && mem=$(value memory "$o")
	echo "mechanism=$mech sweep=$sweep param=${param:--} run=$run workload=$workload" \
		"produced=$produced received=$received lost=$lost dropped=$dropped" \
		"seconds=$(awk -v ns="$ns" 'BEGIN { printf "%.6f", ns / 1e9 }')" \
		"rate=$rate" \
		"mem_bytes=$mem wakeups=$(value wakeups "$(grep '^bench: ' <<< "$o")")" \
		"reader_cpu_us=$(value reader_cpu_us "$o")" \
		"lat_p50_us=$(value lat_p50_us "$o") lat_p99_us=$(value lat_p99_us "$o")" \
		"lat_max_us=$(value lat_max_us "$o")" >> "$raw"
}

perf_mem() { echo $(( $1 * page * cpus )); } # pages per CPU -> bytes

echo "lab 10 benchmark: $runs runs; getpgid $n per run (burst $burst), exec $n_exec;" \
     "$cpus CPUs, $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((run = 1; run <= runs; run++)); do
	echo "run $run of $runs"
	# main: one getpgid workload, every mechanism
	measure main empty - $run 0 getpgid "$ref/lab-04" --buffer none
	measure main perf-1 - $run "$(perf_mem 64)" getpgid "$ref/lab-04" --buffer perf
	measure main perf-$K - $run "$(perf_mem 64)" getpgid "$ref/lab-04" --buffer perf --wakeup-events $K
	measure main ring-adaptive - $run 1048576 getpgid "$ref/lab-04" --buffer ring --ring-size 1048576
	measure main ring-$B - $run 1048576 getpgid "$ref/lab-04" --buffer ring --ring-size 1048576 \
		--wakeup-bytes $B --edge-triggered
	measure main ring-queue - $run 1048576 getpgid "$ref/lab-05" --ring-size 1048576 --workers 2
	if [ -n "$have08" ]; then
		measure main rings-1 - $run 1048576 getpgid "$ref/lab-08" --rings 1 --ring-size 1048576
		measure main rings-per-cpu - $run $((cpus * 1048576)) getpgid "$ref/lab-08" \
			--ring-size 1048576
	fi
	measure main map-cache - $run - getpgid "$ref/lab-06" -i 0
	# exec: lab 07, the fallback binary, in both modes
	measure exec fallback-ring - $run - exec "$ref/lab-07" --buffer ring
	measure exec fallback-perf - $run - exec "$ref/lab-07" --buffer perf
	# burst: the reader stalled until the command ends; one producer CPU
	for m in $burst_sizes; do
		measure burst burst-perf "$m" $run "$m" getpgid "$ref/lab-04" --buffer perf \
			--pages $((m / page / cpus)) --stall-ms 1
		measure burst burst-ring "$m" $run "$m" getpgid "$ref/lab-04" --buffer ring \
			--ring-size "$m" --stall-ms 1
	done
	# latency: records per wakeup (perf: samples per CPU; ring: 32-byte records)
	for t in $thresholds; do
		measure latency lat-perf "$t" $run "$(perf_mem 64)" getpgid "$ref/lab-04" --buffer perf \
			--wakeup-events "$t"
		measure latency lat-ring "$t" $run 1048576 getpgid "$ref/lab-04" --buffer ring \
			--ring-size 1048576 --wakeup-bytes $((32 * t))
	done
	# size: lab 10's own tracer, one record of S bytes per call, the reader
	# woken adaptively (about once per record) or once 256 KiB wait
	for s in $record_sizes; do
		measure size size-adaptive "$s" $run 4194304 getpgid "$summarizer" record-size \
			--record-size "$s" --ring-size 4194304
		measure size size-sampled "$s" $run 4194304 getpgid "$summarizer" record-size \
			--record-size "$s" --ring-size 4194304 --wakeup-bytes 262144
	done
done

echo
status=0
"$summarizer" -o "$out" < "$raw" || status=$?
if command -v gnuplot > /dev/null; then
	gnuplot -e "dir='$out'" "$here/plots.gp" || status=1
	echo
	echo "plots: $(cd "$out" && ls -- *.png | tr '\n' ' ')(in $out)"
else
	echo "gnuplot is not installed (apt-get install gnuplot-nox): no plots, only $out/*.dat"
fi
echo "raw rows: $raw; table: $out/summary.md"
exit $status
