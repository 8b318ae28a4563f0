/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record lifecycle.bpf.c sends and lifecycle.c orders and prints. */
#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#define COMM_LEN     16
#define FILENAME_LEN 256

enum event_kind {
	EVENT_FORK = 1,
	EVENT_EXEC,
	EVENT_EXIT,
	EVENT_PROBE, /* --probe only: a record lab_probe writes (README, "Check it") */
};

struct event {
	unsigned long long ts;        /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, one clock for all CPUs */
	int kind;                     /* enum event_kind */
	int pid;                      /* the process (thread-group id) this happened to */
	int ppid;                     /* its parent process */
	int cpu;                      /* the CPU it happened on: a perf buffer's ring */
	char comm[COMM_LEN];          /* the process's name at that moment */
	char filename[FILENAME_LEN];  /* exec only: the file executed, NUL-terminated */
};

#endif /* LIFECYCLE_H */
