// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 03, user side: read fork/exec/exit records from a perf buffer (one ring
 * per CPU) and print them in timestamp order, or from the ring buffer in the
 * order they were reserved. Options, printing and the buffers' plumbing are
 * in support.c. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static struct lab lab;
static const struct options *opts;

/* the summary */
static unsigned long long received, lost, out_of_order, late;

static unsigned long long newest_received; /* the largest stamp received so far */
static unsigned long long newest_released; /* the largest stamp the reorder stage printed */
static int stage_err;                      /* the reorder stage could not hold a record */

/* ---- the reorder stage: records held in a min-heap by timestamp --------- */

struct held {
	struct event e;
	unsigned long long seq;        /* arrival number: equal stamps keep arrival order */
	unsigned long long arrived_ns; /* --stats: when it entered the stage */
};

static struct held *heap; /* heap[0] is the oldest record held */
static size_t heap_len, heap_cap;
static unsigned long long arrivals;

static bool older(const struct held *a, const struct held *b)
{
	return a->e.ts != b->e.ts ? a->e.ts < b->e.ts : a->seq < b->seq;
}

static void swap_held(size_t i, size_t j)
{
	struct held tmp = heap[i];

	heap[i] = heap[j];
	heap[j] = tmp;
}

/* TODO(03.5): keep heap[] a min-heap by older(): sift_up() after an append,
 * sift_down() after the root was replaced, with swap_held(). README task 5. */
static void sift_up(size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!older(&heap[i], &heap[parent]))
			return;
		swap_held(i, parent);
		i = parent;
	}
}

static void sift_down(size_t i)
{
	for (;;) {
		size_t left = 2 * i + 1, right = left + 1, oldest = i;

		if (left < heap_len && older(&heap[left], &heap[oldest]))
			oldest = left;
		if (right < heap_len && older(&heap[right], &heap[oldest]))
			oldest = right;
		if (oldest == i)
			return;
		swap_held(i, oldest);
		i = oldest;
	}
}
/* END TODO(03.5) */

static int heap_push(const struct event *e)
{
	if (heap_len == heap_cap) {
		size_t cap = heap_cap ? 2 * heap_cap : 1024;
		struct held *bigger = realloc(heap, cap * sizeof(*heap));

		if (!bigger)
			return -ENOMEM;
		heap = bigger;
		heap_cap = cap;
	}
	heap[heap_len] = (struct held){ .e = *e, .seq = arrivals++,
					.arrived_ns = opts->stats ? lab_now_ns() : 0 };
	heap_len++;
	sift_up(heap_len - 1);
	return 0;
}

/* Take out the oldest record; the last one fills the hole and sinks. */
static struct held heap_pop(void)
{
	struct held oldest = heap[0];

	heap[0] = heap[--heap_len];
	sift_down(0);
	if (opts->stats)
		note_hold(oldest.arrived_ns);
	return oldest;
}

/* Every record, from either buffer, in the order it arrives. */
static void on_record(const struct event *e)
{
	/* TODO(03.6): count the record (received, out_of_order against
	 * newest_received); print it now without opts->reorder, else count it
	 * late against newest_released and heap_push() it. README task 6. */
	received++;
	if (e->ts < newest_received)
		out_of_order++;
	else
		newest_received = e->ts;
	if (!opts->reorder) {
		print_event(e);
		return;
	}
	if (e->ts < newest_released)
		late++;
	if (heap_push(e))
		stage_err = -ENOMEM;
	/* END TODO(03.6) */
}

/* Print, oldest first, every held record stamped before `watermark`. */
static void release_until(unsigned long long watermark)
{
	/* TODO(03.7): heap_pop() and print every record stamped before
	 * `watermark`, raising newest_released to each. README task 7. */
	while (heap_len && heap[0].e.ts < watermark) {
		struct held h = heap_pop();

		if (h.e.ts > newest_released)
			newest_released = h.e.ts;
		print_event(&h.e);
	}
	/* END TODO(03.7) */
	/* whoever reads our stdout (a pipe, a file) sees them now, not when
	 * stdio's buffer fills up */
	fflush(stdout);
}

/* ---- the two buffers --------------------------------------------------- */

/* A perf sample: libbpf hands its data at an address that is 4 mod 8, and
 * perf pads it to 8 bytes. Check the size, copy it to an aligned record. */
