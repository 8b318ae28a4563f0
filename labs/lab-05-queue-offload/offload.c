// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lab 05, user side: a reader that only moves records from the BPF ring
 * buffer into a bounded queue, and worker threads that do the expensive part.
 *
 *   ring buffer ──► reader (main thread) ──► queue (--queue-size) ──► workers 1..W
 *                   handle_record(): copy,     bounded, FIFO           process_record()
 *                   drop or wait when full
 *
 * With --inline there is no queue: the reader processes each record itself,
 * inside the ring buffer callback.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "offload.h"
#include "offload.skel.h"

#define MAX_WORKERS 64

enum on_full { ON_FULL_DROP, ON_FULL_BLOCK };

static struct lab lab;

/* options */
static bool inline_mode;                 /* --inline: process in the callback */
static unsigned int queue_size = 4096;   /* records the queue holds */
static unsigned int nworkers = 1;
static enum on_full on_full = ON_FULL_DROP;
static unsigned int work_us;             /* busy work per record */
static bool hold_workers;                /* workers take nothing before the end */
static unsigned int ring_size = 256 * 1024;
static bool queue_option_given;          /* --queue-size, --workers, --on-full or --hold-workers */

/* counters of the reader (main thread only) */
static unsigned long long received;        /* records read from the ring */
static unsigned long long queue_drops;     /* received, then dropped: never processed */
static unsigned long long inline_processed;

/* ---- the queue ------------------------------------------------------------ */

/*
 * A bounded FIFO of record copies: a fixed array used as a ring, and one
 * mutex over all of it. Workers sleep on not_empty while there is nothing to
 * take; the reader sleeps on not_full while there is no room (--on-full
 * block). Whoever changes `count` signals the other side's condition.
 */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty; /* a record arrived, or the queue was released or closed */
	pthread_cond_t not_full;  /* a record left, or the queue was closed */
	struct record *slots;
	size_t capacity;
	size_t head;              /* slot of the oldest record */
	size_t count;             /* records in the queue */
	size_t max_count;         /* the largest count seen: max_queue_depth */
	bool held;                /* --hold-workers: workers take nothing yet */
	bool closed;              /* no record will be added any more */
};

enum push_result { PUSHED, FULL, CLOSED };

static struct queue queue;

static int queue_init(struct queue *q, size_t capacity, bool held)
{
	pthread_condattr_t attr;

	memset(q, 0, sizeof(*q));
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (!q->slots) {
		lab_error("cannot allocate a queue of %zu records", capacity);
		return -1;
	}
	q->capacity = capacity;
	q->held = held;
	pthread_mutex_init(&q->lock, NULL);
	/* the reader's wait for room has a deadline on the monotonic clock,
	 * which a change of the wall clock cannot move */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_full, &attr);
	pthread_condattr_destroy(&attr);
	pthread_cond_init(&q->not_empty, NULL);
	return 0;
}

static void queue_destroy(struct queue *q)
{
	if (!q->slots)
		return;
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	q->slots = NULL;
}

static struct timespec deadline_after_ms(unsigned int ms)
{
	long long at = lab_now_ns() + ms * 1000000LL;

	return (struct timespec){ .tv_sec = at / 1000000000LL, .tv_nsec = at % 1000000000LL };
}

/*
 * Add a copy of *r at the tail. If the queue is full, wait up to wait_ms for
 * a worker to make room (0: do not wait). PUSHED, FULL (still no room), or
 * CLOSED (the queue takes nothing any more).
 */
static enum push_result queue_push(struct queue *q, const struct record *r, unsigned int wait_ms)
{
	enum push_result result;

	/* TODO(05.3): all of it with q->lock held (pthread_mutex_lock/unlock):
	 * the reader and every worker read and change count and head. While the
	 * queue is full (count == capacity) and not closed, and wait_ms > 0,
	 * sleep on not_full with pthread_cond_timedwait() until
	 * deadline_after_ms(wait_ms) (computed once, before the loop): it
	 * releases the lock while it sleeps, and a wakeup is only a hint, so test
	 * the condition again after each one; stop at ETIMEDOUT. Then: closed ->
	 * CLOSED; still full -> FULL; else store *r in slot (head + count) %
	 * capacity, count++, keep max_count, wake one worker with
	 * pthread_cond_signal(&q->not_empty), and PUSHED. */
	(void)q;
	(void)r;
	(void)wait_ms;
	(void)deadline_after_ms;
	result = CLOSED; /* nothing is ever queued */
	/* END TODO(05.3) */
	return result;
}

/*
 * Take the oldest record into *r, sleeping while there is none to take.
 * Returns false once the queue is closed and empty: the worker's cue to leave.
 */
