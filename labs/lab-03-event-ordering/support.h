/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 03's support code: what lifecycle.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>

#include "lab.h"
#include "lifecycle.h"
#include "lifecycle.skel.h"

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	bool use_ring;              /* --buffer ring */
	bool reorder;               /* off with --no-reorder or --buffer ring */
	unsigned int reorder_us;    /* --reorder-us: the reorder window */
	unsigned int pages;         /* --pages: perf ring size per CPU */
	unsigned long ring_size;    /* --ring-size: the ring buffer, in bytes */
	bool stats;                 /* --stats: the delay figures at the end */
	int lag_cpu;                /* --lag-cpu (checker): -1, or a ring read only by the drain */
	bool probe;                 /* --probe (checker): lab_probe runs between two ring reads */
	bool reorder_us_given, pages_given, ring_size_given, lag_cpu_given;
};

/* Parse argv: the common options into lab->opt, the lab's into the result.
 * Exits 0 after --help, 2 after a usage error. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* The two buffers; one of them is open. */
struct buffer {
	struct perf_buffer *perf;   /* --buffer perf */
	struct ring_buffer *ring;   /* --buffer ring */
};

/* Before load: the buffer chosen, the ring's size, the exit test the kernel
 * allows, and the flush program only for a perf buffer. */
int configure(struct lifecycle_bpf *skel);

/* Sleep until a ring has data, a signal arrives, or timeout_us pass (epoll
 * on the buffer's epoll fd; nothing is read). 0, or a negative error. */
int wait_for_records(struct buffer *b, long long timeout_us);

/* Read every ring to its end, whatever epoll reported (with --lag-cpu, all
 * but that CPU's; with --probe, lab_probe writes a record on CPU 0 and then
 * on CPU 1 once ring 0 is read). 0, or a negative error. */
int read_every_ring(struct buffer *b);

/* How long the next wait may sleep: until the oldest record held, stamped
 * oldest_ts, is due (window_ns after it), and LAB_POLL_MS at most. */
long long poll_timeout_us(bool holding, unsigned long long oldest_ts, unsigned long long window_ns);

/* One event line on stdout (none with -q); with --stats, also notes how
 * long after its stamp the record is printed. */
void print_event(const struct event *e);

/* With --stats: a record held since arrived_ns (lab_now_ns()) leaves the
 * reorder stage now. */
void note_hold(unsigned long long arrived_ns);

/* With --stats: "stats: ..." on stderr: the delays from stamp to print, and
 * the time records were held in the reorder stage. */
void print_stats(void);

#endif /* SUPPORT_H */