static void handle_record(void *ctx, int cpu, void *data, __u32 size)
{
	struct event e;

	if (size < sizeof(e) || lab_is_flush_marker(data, size))
		return;
	memcpy(&e, data, sizeof(e));
	on_record(&e);
}

static void handle_lost(void *ctx, int cpu, __u64 count)
{
	lost += count;
}

/* A ring buffer record: 8-byte aligned, of the size written. */
static int handle_ring_record(void *ctx, void *data, size_t size)
{
	struct event e;

	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	on_record(&e);
	return 0;
}

static int open_buffer(struct lifecycle_bpf *skel, struct buffer *b)
{
	if (opts->use_ring) {
		b->ring = ring_buffer__new(bpf_map__fd(skel->maps.events_ring),
					   handle_ring_record, NULL, NULL);
		if (!b->ring)
			lab_error_errno(errno, "cannot open the ring buffer");
		return b->ring ? 0 : -1;
	}
	b->perf = perf_buffer__new(bpf_map__fd(skel->maps.events), opts->pages, handle_record,
				   handle_lost, NULL, NULL);
	if (!b->perf)
		lab_error_errno(errno, "cannot open the perf buffer");
	return b->perf ? 0 : -1;
}

static int poll_events(struct buffer *b)
{
	unsigned long long window_ns = opts->reorder_us * 1000ULL;

	/* TODO(03.8): until lab_should_stop(): wait_for_records(), read the clock,
	 * read_every_ring(), then release_until(that time - window_ns), in this
	 * order. -EINTR is no error. README task 8. */
	while (!lab_should_stop(&lab)) {
		long long now;
		int err = wait_for_records(b, poll_timeout_us(heap_len, heap_len ? heap[0].e.ts : 0,
							      window_ns));

		now = lab_now_ns();
		if (!err)
			err = read_every_ring(b);
		if (!err)
			err = stage_err;
		if (err && err != -EINTR) {
			lab_error_errno(err, "cannot read the buffer");
			return err;
		}
		release_until(now > (long long)window_ns ? now - window_ns : 0);
	}
	/* END TODO(03.8) */
	return 0;
}

/* After detach: read what is left, then print everything still held. */
static int drain_events(struct lifecycle_bpf *skel, struct buffer *b)
{
	int err;

	if (b->ring) {
		err = ring_buffer__consume(b->ring);
		err = err < 0 ? err : 0;
	} else {
		/* lab 01's drain: read the rings, let the kernel write the lost
		 * records it still owes, read those */
		err = perf_buffer__consume(b->perf);
		if (!err && lab_perf_flush_lost(skel->progs.lab_perf_flush))
			return -1; /* it said why */
		if (!err)
			err = perf_buffer__consume(b->perf);
	}
	if (!err)
		err = stage_err;
	if (err) {
		lab_error_errno(err, "cannot drain the buffer");
		return err;
	}
	/* the final flush: nothing can arrive any more, so whatever is held is
	 * already in its place */
	release_until(ULLONG_MAX);
	return 0;
}

int main(int argc, char **argv)
{
	struct lifecycle_bpf *skel = NULL;
	struct buffer buffer = { 0 };
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_PERFBUF | LAB_NEED_RINGBUF |
				LAB_NEED_RUN_ON_CPU))
		return 1;
	lab_install_signal_handlers();
	if (lab_fork_held_command(&lab))
		goto out;

	skel = lifecycle_bpf__open();
	if (!skel || configure(skel)) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	if ((err = lifecycle_bpf__load(skel)))
		lab_bpf_error(err, "cannot load the BPF programs");
	else if (!(err = open_buffer(skel, &buffer)) && (err = lifecycle_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (err || (err = lab_seed_ready_release(&lab, skel->obj, "fork, exec and exit")))
		goto out;

	lab_stall(&lab);
	err = poll_events(&buffer);
	lifecycle_bpf__detach(skel);        /* no new records from here on */
	lab_wait_for_running_programs();   /* nor from a run still in flight */
	if (!err)
		err = drain_events(skel, &buffer);
	print_stats();
	lab_summary("received=%llu lost=%llu dropped=%llu out_of_order=%llu late=%llu", received,
		    lost, skel->bss->dropped, out_of_order, late);
out:
	perf_buffer__free(buffer.perf);
	ring_buffer__free(buffer.ring);
	lifecycle_bpf__destroy(skel);
	free(heap);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
