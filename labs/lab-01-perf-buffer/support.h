/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 01's support code: what execsnoop.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>

#include "lab.h"
#include "execsnoop.h"

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	unsigned int pages;      /* -P, --pages: pages per CPU ring, a power of two */
	unsigned int empty_slot; /* --empty-slot: the CPU whose ring leaves `events` */
	bool empty_slot_given;
};

/* Parse argv: the common options into lab->opt, the lab's into the result.
 * Exits 0 after --help, 2 after a usage error. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* With --empty-slot CPU: delete that CPU's entry from the map `events`, so
 * bpf_perf_event_output() on that CPU fails with -ENOENT (counted in
 * `dropped`). Without it: nothing. */
int apply_empty_slot(const struct bpf_map *events);

/* One event line on stdout: execve pid=N tid=N comm="..." file="..." */
void print_event(const struct event *e);

#endif /* SUPPORT_H */
