# Lab 10's four plots, from the .dat files lab-10 writes (bench.sh runs
# this: gnuplot -e "dir='build/bench'" plots.gp). "-" is a missing figure.
if (!exists("dir")) dir = "build/bench"
set datafile missing "-"
set terminal pngcairo size 900,560 noenhanced font ",10"
set grid
set key outside right top

# (1) rate per mechanism: the main sweep (getpgid) and lab 07's (execve),
# log scale, bars from the slowest to the fastest run
set output dir."/rate.png"
set title "(1) events/s per mechanism (median; bars: range over runs). fallback-*: lab 07, an execve workload; the rest getpgid()"
set logscale y
set ylabel "events/s (log)"
set style fill solid 0.5
set boxwidth 0.6
set xtics rotate by -35
unset key
plot dir."/main.dat" using 1:3:xtic(2) with boxes lc rgb "#4477aa", \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0
unset logscale y
set xtics norotate
set key outside right top

# (2) loss under a burst against buffer memory: perf pages per CPU against
# one ring of the same total memory
set output dir."/burst.png"
set title "(2) a burst with the reader stalled: share of records lost or dropped"
set logscale x 2
set format x "%.0b%B"
set xlabel "buffer memory, bytes (perf: all CPUs' pages together; one producer CPU)"
set ylabel "lost + dropped / produced"
set yrange [0:1.05]
plot for [i=0:*] dir."/burst.dat" index i using 1:5 with linespoints lw 2 title columnheader(1)
set autoscale y
set format x "% h"

# (3) latency against the wakeup threshold
set output dir."/latency.png"
set title "(3) latency, kernel timestamp to user space (solid: p50, dashed: p99)"
set logscale xy
set xlabel "records per wakeup (perf: --wakeup-events; ring: --wakeup-bytes / 32)"
set ylabel "microseconds (log)"
plot for [i=0:*] dir."/latency.dat" index i using 1:8 with linespoints lw 2 lc i+1 title columnheader(1), \
     for [i=0:*] dir."/latency.dat" index i using 1:9 with linespoints dt 2 lc i+1 notitle
unset logscale y

# (4) rate against record size
set output dir."/size.png"
set title "(4) events/s against record size (one ring, bpf_ringbuf_output; adaptive or 256 KiB wakeups)"
set logscale x 2
set xlabel "record bytes"
set ylabel "events/s"
set yrange [0:*]
set xrange [11:6000]
plot for [i=0:*] dir."/size.dat" index i using 1:2:3:4 with yerrorlines lw 2 title columnheader(1)
