/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The state statecache.bpf.c keeps in its maps, and statecache.c reads. */
#ifndef STATECACHE_H
#define STATECACHE_H

#define COMM_LEN       16
#define FILENAME_LEN   256
#define MAX_SYSCALL_NR 1024   /* syscalls counted: numbers 0 .. MAX_SYSCALL_NR - 1 */
#define DEFAULT_PROCS    8192   /* max_entries of procs, unless --max-entries */
#define DEFAULT_COUNTERS 65536  /* max_entries of counts, unless --max-entries */

/* The key of `counts`: one counter (a u64 per CPU) per process and syscall. */
struct count_key {
	unsigned int tgid;            /* what user space calls the pid */
	unsigned int nr;              /* the syscall number */
};

/* The value of `procs`, keyed by tgid: what is known of one process.
 * comm and file come first so that file is 8-byte aligned and copies whole. */
struct proc {
	char comm[COMM_LEN];          /* its name, after its last exec */
	char file[FILENAME_LEN];      /* the path of its last exec (its parent's, before one) */
	unsigned long long first_ns;  /* fork, or when first seen (bpf_ktime_get_ns) */
	unsigned long long last_ns;   /* its latest fork, exec or exit */
	unsigned int ppid;            /* the parent's tgid; 0 if the fork was not seen */
	unsigned int execs;           /* execve() calls that succeeded */
	unsigned int exited;          /* 1 once its last thread has exited */
};

#endif /* STATECACHE_H */
