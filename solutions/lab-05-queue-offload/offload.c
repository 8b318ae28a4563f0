// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lab 05, user side: a reader that only moves records from the ring buffer
 * into a bounded queue, and worker threads that do the expensive part:
 *   ring buffer ──► reader: handle_record() ──► queue ──► workers 1..W: process_record()
 * With --inline there is no queue: the reader processes each record itself.
 */
#include <errno.h>
#include <stdlib.h>

#include "lab.h"
#include "offload.h"
#include "offload.skel.h"
#include "support.h"

#define STOP_POLL (-ECANCELED) /* handle_record(): end a poll that records keep feeding */

static struct lab lab;
static const struct options *opts;
/* the reader's counts (main thread only), and the workers' once joined */
static unsigned long long received, queue_drops, processed;
static bool final_drain; /* drain_events() runs: take every record, stop for nothing */

/* A bounded FIFO of record copies: an array used as a ring, one mutex over
 * all of it. Workers sleep on not_empty while there is nothing to take; the
 * reader sleeps on not_full while there is no room (--on-full block). */
static struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty; /* a record arrived, or the queue was released or closed */
	pthread_cond_t not_full;  /* a record left, or the queue was closed */
	struct record *slots;
	size_t capacity;
	size_t head;              /* slot of the oldest record */
	size_t count;             /* records in the queue */
	size_t max_count;         /* the largest count seen: max_queue_depth */
	bool held;                /* --hold-workers: workers take nothing yet */
	bool closed;              /* nothing is added any more */
} queue;

enum push_result { PUSHED, FULL, CLOSED };

static int queue_init(struct queue *q, size_t capacity, bool held)
{
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (!q->slots) {
		lab_error("cannot allocate a queue of %zu records", capacity);
		return -1;
	}
	q->capacity = capacity;
	q->held = held;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	cond_init_monotonic(&q->not_full); /* see deadline_after_ms() */
	return 0;
}

/* Add a copy of *r at the tail; if the queue is full, wait up to wait_ms
 * (0: not at all) for room. PUSHED, FULL (still no room) or CLOSED. */
static enum push_result queue_push(struct queue *q, const struct record *r, unsigned int wait_ms)
{
	enum push_result result = CLOSED;

	/* TODO(05.3): under q->lock: wait on not_full while full (with a deadline,
	 * pthread_cond_timedwait); then CLOSED, FULL, or store at the tail, count,
	 * signal not_empty, PUSHED. README task 3. */
	pthread_mutex_lock(&q->lock);
	if (q->count == q->capacity && !q->closed && wait_ms) {
		struct timespec deadline = deadline_after_ms(wait_ms);

		while (q->count == q->capacity && !q->closed) {
			if (pthread_cond_timedwait(&q->not_full, &q->lock, &deadline) == ETIMEDOUT)
				break;
		}
	}
	if (q->closed) {
		result = CLOSED;
	} else if (q->count == q->capacity) {
		result = FULL;
	} else {
		q->slots[(q->head + q->count) % q->capacity] = *r;
		q->count++;
		if (q->count > q->max_count)
			q->max_count = q->count;
		pthread_cond_signal(&q->not_empty);
		result = PUSHED;
	}
	pthread_mutex_unlock(&q->lock);
	/* END TODO(05.3) */
	return result;
}

/* Take the oldest record, sleeping while there is none; false: closed and empty. */
static bool queue_pop(struct queue *q, struct record *r)
{
	bool took = false;

	/* TODO(05.4): under q->lock: wait on not_empty while not closed and held
	 * or empty; then take the head record, signal not_full. README task 4. */
	pthread_mutex_lock(&q->lock);
	while (!q->closed && (q->held || q->count == 0))
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->count > 0) {
		*r = q->slots[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->count--;
		pthread_cond_signal(&q->not_full);
		took = true;
	}
	pthread_mutex_unlock(&q->lock);
	/* END TODO(05.4) */
	return took;
}

/* --hold-workers ends (release), or nothing is added any more (close): every
 * sleeper wakes to look again. With discard, close returns how many it threw away. */
