#!/usr/bin/env bash
# Lab 04 benchmark (not a test): one getpgid workload, delivered every way the
# lab knows, in one table, with a PASS or MISS line for each target.
#
#   make bench-04                      your build (build/labs/lab-04), and the
#                                      reference's row under each of yours
#   LAB_TREE=solutions make bench-04   the reference only
#   bench.sh [N] [RUNS]                N getpgid() calls per run (default 1000000),
#                                      RUNS runs per mode (default 3)
#
# Each run is `lab-04 -q MODE -- trigger getpgid N`: one producer thread,
# pinned to CPU 0, and the reader pinned to CPU 1. The producer's rate is the
# trigger's produced / elapsed; the other columns come from the lab's
# summary. A row shows the run with the median rate, and the range of the
# rates over all runs; "loss" is the most any run lost (lost + dropped).
# Runs hold the checkers' lock, so no checker runs on the machine meanwhile
# (other work may: run it more than once).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tree=${LAB_TREE:-labs}
trigger=$root/build/trigger
n=${1:-1000000}
runs=${2:-3}
K=1000   # --wakeup-events: a wakeup per 1000 samples (40000 bytes)
B=32768  # --wakeup-bytes: a wakeup per 1024 records (32 bytes each)

[ "$(id -u)" = 0 ] || { echo "bench.sh: needs root (BPF programs are loaded)"; exit 1; }
case $tree in
labs)      builds="yours ref" ;;
solutions) builds="ref" ;;
*)         echo "bench.sh: LAB_TREE is labs or solutions, not '$tree'"; exit 2 ;;
esac
make -s -C "$root" solution-04 "$trigger" || exit 1
[ "$tree" = solutions ] || make -s -C "$root" lab-04 ||
	echo "bench.sh: lab-04 does not build: only the reference is measured"
declare -A bin=([yours]=$root/build/labs/lab-04 [ref]=$root/build/solutions/lab-04)

# the checkers' lock, saying who holds it while waiting (make test holds it
# already: KEDL_LOCKED)
. "$root/checks/lock.bash"
kedl_take_lock "bench-04" || exit 1

# value KEY TEXT: KEY=value from the trigger's or the summary line
value() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<< "$2" | tail -n 1; }

# one_run BUILD MODE...: prints "rate loss wakeups per_wakeup polls timeouts
# cpu_ms p50 p99 max", or the lab's last message and fails
one_run() {
	local build=$1 out rate
	shift
	local status=0
	if [ "$1" = bare ]; then
		out=$(taskset -c 0 "$trigger" getpgid "$n" 2>&1) || status=$?
	else
		out=$(taskset -c 1 timeout 120 "${bin[$build]}" -q "$@" -- "$trigger" getpgid "$n" 2>&1) || status=$?
	fi
	if [ "$status" != 0 ] || [ "$(value produced "$out")" != "$n" ]; then
		# the lab's own message first (a TODO not done), else the last line
		{ grep '^lab-04: ' <<< "$out" | grep -v '(Ctrl-C to stop)$'; tail -n 1 <<< "$out"; } | head -n 1
		return 1
	fi
	rate=$(( n * 1000000000 / $(value elapsed_ns "$out") ))
	if [ "$1" = bare ]; then
		echo "$rate - - - - - - - - -"
		return
	fi
	local loss=$(( $(value lost "$out" || true) + $(value dropped "$out") ))
	local p50 p99 max
	p50=$(value lat_p50_us "$out")
	p99=$(value lat_p99_us "$out")
	max=$(value lat_max_us "$out")
	echo "$rate $loss $(value wakeups "$out") $(value events_per_wakeup "$out")" \
	     "$(value polls "$out") $(value timeouts "$out") $(( $(value cpu_us "$out") / 1000 ))" \
	     "${p50:--} ${p99:--} ${max:--}"
}

