/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 09's support code: what recorder.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "lab.h"
#include "recorder.h"

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	unsigned int pages; /* -P, --pages: data pages per CPU ring, a power of two */
	unsigned int last;  /* --last: print the newest K records of a dump (0: all) */
};

/* lab_parse_args() with lab 09's options: fills *opts, which holds the
 * defaults. Exits 0 after --help, 2 after a usage error. */
void parse_args(struct lab *lab, struct options *opts, int argc, char **argv);

/* SIGUSR1 asks for a dump. Call after lab_fork_held_command(): SIGUSR1 is
 * blocked except while wait_for_trigger() waits, and a blocked signal would
 * be inherited by the command. */
void install_dump_trigger(void);

/* Wait up to timeout_ms for SIGUSR1 (Ctrl-C or the command's end cut the
 * wait short too). True if a SIGUSR1 came since the last call. */
bool wait_for_trigger(int timeout_ms);

/* What one dump read: every CPU's window, then what the dump prints. */
struct window {
	unsigned int records;     /* samples read from this CPU's ring */
	unsigned long long lost;  /* lost counts of its PERF_RECORD_LOST records */
	const char *end;          /* why the walk stopped: "wrapped", "unwritten" */
};

struct dump {
	unsigned int number;      /* 1, 2, ...: the dump=N of the lines */
	struct event *events;     /* every CPU's window, appended */
	size_t n, cap;
	int ncpus;
	struct window *window;    /* [ncpus] */
	unsigned long long printed;
};

/* Room for ncpus windows of data_size bytes each. */
int dump_init(struct dump *d, int ncpus, size_t data_size);
void dump_free(struct dump *d);
/* Start a new dump: forget the last one's records. */
void dump_begin(struct dump *d);
/* One sample of `cpu`'s window. */
void dump_add(struct dump *d, int cpu, const struct event *e);

/* The dump's lines: "dump n=.. reason=.. records=.. printed=.. lost=..", one
 * "window cpu=.. records=.. lost=.. end=.." per CPU, then one
 * "record cpu=.. seq=.. ts=.. pid=.." for each of d->events[first..n). */
void print_dump(struct dump *d, const char *reason, size_t first, bool quiet);

/* qsort() order of two events: by ts, then cpu, then seq. */
int by_time(const void *a, const void *b);

/* From the per-CPU map `seqs`: the records every CPU produced, in total and
 * as "N,N,..." (one per possible CPU). */
unsigned long long read_produced(const struct bpf_map *seqs, char *by_cpu, size_t size);

#endif /* SUPPORT_H */
