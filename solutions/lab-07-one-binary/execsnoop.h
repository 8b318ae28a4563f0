/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record execsnoop.bpf.c sends and execsnoop.c prints, the same through
 * the ring buffer and the perf buffer: 288 bytes, no padding (ts first). */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

#define COMM_LEN     16
#define FILENAME_LEN 256

struct event {
	unsigned long long ts;        /* bpf_ktime_get_ns() at the execve() call */
	int pid;                      /* thread-group id: what user space calls the pid */
	int tid;                      /* the thread that called execve() */
	char comm[COMM_LEN];          /* the caller's name, before the exec */
	char filename[FILENAME_LEN];  /* execve()'s first argument, NUL-terminated */
};
_Static_assert(sizeof(struct event) == 288, "8 + 4 + 4 + 16 + 256 bytes, no padding");

#endif /* EXECSNOOP_H */