static bool queue_pop(struct queue *q, struct record *r)
{
	bool took = false;

	/* TODO(05.4): all of it with q->lock held. While the queue is not closed
	 * and either held or empty, sleep with pthread_cond_wait(&q->not_empty,
	 * &q->lock): no spinning, the thread costs nothing while it waits, and
	 * the condition is tested again after every wakeup (another worker may
	 * have taken the record first). Then, if count > 0: copy slot head into
	 * *r, advance head (modulo capacity), count--, wake the reader with
	 * pthread_cond_signal(&q->not_full), and set took. A closed queue is no
	 * longer held: workers drain it. */
	(void)q;
	(void)r; /* nothing is ever taken */
	/* END TODO(05.4) */
	return took;
}

/* --hold-workers ends: wake every worker to look again. */
static void queue_release(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->held = false;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/*
 * No more records: workers take what is left, then their queue_pop() returns
 * false. Every sleeper must wake to see `closed`, hence broadcast, not signal.
 */
static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

/* Close the queue and throw away what it holds; returns how many records. */
static size_t queue_abandon(struct queue *q)
{
	size_t left;

	pthread_mutex_lock(&q->lock);
	left = q->count;
	q->count = 0;
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return left;
}

/* ---- processing: the expensive part -------------------------------------- */

/*
 * What a real tool does per event (decode, enrich, match rules, print),
 * stood in for by --work-us of busy work: spinning on the clock, not
 * sleeping, because that cost is CPU time. Then one line, unless -q.
 */
static void process_record(const struct record *r, unsigned int worker)
{
	if (work_us) {
		long long until = lab_now_ns() + work_us * 1000LL;

		while (lab_now_ns() < until)
			;
	}
	if (!lab.opt.quiet) /* one printf per line: stdio locks the stream per call */
		printf("record seq=%llu pid=%d tid=%d worker=%u\n", r->seq, r->pid, r->tid, worker);
}

struct worker {
	pthread_t thread;
	unsigned int id;              /* 1..W; worker=0 in the output is the reader (--inline) */
	bool running;
	unsigned long long processed; /* written by this worker only, read after the join */
};

static struct worker workers[MAX_WORKERS];

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct record r;

	while (queue_pop(&queue, &r)) {
		process_record(&r, w->id);
		w->processed++;
	}
	return NULL;
}

/*
 * The workers block the stop signals and SIGCHLD, so that those always reach
 * the main thread and cut its ring_buffer__poll() short.
 */
static int start_workers(void)
{
	sigset_t stop_signals, old;
	int err = 0;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old); /* inherited by new threads */
	for (unsigned int i = 0; i < nworkers && !err; i++) {
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

/* Wait for the workers to leave; they do once the queue is closed. */
static void join_workers(void)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		if (workers[i].running) {
			pthread_join(workers[i].thread, NULL);
			workers[i].running = false;
		}
	}
}

/* ---- the reader ------------------------------------------------------------ */

/* Ctrl-C: stop at once. What the queue holds is counted, not processed. */
static void abandon_queue(void)
{
	queue_drops += queue_abandon(&queue);
}

/* On any way out: what is still queued is counted, and no worker outlives
 * the queue. Harmless after finish(): the queue is then closed and empty. */
static void stop_workers(void)
{
	if (queue.slots)
		abandon_queue();
	join_workers();
}

/*
 * Hand one record to the workers. Returns false if it was dropped.
 * This runs inside ring_buffer__poll(), on the main thread.
 */
static bool offer(const struct record *r)
{
	/* TODO(05.5): the full-queue policy. --on-full drop: one
	 * queue_push(&queue, r, 0), which never waits: PUSHED or dropped. --on-full
	 * block: queue_push(&queue, r, LAB_POLL_MS) until it is no longer FULL
	 * (CLOSED means dropped). Between tries look at what the poll loop would
	 * have seen, since the reader is stuck here: lab_interrupted() (Ctrl-C):
	 * abandon_queue(), so the next push says CLOSED at once; else
	 * lab_should_stop(&lab) (the command is over): queue_release(&queue), so
	 * workers held by --hold-workers start making room. */
	(void)r;
	(void)queue_push;
	(void)queue_release;
	return false; /* every record is dropped */
	/* END TODO(05.5) */
}

/* ring_buffer__poll() and __consume() call this once per record. */
static int handle_record(void *ctx, void *data, size_t size)
{
	const struct record *r = data;

	(void)ctx;
	(void)size;
	/* TODO(05.6): count the record in `received`. With --inline
	 * (inline_mode), process it right here, process_record(r, 0), and count it
	 * in inline_processed: the kernel's ring waits meanwhile. Otherwise
	 * offer() it to the workers, and count it in queue_drops if that fails.
	 * The record lives in the ring only until this callback returns, which is
	 * why the queue keeps copies. */
	(void)r; /* nothing is counted */
	(void)offer;
	/* END TODO(05.6) */
	return 0;
}

static int poll_records(struct ring_buffer *rb)
{
	while (!lab_should_stop(&lab)) {
		int err = ring_buffer__poll(rb, LAB_POLL_MS);

		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot poll the ring buffer");
			return err;
		}
	}
	return 0;
}

