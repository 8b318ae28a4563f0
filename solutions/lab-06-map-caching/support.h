/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Lab 06's support code (support.c): the subcommands' command lines, the pin
 * directories, the syscall names, reading and printing tables. None of it is
 * the lesson: you can skip it. statecache.c calls what is declared here, and
 * support.c calls back the lesson's read_counters() and sum_cpus().
 */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "lab.h"
#include "statecache.h"

/* Every run pins its maps in a directory of its own under PIN_BASE. */
#define PIN_BASE "/sys/fs/bpf/lab-06"

enum command { CMD_RUN, CMD_QUERY, CMD_TOP, CMD_CLEANUP };

struct options {
	enum command command;
	const char *name;          /* --name: the run's directory under PIN_BASE */
	bool name_given;           /* run: else its pid; query, top: else the only run */
	unsigned int interval;     /* run -i: seconds between tables, 0: at the end only */
	unsigned int top;          /* -n: processes in a table */
	unsigned int max_entries;  /* run -m: 0 keeps statecache.h's sizes */
	bool empty;                /* run --empty: the benchmark's baseline program */
	__u32 pid;                 /* query --pid */
};

/* Parse argv (subcommand and options; lab_parse_args for run). Exits 0 after
 * --help, 2 on bad usage. */
const struct options *parse_command_line(struct lab *lab, int argc, char **argv);

/* A run's pin directory and the paths of its two pins. */
struct pins {
	char dir[128];             /* PIN_BASE/NAME, NAME at most 64 bytes */
	char counts[144];
	char procs[144];
	char what[192];  /* for the ready line: what is traced, and where */
	int dir_fd;                /* held with an flock while the run lives */
};

/* run: create PIN_BASE/<name> and lock it (refuses a name in use, live or
 * stale). release_pins() removes the (empty) directory again. */
int claim_pins(struct pins *pins, const struct options *o);
void release_pins(struct pins *pins);

/* query and top: open the pins of the named run, or of the only run. */
int open_pins(const struct options *o, int *counts_fd, int *procs_fd);
void close_pins(int counts_fd, int procs_fd);

/* One counter of counts, summed over the CPUs. */
struct counter {
	struct count_key key;
	__u64 calls;
};

/* From statecache.c, the lesson. */
long read_counters(int fd, struct count_key *keys, __u64 *values, __u32 room);
__u64 sum_cpus(const __u64 *values);

/* The number of possible CPUs: how many values a lookup in counts returns. */
int lab_ncpus(void);

/* Kernels before 5.6 have no batch lookups: read_counters()'s fallback. */
long read_counters_by_key(int fd, struct count_key *keys, __u64 *values, __u32 room);

/* "proc ..." and one "syscall ..." line per counter, most calls first. */
void print_query(__u32 pid, const struct proc *rec, struct counter *found, size_t n);

/* lab-06 top, lab-06 cleanup: the exit status. */
int cmd_top_or_cleanup(const struct options *o);

/* run: which programs load (--empty: only the baseline); the table every
 * --interval; after detach, the final table and the summary. */
struct statecache_bpf;
void choose_programs(struct statecache_bpf *skel, bool empty);
int show_table(int counts_fd, int procs_fd, unsigned int k);
int report(struct statecache_bpf *skel, const struct options *o, bool quiet);

#endif /* SUPPORT_H */
