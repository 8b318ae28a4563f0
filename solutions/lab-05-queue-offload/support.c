// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 05's support code (see support.h): options, the busy work, the record
 * lines and the latency, the worker threads, the summary. Not the lesson. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "support.h"

static const struct lab *the_lab;

static struct options opts = {
	.queue_size = 4096,
	.workers = 1,
	.on_full = ON_FULL_DROP,
	.ring_size = 256 * 1024,
};

enum {
	OPT_INLINE = 0x200,
	OPT_QUEUE_SIZE,
	OPT_WORKERS,
	OPT_ON_FULL,
	OPT_WORK_US,
	OPT_HOLD_WORKERS,
	OPT_RING_SIZE,
};

static const struct argp_option options[] = {
	{ "inline", OPT_INLINE, NULL, 0, "process each record in the ring buffer callback: no queue, no workers", 0 },
	{ "queue-size", OPT_QUEUE_SIZE, "N", 0, "records the queue holds (default 4096)", 0 },
	{ "workers", OPT_WORKERS, "W", 0, "worker threads, 1 to 64 (default 1)", 0 },
	{ "on-full", OPT_ON_FULL, "drop|block", 0,
	  "when the queue is full: drop the record and count it (default), or wait for room", 0 },
	{ "work-us", OPT_WORK_US, "U", 0, "busy work per record, in microseconds (default 0)", 0 },
	{ "hold-workers", OPT_HOLD_WORKERS, NULL, 0,
	  "workers take nothing before the command has exited and the ring is drained "
	  "(with --on-full block: before the reader has to wait for room after that)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "BPF ring buffer size, a power of two of at least a page (default 262144)", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_INLINE:
		opts.inline_mode = true;
		return 0;
	case OPT_QUEUE_SIZE:
		opts.queue_size = lab_parse_uint(state, "--queue-size", arg, 1, 1 << 24);
		opts.queue_size_given = true;
		return 0;
	case OPT_WORKERS:
		opts.workers = lab_parse_uint(state, "--workers", arg, 1, MAX_WORKERS);
		opts.workers_given = true;
		return 0;
	case OPT_ON_FULL:
		if (!strcmp(arg, "drop"))
			opts.on_full = ON_FULL_DROP;
		else if (!strcmp(arg, "block"))
			opts.on_full = ON_FULL_BLOCK;
		else
			lab_usage_error(state, "--on-full takes drop or block, got '%s'", arg);
		opts.on_full_given = true;
		return 0;
	case OPT_WORK_US:
		opts.work_us = lab_parse_uint(state, "--work-us", arg, 0, 1000000);
		return 0;
	case OPT_HOLD_WORKERS:
		opts.hold_workers = true;
		return 0;
	case OPT_RING_SIZE:
		opts.ring_size = lab_parse_ring_size(state, arg);
		return 0;
	case ARGP_KEY_END:
		if (opts.inline_mode && (opts.queue_size_given || opts.workers_given || opts.on_full_given ||
					 opts.hold_workers))
			lab_usage_error(state, "--inline has no queue and no workers: "
					"drop --queue-size, --workers, --on-full and --hold-workers");
		if (opts.inline_mode)
			opts.workers = 0;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = options,
	.parser = parse_option,
	.doc = "Lab 05: trace getpgid() through a ring buffer, and process the records on "
	       "worker threads behind a bounded queue.",
};

const struct options *parse_options(struct lab *lab, int argc, char **argv)
{
	lab_parse_args(lab, "lab-05", &argp, argc, argv);
	the_lab = lab;
	return &opts;
}

void process_record(const struct record *r, unsigned int worker)
{
	/* handled now: its wait since the kernel's stamp, queue included */
	lab_latency_note(r->ts);
	if (opts.work_us) {
		long long until = lab_now_ns() + opts.work_us * 1000LL;

		while (lab_now_ns() < until)
			;
	}
	if (the_lab->opt.quiet)
		return;
	/* one printf per line (stdio locks the stream per call), and out at once */
	printf("record seq=%llu pid=%d tid=%d worker=%u\n", r->seq, r->pid, r->tid, worker);
	fflush(stdout);
}

bool stop_requested(const struct lab *lab)
{
	static long long next_look_ns; /* the reader's (main thread) only */
	long long now;

	if (lab_interrupted())
		return true;
	now = lab_now_ns();
	if (now < next_look_ns)
		return false;
	next_look_ns = now + LAB_POLL_MS * 1000000LL;
	return lab_should_stop(lab);
}

void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

struct timespec deadline_after_ms(unsigned int ms)
{
	long long at = lab_now_ns() + ms * 1000000LL;

	return (struct timespec){ .tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL };
}

static struct worker workers[MAX_WORKERS];

int start_workers(void *(*worker_main)(void *))
{
	sigset_t stop_signals, old;
	int err = 0;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old); /* inherited by new threads */
	for (unsigned int i = 0; i < opts.workers && !err; i++) {
		workers[i].id = i + 1;
		err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err)
			lab_error_errno(err, "cannot start worker %u", i + 1);
		else
			workers[i].running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err ? -1 : 0;
}

/* pthread_timedjoin_np() takes its deadline on CLOCK_REALTIME */
static struct timespec realtime_after_ms(unsigned int ms)
{
	struct timespec now;
	long long at;

	clock_gettime(CLOCK_REALTIME, &now);
	at = now.tv_sec * 1000000000LL + now.tv_nsec + ms * 1000000LL;
	return (struct timespec){ .tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL };
}

unsigned long long join_workers(void (*on_ctrl_c)(void))
{
	unsigned long long processed = 0;

	for (unsigned int i = 0; i < opts.workers; i++) {
		if (!workers[i].running)
			continue;
		for (;;) {
			struct timespec at = realtime_after_ms(LAB_POLL_MS);

			if (pthread_timedjoin_np(workers[i].thread, NULL, &at) != ETIMEDOUT)
				break;
			if (on_ctrl_c && lab_interrupted())
				on_ctrl_c();
		}
		workers[i].running = false;
		processed += workers[i].processed;
	}
	return processed;
}

int report(unsigned long long produced, unsigned long long dropped, unsigned long long received,
	   unsigned long long queue_drops, unsigned long long processed, size_t max_queue_depth)
{
	unsigned long long accounted = processed + queue_drops + dropped;

	/* the workers are joined: no more latency notes */
	lab_summary("received=%llu dropped=%llu produced=%llu queue_drops=%llu processed=%llu "
		    "max_queue_depth=%zu%s",
		    received, dropped, produced, queue_drops, processed, max_queue_depth,
		    lab_latency_keys());
	if (produced == accounted)
		return 0;
	lab_error("the counts do not add up: produced=%llu but processed + queue_drops + "
		  "dropped = %llu (received=%llu): a record was lost without being counted, "
		  "or counted twice", produced, accounted, received);
	return -1;
}