/*
 * The end of the run. main() has detached the programs, so nothing is added
 * to the ring any more and the counts can become final.
 */
static int finish(struct ring_buffer *rb)
{
	int err;

	/* TODO(05.7): the shutdown, in this order. After Ctrl-C
	 * (lab_interrupted()), abandon_queue() first: stop now, count what is
	 * queued. Then drain the ring with ring_buffer__consume(rb) (negative:
	 * an error, say so with lab_error_errno): every record left in it goes
	 * through handle_record(), to the queue or to queue_drops. Then
	 * queue_close(&queue), so the workers finish what is queued and leave,
	 * and join_workers(): their counts are final once they have left. */
	lab_todo("05.7", "the run has no end: nothing drains the ring or closes the queue");
	(void)rb;
	(void)queue_close;
	err = -ENOSYS;
	/* END TODO(05.7) */
	return err < 0 ? err : 0;
}

/* ---- options ---------------------------------------------------------------- */

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

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_INLINE:
		inline_mode = true;
		return 0;
	case OPT_QUEUE_SIZE:
		queue_size = lab_parse_uint(state, "--queue-size", arg, 1, 1 << 24);
		queue_option_given = true;
		return 0;
	case OPT_WORKERS:
		nworkers = lab_parse_uint(state, "--workers", arg, 1, MAX_WORKERS);
		queue_option_given = true;
		return 0;
	case OPT_ON_FULL:
		if (!strcmp(arg, "drop"))
			on_full = ON_FULL_DROP;
		else if (!strcmp(arg, "block"))
			on_full = ON_FULL_BLOCK;
		else
			lab_usage_error(state, "--on-full takes drop or block, got '%s'", arg);
		queue_option_given = true;
		return 0;
	case OPT_WORK_US:
		work_us = lab_parse_uint(state, "--work-us", arg, 0, 1000000);
		return 0;
	case OPT_HOLD_WORKERS:
		hold_workers = true;
		queue_option_given = true;
		return 0;
	case OPT_RING_SIZE:
		ring_size = lab_parse_ring_size(state, arg);
		return 0;
	case ARGP_KEY_END:
		if (inline_mode && queue_option_given)
			lab_usage_error(state, "--inline has no queue and no workers: "
					"drop --queue-size, --workers, --on-full and --hold-workers");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.doc = "Lab 05: trace getpgid() through a ring buffer, and process the records on "
	       "worker threads behind a bounded queue.",
};

/* ---- main ------------------------------------------------------------------- */

static unsigned long long processed_total(void)
{
	unsigned long long total = inline_processed;

	for (unsigned int i = 0; i < nworkers; i++)
		total += workers[i].processed;
	return total;
}

/* Every record produced is processed or dropped somewhere, once: check it. */
static int check_accounts(unsigned long long produced, unsigned long long kernel_drops,
			  unsigned long long processed)
{
	unsigned long long accounted = processed + queue_drops + kernel_drops;

	if (produced == accounted)
		return 0;
	lab_error("the counts do not add up: produced=%llu but processed + queue_drops + "
		  "kernel_drops = %llu (received=%llu): a record was lost without being counted, "
		  "or counted twice", produced, accounted, received);
	return -1;
}

int main(int argc, char **argv)
{
	struct offload_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	unsigned long long processed;
	int err = -1;

	lab_parse_args(&lab, "lab-05", &argp, argc, argv);
	if (inline_mode)
		nworkers = 0;
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_RINGBUF | LAB_NEED_ATOMIC_FETCH) || lab_fork_held_command(&lab))
		goto out;
	if (queue_init(&queue, queue_size, hold_workers))
		goto out;

	skel = offload_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	if (lab_expect_map_type(skel->maps.records, BPF_MAP_TYPE_RINGBUF, "05.1"))
		goto out;
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	bpf_map__set_max_entries(skel->maps.records, ring_size);
	err = offload_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	err = offload_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.records), handle_record, NULL, NULL);
	if (!rb) {
		err = -errno;
		lab_error_errno(errno, "cannot open the ring buffer");
		goto out;
	}
	err = start_workers();
	if (!err)
		err = lab_seed_ready_release(&lab, skel->obj, "getpgid");
	if (err)
		goto out;

	lab_stall(&lab);
	err = poll_records(rb);
	/* detach, then wait out the runs in flight: no new records from here
	 * on, so the counts can become final */
	offload_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = finish(rb);
	stop_workers();
	processed = processed_total();
	lab_summary("produced=%llu received=%llu kernel_drops=%llu queue_drops=%llu "
		    "processed=%llu max_queue_depth=%zu",
		    skel->bss->produced, received, skel->bss->kernel_drops, queue_drops,
		    processed, queue.max_count);
	if (!err)
		err = check_accounts(skel->bss->produced, skel->bss->kernel_drops, processed);
out:
	stop_workers();
	ring_buffer__free(rb);
	offload_bpf__destroy(skel);
	queue_destroy(&queue);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
