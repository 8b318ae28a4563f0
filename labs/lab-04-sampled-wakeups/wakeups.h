/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record wakeups.bpf.c sends and wakeups.c prints. */
#ifndef WAKEUPS_H
#define WAKEUPS_H

/* One getpgid() call of a traced thread: 24 bytes, so 32 in the ring buffer
 * (8-byte record header) and 40 in a perf buffer (8-byte perf header, 4-byte
 * size, padded to 8). */
struct event {
	unsigned long long seq; /* 0, 1, 2...: one counter for all CPUs, so the set of
				 * seqs received shows any gap or duplicate */
	unsigned long long ts;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	unsigned int cpu;       /* the CPU the program ran on */
	unsigned int tid;       /* the thread that called getpgid() */
};

/* --buffer: which one the program writes to, set before load. With none it
 * returns at once: the verifier keeps an empty program, the benchmark's
 * baseline. */
#define BUFFER_PERF 0
#define BUFFER_RING 1
#define BUFFER_NONE 2

#endif /* WAKEUPS_H */
