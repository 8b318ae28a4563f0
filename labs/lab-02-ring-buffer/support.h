/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 02's support code: what execsnoop.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	unsigned long ring_size; /* --ring-size: bytes, one ring for all CPUs */
	const char *path_prefix; /* --path-prefix: "" keeps every exec */
};

/* Parse argv: the common options into lab->opt, the lab's into the result.
 * Exits 0 after --help, 2 after a usage error. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* Hand --path-prefix to the BPF program: read-only data, so before load. */
void set_path_prefix(struct execsnoop_bpf *skel, const char *prefix);

/* One event line on stdout, flushed at once:
 * execve pid=N tid=N comm="..." file="..." */
void print_event(const struct event *e);

#endif /* SUPPORT_H */