fmt='%-42s %8s %-19s %5s %7s %7s %7s %5s %6s %s\n'
declare -A rate loss_max sleeps
# row NAME MODE...: RUNS runs of each build; the median-rate run is shown
row() {
	local name=$1 build i r results sorted median why maxloss
	shift
	for build in $builds; do
		results=()
		for ((i = 0; i < runs; i++)); do
			if ! r=$(one_run "$build" "$@"); then
				why=$r
				results=()
				break
			fi
			results+=("$r")
		done
		if [ ${#results[@]} = 0 ]; then
			printf '%-42s %s\n' "$name ($build)" "does not run: ${why:-no output}"
			continue
		fi
		sorted=$(printf '%s\n' "${results[@]}" | sort -n -k1,1)
		median=$(sed -n "$(((runs + 1) / 2))p" <<< "$sorted")
		maxloss=$(awk '$2 != "-" && $2 > m { m = $2 } END { print m + 0 }' <<< "$sorted")
		read -r r _ wakeups per polls timeouts cpu p50 p99 max <<< "$median"
		rate[$name.$build]=$r
		loss_max[$name.$build]=$maxloss
		sleeps[$name.$build]="$polls $wakeups $timeouts"
		[ "$1" = bare ] && maxloss=-
		printf "$fmt" "$name$([ "$builds" = ref ] || echo " ($build)")" "$r" \
			"[$(head -n 1 <<< "$sorted" | cut -d' ' -f1)-$(tail -n 1 <<< "$sorted" | cut -d' ' -f1)]" \
			"$maxloss" "$wakeups" "$per" "$polls" "$timeouts" "$cpu" \
			"$([ "$p50" = - ] && echo - || echo "$p50/$p99/$max")"
	done
}

echo "lab 04 benchmark: trigger getpgid $n, $runs runs per mode, $(nproc) CPUs, $(uname -r)"
printf "$fmt" mode "events/s" "[min-max]" loss wakeups ev/wake polls tmout "cpu ms" "lat us p50/p99/max"
row "nothing attached" bare
row "empty program, raw_tp/sys_enter" --buffer none --raw-tp
row "empty program, tp/syscalls" --buffer none
row "perf, every event" --buffer perf
row "perf, every $K" --buffer perf --wakeup-events "$K"
# adaptive: the reader is woken for almost every record, and whenever other
# work keeps it off its CPU the ring must hold what arrives meanwhile: at
# 256 KiB (36 ms of records here) one run in nine dropped records, so 1 MiB
row "ring, adaptive, 1 MiB" --buffer ring --ring-size 1048576
row "ring, at $B bytes" --buffer ring --wakeup-bytes "$B"
row "ring, at $B bytes, edge-triggered" --buffer ring --wakeup-bytes "$B" --edge-triggered
# the producer-only ceiling: the same program (it queries the ring and submits
# with BPF_RB_NO_WAKEUP), a 64 MiB ring the run cannot fill, a threshold never
# reached, and a reader that reads nothing before the command has exited
row "ring, reader stalled" --buffer ring --ring-size 67108864 --wakeup-bytes 67108832 --stall-ms 1

# target NAME OK TEXT: one PASS or MISS line
target() { printf '%-4s %s\n' "$([ "$2" = 1 ] && echo PASS || echo MISS)" "$3"; }
echo
for build in $builds; do
	tuned=${rate["ring, at $B bytes, edge-triggered.$build"]:-}
	ceiling=${rate["ring, reader stalled.$build"]:-}
	empty=${rate["empty program, tp/syscalls.$build"]:-}
	perf1=${rate["perf, every event.$build"]:-}
	if [ -z "$tuned" ] || [ -z "$ceiling" ] || [ -z "$empty" ] || [ -z "$perf1" ]; then
		echo "$build: no targets: some of its rows do not run"
		continue
	fi
	read -r polls wakeups timeouts <<< "${sleeps["ring, at $B bytes, edge-triggered.$build"]}"
	tloss=${loss_max["ring, at $B bytes, edge-triggered.$build"]:-}
	lossy=$(for k in "${!loss_max[@]}"; do
		[[ $k == *".$build" ]] && [ "${loss_max[$k]}" != 0 ] && echo "${k%.*}"
	done | sort | paste -sd, -)
	[ "$builds" = ref ] || echo "$build:"
	target x "$(awk -v t="$tuned" -v c="$ceiling" 'BEGIN { print (t >= 0.9 * c) }')" \
		"tuned ring (edge-triggered, at $B bytes) / reader stalled: $(awk -v t="$tuned" -v c="$ceiling" 'BEGIN { printf "%.0f%%", 100 * t / c }') (target: at least 90%)"
	target x "$([ "$tloss" = 0 ] && echo 1)" "tuned ring loss in every run: $tloss (target: 0)"
	target x "$([ "$polls" -le $((2 * (wakeups + timeouts) + 10)) ] && echo 1)" \
		"tuned ring's reader sleeps: polls $polls <= 2 x (wakeups $wakeups + timeouts $timeouts) + 10"
	target x "$([ -z "$lossy" ] && echo 1)" \
		"every mode loss-free in every run at the size its row names${lossy:+ (lost in: $lossy)}"
	target x "$(awk -v s="$tuned" -v e="$empty" 'BEGIN { print (s >= 0.75 * e) }')" \
		"tuned ring / empty program on tp/syscalls: $(awk -v s="$tuned" -v e="$empty" 'BEGIN { printf "%.0f%%", 100 * s / e }') (target: at least 75%)"
	target x "$(awk -v s="$tuned" -v p="$perf1" 'BEGIN { print (s >= 2.5 * p) }')" \
		"tuned ring / perf, every event: $(awk -v s="$tuned" -v p="$perf1" 'BEGIN { printf "%.1fx", s / p }') (target: at least 2.5x)"
done
