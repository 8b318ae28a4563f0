/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 04's support code: options, printing, latency, the summary. Not the
 * lesson: the README's "Support code: you can skip it". */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>

#include "lab.h"
#include "wakeups.h"

struct options {
	unsigned int buffer;             /* --buffer: BUFFER_PERF, _RING or _NONE */
	unsigned int wakeup_events;      /* perf: wake the reader every N samples per CPU */
	unsigned int pages;              /* perf: pages per CPU, a power of two */
	unsigned long long wakeup_bytes; /* ring: wake it once B bytes wait; 0 = adaptive */
	unsigned long ring_size;         /* ring: bytes, a power of two */
	bool edge_triggered;             /* ring: our own epoll, EPOLLET, on the ring */
	bool raw_tp;                     /* none: the empty program on raw_tp/sys_enter */
	unsigned int poll_ms;            /* every ring is read at least this often */
	bool wakeup_events_given, pages_given, wakeup_bytes_given, ring_size_given;
};

/* lab_parse_args() with the lab's own options (parse_option() in support.c);
 * exits 2 on bad usage. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* What the run counted; the summary prints it. */
struct counts {
	unsigned long long received; /* records handled */
	unsigned long long lost;     /* perf: samples the kernel reported lost */
	unsigned long long wakeups;  /* polls that slept and returned records */
	unsigned long long polls;    /* poll calls in all */
	unsigned long long timeouts; /* polls that returned nothing after poll_ms */
};

/* The reading thread's voluntary context switches (each sleep is one) and CPU time. */
struct usage {
	long ctxsw;
	long long cpu_us;
};
struct usage usage_now(void);

/* A record reached user space: note its latency (kernel timestamp to now,
 * CLOCK_MONOTONIC both), print its line unless -q. */
void show_record(const struct lab *lab, const struct event *e);

/* "getpgid (64-page perf buffer, ...)": what the ready line says we trace. */
const char *describe(void);

/* summary: received=... lost=... dropped=... wakeups=... lat_p50_us=... */
void print_summary(const struct counts *c, unsigned long long dropped, struct usage start);

#endif /* SUPPORT_H */
