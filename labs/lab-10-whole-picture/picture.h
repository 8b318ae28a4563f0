/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The record of lab 10's own tracer (lab-10 record-size): a getpgid() call,
 * sent with a size chosen before load, to measure the rate against the
 * record size (the benchmark's plot 4). */
#ifndef PICTURE_H
#define PICTURE_H

#define MIN_RECORD 16
#define MAX_RECORD 4096

/* Only ts is written; the rest is the payload whose size is measured. */
struct record {
	unsigned long long ts; /* bpf_ktime_get_ns() */
	unsigned char payload[MAX_RECORD - 8];
};

#endif /* PICTURE_H */
