/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record shards.bpf.c reserves in a CPU's ring and shards.c merges. */
#ifndef SHARDS_H
#define SHARDS_H

/* The most rings `events` can hold: --rings is 1 .. min(MAX_RINGS, CPUs). */
#define MAX_RINGS 64

struct event {
	unsigned long long ts;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, one clock for all CPUs */
	unsigned long long seq; /* the record's number in its ring: 0, 1, 2, ... */
	unsigned int cpu;       /* the CPU the program ran on */
	int pid;                /* the caller's process (thread-group id) */
	int tid;                /* the calling thread */
};

#endif /* SHARDS_H */
