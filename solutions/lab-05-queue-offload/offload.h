/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record offload.bpf.c writes for each getpgid() and offload.c processes:
 * 24 bytes, no padding (32 in the ring, with its 8-byte header). */
#ifndef OFFLOAD_H
#define OFFLOAD_H

struct record {
	unsigned long long seq; /* 0, 1, 2, ...: the order in which the kernel counted the calls */
	unsigned long long ts;  /* bpf_ktime_get_ns() when the kernel counted the call */
	int pid;                /* thread-group id: what user space calls the pid */
	int tid;                /* the thread that called getpgid() */
};
_Static_assert(sizeof(struct record) == 24, "the README's record counts assume 24 bytes");

#endif /* OFFLOAD_H */
