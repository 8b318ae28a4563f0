/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record recorder.bpf.c writes and recorder.c reads back. */
#ifndef RECORDER_H
#define RECORDER_H

/* One getpgid() call of a traced process: 24 bytes, so 40 in a perf ring
 * (an 8-byte perf header, a 4-byte size, the 24 bytes, padded to 8). */
struct event {
	unsigned long long ts;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	unsigned long long seq; /* this CPU's count: 1, 2, 3... (per CPU, so a
				 * window's seqs run without a gap) */
	unsigned int cpu;       /* the CPU the program ran on: its ring's */
	unsigned int pid;       /* the calling process */
};

#endif /* RECORDER_H */
