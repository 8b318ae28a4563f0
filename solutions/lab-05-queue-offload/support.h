/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Lab 05's support code: what offload.c uses but is not the lesson. */
#ifndef SUPPORT_H
#define SUPPORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lab.h"
#include "offload.h"

#define MAX_WORKERS 64

enum on_full { ON_FULL_DROP, ON_FULL_BLOCK };

/* The lab's own options; the common ones (-p, -d, -q, ...) are in lab->opt. */
struct options {
	bool inline_mode;        /* --inline: process in the callback, no queue */
	unsigned int queue_size; /* --queue-size: records the queue holds */
	unsigned int workers;    /* --workers: worker threads (0 with --inline) */
	enum on_full on_full;    /* --on-full drop|block */
	unsigned int work_us;    /* --work-us: busy work per record */
	bool hold_workers;       /* --hold-workers: workers take nothing at first */
	unsigned long ring_size; /* --ring-size: bytes */
	bool queue_size_given;   /* these three only make sense with a queue: */
	bool workers_given;      /* --inline refuses them */
	bool on_full_given;
};

/* Parse argv: the common options into lab->opt, the lab's into the result.
 * Exits 0 after --help, 2 after a usage error. */
const struct options *parse_options(struct lab *lab, int argc, char **argv);

/* The expensive part of a record: its latency noted (now - r->ts, queue time
 * included: lab_latency_note()), --work-us of busy work (spinning on the
 * clock: real processing costs CPU time), then one line unless -q:
 * record seq=N pid=N tid=N worker=W (worker 0: the reader, --inline). */
void process_record(const struct record *r, unsigned int worker);

/* lab_should_stop(), but cheap enough to ask once per record: a signal is
 * seen at once, the rest (a system call) at most every LAB_POLL_MS. */
bool stop_requested(const struct lab *lab);

/* A condition variable whose timed waits take their deadline on
 * CLOCK_MONOTONIC, which a change of the wall clock cannot move. */
void cond_init_monotonic(pthread_cond_t *cond);

/* The CLOCK_MONOTONIC time ms milliseconds from now, for such a wait. */
struct timespec deadline_after_ms(unsigned int ms);

struct worker {
	pthread_t thread;
	unsigned int id;              /* 1..W: worker=W in the record lines */
	bool running;
	unsigned long long processed; /* this worker's own count, read after the join */
};

/* Start opts->workers threads, each running worker_main(its struct worker).
 * They block SIGINT, SIGTERM and SIGCHLD, so that those always reach the main
 * thread and cut its ring_buffer__poll() short. On failure the threads
 * already started keep running: join them as usual. */
int start_workers(void *(*worker_main)(void *));

/* Wait for every started worker to return; the sum of their `processed`.
 * On Ctrl-C meanwhile, call on_ctrl_c() (if not NULL), every LAB_POLL_MS
 * while they still run: it must make them leave. */
unsigned long long join_workers(void (*on_ctrl_c)(void));

/* Print the summary line (with the latency of the processed records: call
 * it once the workers are joined), then check that every record produced was
 * counted exactly once; -1 with a message if not. */
int report(unsigned long long produced, unsigned long long dropped, unsigned long long received,
	   unsigned long long queue_drops, unsigned long long processed, size_t max_queue_depth);

#endif /* SUPPORT_H */