static void queue_release(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->held = false;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static size_t queue_close(struct queue *q, bool discard)
{
	size_t discarded;

	pthread_mutex_lock(&q->lock);
	discarded = discard ? q->count : 0;
	q->count -= discarded;
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return discarded;
}

/* Ctrl-C: stop now. What is queued is counted, not processed; later pushes say CLOSED. */
static void discard_queue(void)
{
	queue_drops += queue_close(&queue, true);
}

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

/* Hand one record to the workers; false if it was dropped. */
static bool offer(const struct record *r)
{
	enum push_result result = CLOSED;

	/* TODO(05.5): drop: one queue_push() that does not wait. block: until Ctrl-C,
	 * push with LAB_POLL_MS while FULL; on a stop, release held workers. README task 5. */
	if (opts->on_full == ON_FULL_DROP) {
		result = queue_push(&queue, r, 0);
	} else {
		while (!lab_interrupted() && (result = queue_push(&queue, r, LAB_POLL_MS)) == FULL) {
			if (!lab_interrupted() && lab_should_stop(&lab))
				queue_release(&queue);
		}
	}
	/* END TODO(05.5) */
	return result == PUSHED;
}

/* Once per record, from ring_buffer__poll() and __consume(); the queue keeps copies. */
static int handle_record(void *ctx, void *data, size_t size)
{
	const struct record *r = data;

	/* TODO(05.6): count it in received; --inline: process_record(r, 0), count it
	 * in processed; else offer() it, a refusal is a queue drop. README task 6. */
	received++;
	if (opts->inline_mode) {
		process_record(r, 0);
		processed++;
	} else if (!offer(r)) {
		queue_drops++;
	}
	/* END TODO(05.6) */

	/* TODO(05.7): once stop_requested(&lab), except in the final drain,
	 * return STOP_POLL: libbpf loops as long as records come. README task 7. */
	if (!final_drain && stop_requested(&lab))
		return STOP_POLL;
	/* END TODO(05.7) */
	return 0;
}

static struct ring_buffer *open_buffer(struct offload_bpf *skel)
{
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_record,
						  NULL, NULL);

	if (!rb)
		lab_error_errno(errno, "cannot open the ring buffer");
	return rb;
}

/* Until a stop: wait for records and read them. STOP_POLL is a stop too. */
static int poll_events(struct ring_buffer *rb)
{
	while (!lab_should_stop(&lab)) {
		int err = ring_buffer__poll(rb, LAB_POLL_MS);

		if (err < 0 && err != -EINTR && err != STOP_POLL) {
			lab_error_errno(err, "cannot poll the ring buffer");
			return err;
		}
	}
	return 0;
}

/* The final drain: every record left in the ring goes through handle_record(). */
static int drain_events(struct ring_buffer *rb)
{
	int err;

	final_drain = true;
	err = ring_buffer__consume(rb);
	if (err < 0)
		lab_error_errno(err, "cannot drain the ring buffer");
	return err < 0 ? err : 0;
}

/* The one shutdown, once the workers run and nothing is added to the ring. */
static int finish(struct ring_buffer *rb)
{
	int err;

	/* TODO(05.8): after Ctrl-C discard_queue(); drain the ring; close the queue;
	 * add join_workers(discard_queue) to processed. README task 8. */
	if (lab_interrupted())
		discard_queue();
	err = drain_events(rb);
	queue_close(&queue, false);
	processed += join_workers(discard_queue);
	/* END TODO(05.8) */
	return err;
}

int main(int argc, char **argv)
{
	struct offload_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_RINGBUF | LAB_NEED_ATOMIC_FETCH) ||
	    lab_fork_held_command(&lab))
		goto out;
	skel = offload_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	if (lab_expect_map_type(skel->maps.events, BPF_MAP_TYPE_RINGBUF, "05.1"))
		goto out;
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	bpf_map__set_max_entries(skel->maps.events, opts->ring_size);
	err = offload_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	/* the ring, the queue and the workers are there before the first record */
	rb = open_buffer(skel);
	err = rb ? queue_init(&queue, opts->queue_size, opts->hold_workers) : -1;
	if (err)
		goto out;
	err = start_workers(worker_main);
	if (!err && (err = offload_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (!err && !(err = lab_seed_ready_release(&lab, skel->obj, "getpgid"))) {
		lab_stall(&lab);
		err = poll_events(rb);
	}
	/* detach, then wait out the runs in flight: no record comes after this */
	offload_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (finish(rb) || report(skel->bss->produced, skel->bss->dropped, received, queue_drops,
				 processed, queue.max_count))
		err = -1;
out:
	ring_buffer__free(rb);
	offload_bpf__destroy(skel);
	free(queue.slots);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
