/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 08's support code: what shards.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "lab.h"
#include "shards.h"
#include "shards.skel.h"

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	unsigned int rings;      /* --rings: 1 .. min(MAX_RINGS, CPUs); default one per CPU */
	unsigned long ring_size; /* --ring-size: bytes, each ring */
	unsigned int window_us;  /* --window-us: how long a record waits for older ones */
};

/* Parse argv: the common options into lab->opt, the lab's into the result.
 * Exits 0 after --help, 2 after a usage error. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* Records read from one ring and not printed yet, oldest first: a growing
 * circular array. A ring that several CPUs share may hand them over slightly
 * out of stamp order (two CPUs stamp, then submit, in either order), so
 * queue_push() inserts from the newest end, keeping the queue sorted. */
struct queue {
	struct event *ev;
	size_t first, len, cap;
};

/* 0, or -ENOMEM. */
int queue_push(struct queue *q, const struct event *e);
/* The oldest record held, or NULL when the queue is empty. */
const struct event *queue_head(const struct queue *q);
/* Take out the oldest record (the queue must not be empty). */
struct event queue_pop(struct queue *q);

/* What shards.c keeps for each ring. */
struct ring_state {
	int fd;                      /* the ring buffer map (0: not made yet) */
	struct queue held;           /* read, not printed yet: the ring's stream */
	unsigned long long received; /* records read from this ring */
};

/* A ring buffer record: check its size, copy it into *e (aligned), and note
 * its delay from stamp to user space for the summary's lat_* keys. False if
 * it is too short to be a struct event. */
bool take_record(const void *data, size_t size, struct event *e);

/* How long the next epoll_wait() may sleep: until the oldest record held is
 * due (window_ns after its stamp), LAB_POLL_MS at most. */
int poll_timeout_ms(const struct ring_state *rings, unsigned int n, unsigned long long window_ns);

/* The ready line's "<what>": "getpgid (CPU c into ring c % N)". */
const char *ready_what(unsigned int rings);

/* One event line on stdout (none with -q):
 * event ring=R cpu=C ts=NS seq=S pid=P tid=T */
void print_event(const struct event *e, unsigned int ring);

/* The summary: rings=N received=N dropped=N late=N, then receivedR= and
 * droppedR= for each ring R (dropped from the program's dropped[]), then
 * the latency keys. */
void print_summary(const struct shards_bpf *skel, const struct ring_state *rings,
		   unsigned int n, unsigned long long late);

/* Close every ring made and free what the queues hold. */
void free_rings(struct ring_state *rings, unsigned int n);

#endif /* SUPPORT_H */
