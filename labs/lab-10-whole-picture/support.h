/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 10's support code: options, reading the raw rows, grouping them,
 * printing the table and writing the plot data; and the record-size tracer.
 * Not the lesson: the README's "Support code: you can skip it". */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lab.h"

struct options {
	const char *out_dir;  /* -o: summary.md and the .dat files go here */
	const char *baseline; /* --baseline: the mechanism that is 100 % (default empty) */
};

/* lab_argp_parse() with the summarizer's options (parse_option() in support.c). */
const struct options *parse_options(int argc, char **argv);

/* The figures of one raw row, as bench.sh writes them ("key=value"). A "-"
 * (the lab does not report it) or a missing key is NAN: every sum, product
 * or ratio with it is NAN too, and NAN is printed as "-". */
enum key {
	K_PRODUCED,   /* events the workload made (the trigger's count) */
	K_RECEIVED,   /* records the reader handled ("-": nothing is delivered) */
	K_LOST,       /* perf: samples the kernel reported lost */
	K_DROPPED,    /* records the BPF program or the reader's queue dropped */
	K_SECONDS,    /* the workload's run time */
	K_RATE,       /* produced / seconds, events per second */
	K_MEM,        /* bytes of buffer memory mapped */
	K_WAKEUPS,    /* the reader's sleeps (voluntary context switches) */
	K_READER_CPU, /* reader_cpu_us: CPU time of the tracer's threads, in us */
	K_P50, K_P99, K_MAX, /* lat_*_us: kernel timestamp to user space, in us */
	K_COUNT
};

struct row {
	char mechanism[48]; /* "perf-1", "ring-adaptive", ... */
	char sweep[16];     /* main (the table), burst, latency, size */
	double param;       /* the sweep's x: bytes, records per wakeup... (NAN in main) */
	int run;            /* 1, 2, ...: rows of one run were measured together */
	unsigned int line;     /* where it was read, for messages */
	double v[K_COUNT];
};

/* Every row read, in input order. */
struct rows {
	struct row *row;
	size_t n;
};

/* Parse key=value lines: mechanism=, run= and produced= are required, sweep=
 * defaults to main. Fails with a message naming the line. */
int read_rows(FILE *in, struct rows *rows);

/* The row of mechanism in the given sweep, at param, from run `run`, or NULL. */
const struct row *find_row(const struct rows *rows, const char *sweep, const char *mechanism,
			   double param, int run);

/* The repeats of one measurement: the rows of one sweep, mechanism and param. */
struct group {
	const struct row **row;
	size_t n;
};

/* Group the rows (first appearance order); returns the number of groups. */
size_t group_rows(const struct rows *rows, struct group **groups);

/* A median and the range it comes from: n values (n == 0: none, all NAN). */
struct spread {
	double median, min, max;
	size_t n;
};

/* One line of the summary: a group, each figure over its runs. */
struct line {
	const struct row *first;
	size_t runs;
	size_t broken;         /* runs that break received + lost + dropped == produced */
	struct spread rate;    /* events/s */
	struct spread pct;     /* % of the baseline's rate in the same run */
	struct spread prod_ns; /* producer ns per event */
	struct spread read_ns; /* reader CPU ns per event */
	struct spread wakeups;
	struct spread mem;
	struct spread loss;    /* lost + dropped records */
	struct spread loss_fraction;
	struct spread p50, p99, max;
};

/* The raw figures as metrics over runs (see over_runs() in picture.c). */
static inline double rate_of(const struct row *r) { return r->v[K_RATE]; }
static inline double wakeups_of(const struct row *r) { return r->v[K_WAKEUPS]; }
static inline double mem_of(const struct row *r) { return r->v[K_MEM]; }
static inline double p50_of(const struct row *r) { return r->v[K_P50]; }
static inline double p99_of(const struct row *r) { return r->v[K_P99]; }
static inline double max_of(const struct row *r) { return r->v[K_MAX]; }

/* 0 for a figure the lab does not report (lost of a ring buffer). */
static inline double or_zero(double x) { return isnan(x) ? 0 : x; }

/* "lab-10: X (sweep S) run K, line N: received + lost + dropped != produced ..." */
void report_broken(const struct row *r);

/* The table on stdout and in DIR/summary.md; the plot data in DIR/main.dat
 * (one line per mechanism) and DIR/SWEEP.dat (one block per mechanism). */
int write_outputs(const struct options *o, const struct line *lines, size_t n);

/* lab-10 record-size [--record-size B] [--ring-size BYTES] [--wakeup-bytes B] [common options]:
 * the record-size sweep's tracer (picture.bpf.c). */
int record_size_main(int argc, char **argv);

#endif /* SUPPORT_H */
