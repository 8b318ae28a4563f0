/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Definitions shared by the BPF side (bpf-headers/lab.bpf.h) and user space
 * (common/lab.h). Plain C types only: this file is compiled both against
 * vmlinux.h and against the system headers.
 */
#ifndef LAB_ABI_H
#define LAB_ABI_H

/* Largest number of processes the -- COMMAND tracker follows at once. */
#define LAB_MAX_TRACKED 8192

/* The record lab_perf_flush writes; never a real event (see lab.h). */
#define LAB_FLUSH_MAGIC 0x4c41424c55534846ULL /* "FHSULBAL" */
struct lab_flush_marker {
	unsigned long long magic;
};

#endif /* LAB_ABI_H */
