/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 07's support code: options, printing (events, summary), arithmetic. Not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include "lab.h"
#include "execsnoop.h"

enum buffer { BUFFER_AUTO, BUFFER_RING, BUFFER_PERF };

struct options {
	enum buffer buffer;      /* --buffer: auto (probe the kernel), ring or perf */
	unsigned long memory;    /* --memory: bytes for the buffer, whichever it is */
	bool assume_no_ringbuf;  /* --assume-no-ringbuf: the probe answers "no" */
};

/* lab_parse_args() with lab 07's options: fills *opts, which holds the
 * defaults. Exits 2 on bad usage. */
void parse_args(struct lab *lab, struct options *opts, int argc, char **argv);

/* The largest power of two <= x, for x >= 1 (0 for 0). */
unsigned long round_down_pow2(unsigned long x);

/* "execve pid=.. tid=.. comm=".." file=".."" on stdout. */
void print_event(const struct event *e);

/* The ready line's "<what>": "execve through <title> (<why>)". */
const char *ready_what(const char *title, const char *why);

/* The summary line: "buffer=.. received=.. lost=.. dropped=.. memory=..", then
 * lab_latency_keys()' " lat_p50_us=.. lat_p99_us=.. lat_max_us=.." (none
 * when nothing was received). Call it once, after the final drain. */
void print_summary(const char *buffer, unsigned long long received, unsigned long long lost,
		   unsigned long long dropped, unsigned long memory);

#endif /* SUPPORT_H */
