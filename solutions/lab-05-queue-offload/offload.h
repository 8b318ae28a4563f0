/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record offload.bpf.c writes for each getpgid() and offload.c processes. */
#ifndef OFFLOAD_H
#define OFFLOAD_H

struct record {
	unsigned long long seq; /* 0, 1, 2, ...: the order in which the kernel counted the calls */
	int pid;                /* thread-group id: what user space calls the pid */
	int tid;                /* the thread that called getpgid() */
};

#endif /* OFFLOAD_H */
