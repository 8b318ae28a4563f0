// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 03, user side: read fork/exec/exit records from a perf buffer (one ring
 * per CPU) and print them in timestamp order, or from the ring buffer in the
 * order they were reserved. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"
#include "lifecycle.h"
#include "lifecycle.skel.h"

enum { OPT_BUFFER = 0x200, OPT_REORDER_MS, OPT_NO_REORDER, OPT_RING_SIZE };

static struct lab lab;
static bool use_ring;                        /* --buffer ring */
static bool reorder = true;                  /* off with --no-reorder or --buffer ring */
static unsigned int reorder_ms = 50;         /* --reorder-ms */
static unsigned int pages = 64;              /* --pages: perf ring size per CPU */
static unsigned long ring_size = 256 * 1024; /* --ring-size: the ring buffer, in bytes */
static bool reorder_ms_given, pages_given, ring_size_given;

/* the summary */
static unsigned long long received, lost, out_of_order, late;

static unsigned long long newest_received; /* the largest stamp received so far */
static unsigned long long newest_released; /* the largest stamp the reorder stage printed */
static int stage_err;                      /* the reorder stage could not hold a record */

static const struct argp_option options[] = {
	{ "buffer", OPT_BUFFER, "perf|ring", 0,
	  "perf: one ring per CPU, merged by timestamp (default); "
	  "ring: one BPF ring buffer, printed in arrival order", 0 },
	{ "reorder-ms", OPT_REORDER_MS, "MS", 0,
	  "perf: hold each record until it is MS ms old, to print it in timestamp order "
	  "(default 50)", 0 },
	{ "no-reorder", OPT_NO_REORDER, NULL, 0, "print the records in arrival order", 0 },
	{ "pages", 'P', "N", 0, "perf: pages per CPU, a power of two (default 64)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring: its size, a power of two of at least one page (default 262144)", 0 },
	{ 0 },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_BUFFER:
		if (strcmp(arg, "perf") && strcmp(arg, "ring"))
			lab_usage_error(state, "--buffer is perf or ring, got '%s'", arg);
		use_ring = !strcmp(arg, "ring");
		return 0;
	case OPT_REORDER_MS:
		reorder_ms = lab_parse_uint(state, "--reorder-ms", arg, 0, 60000);
		reorder_ms_given = true;
		return 0;
	case OPT_NO_REORDER:
		reorder = false;
		return 0;
	case 'P':
		pages = lab_parse_pages(state, arg);
		pages_given = true;
		return 0;
	case OPT_RING_SIZE:
		ring_size = lab_parse_ring_size(state, arg);
		ring_size_given = true;
		return 0;
	case ARGP_KEY_END:
		if (use_ring && (reorder_ms_given || pages_given))
			lab_usage_error(state, "--reorder-ms and --pages are for --buffer perf");
		if (!use_ring && ring_size_given)
			lab_usage_error(state, "--ring-size is for --buffer ring");
		if (!reorder && reorder_ms_given)
			lab_usage_error(state, "--reorder-ms and --no-reorder exclude each other");
		/* one ring: its order is already the order of reservation */
		if (use_ring)
			reorder = false;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.doc = "Lab 03: trace fork, exec and exit, and print them in the order they happened.",
};

static void print_event(const struct event *e)
{
	static const char *const kinds[] = {
		[EVENT_FORK] = "fork", [EVENT_EXEC] = "exec", [EVENT_EXIT] = "exit",
	};

	if (lab.opt.quiet)
		return;
	printf("%s ts=%llu cpu=%d pid=%d ppid=%d comm=",
	       e->kind >= EVENT_FORK && e->kind <= EVENT_EXIT ? kinds[e->kind] : "unknown",
	       e->ts, e->cpu, e->pid, e->ppid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	if (e->kind == EVENT_EXEC) {
		fputs(" file=", stdout);
		lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	}
	putchar('\n');
}

/* ---- the reorder stage: records held in a min-heap by timestamp --------- */

struct held {
	struct event e;
	unsigned long long seq; /* arrival number: equal stamps keep arrival order */
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

/* TODO(03.5): keep heap[] a min-heap. It is a binary tree in an array: the
 * children of i are 2i+1 and 2i+2, its parent is (i-1)/2, and no record is
 * older() than its parent, so heap[0] is the oldest. sift_up(i): the record
 * at i was just appended; swap it with its parent while it is older.
 * sift_down(i): the record at i was just moved to the root; swap it with the
 * older of its children while that child is older than it. Each is
 * O(log n) swaps (swap_held), so holding n records costs O(n log n). */
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
	heap[heap_len] = (struct held){ .e = *e, .seq = arrivals++ };
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
	return oldest;
}

/* Every record, from either buffer, in the order it arrives. */
static void on_record(const struct event *e)
{
	/* TODO(03.6): a record arrives. Count it in `received`. If its stamp is
	 * below the newest one received before it (`newest_received`), it
	 * arrived out of order: count it in `out_of_order`; else it is the new
	 * newest. Without `reorder`, print it now with print_event(). With
	 * `reorder`, it is `late` if the stage has already printed a newer
	 * record (its ts < newest_released): its place in the output is gone.
	 * Then hold it with heap_push(); if that fails, keep the error in
	 * stage_err (the poll loop stops on it). */
	received++;
	if (e->ts < newest_received)
		out_of_order++;
	else
		newest_received = e->ts;
	if (!reorder) {
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
	/* TODO(03.7): while the heap holds records and the oldest (heap[0]) is
	 * stamped before `watermark`, take it out with heap_pop() and print it.
	 * Keep the newest stamp printed so far in newest_released: a record
	 * that arrives below it is late. */
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

struct buffer {
	struct perf_buffer *perf; /* --buffer perf */
	struct ring_buffer *ring; /* --buffer ring */
};

static void handle_sample(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx;
	(void)cpu;
	if (!lab_is_flush_marker(data, size))
		on_record(data);
}

static void handle_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	(void)cpu;
	lost += count;
}

static int handle_ring_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)size;
	on_record(data);
	return 0;
}

static int open_buffer(struct lifecycle_bpf *skel, struct buffer *b)
{
	if (use_ring) {
		b->ring = ring_buffer__new(bpf_map__fd(skel->maps.ring), handle_ring_record,
					   NULL, NULL);
		if (!b->ring)
			lab_error_errno(errno, "cannot open the ring buffer");
		return b->ring ? 0 : -1;
	}
	b->perf = perf_buffer__new(bpf_map__fd(skel->maps.events), pages, handle_sample,
				   handle_lost, NULL, NULL);
	if (!b->perf)
		lab_error_errno(errno, "cannot open the perf buffer");
	return b->perf ? 0 : -1;
}

/* Wait up to timeout_ms for records, and pass each one to on_record(). A
 * perf buffer's poll reads every ring that epoll reports, each to its end. */
static int buffer_poll(struct buffer *b, int timeout_ms)
{
	int n = b->ring ? ring_buffer__poll(b->ring, timeout_ms)
			: perf_buffer__poll(b->perf, timeout_ms);

	return stage_err ? stage_err : n;
}

/* How long the next poll may sleep: until the oldest record held is due
 * (stamped window_ns before `now`), and LAB_POLL_MS at most. A quiet
 * moment then costs no extra delay: the last records held come out on time. */
static int poll_timeout_ms(long long now, unsigned long long window_ns)
{
	long long wait_ns;

	if (!heap_len)
		return LAB_POLL_MS;
	wait_ns = (long long)(heap[0].e.ts + window_ns) - now;
	if (wait_ns <= 0)
		return 0;
	if (wait_ns >= LAB_POLL_MS * 1000000LL)
		return LAB_POLL_MS;
	return (wait_ns + 999999) / 1000000;
}

static int poll_events(struct buffer *b)
{
	unsigned long long window_ns = reorder_ms * 1000000ULL;

	/* TODO(03.8): the poll loop of lab 01, which now also releases what is
	 * old enough. Until lab_should_stop(&lab): read the clock with
	 * lab_now_ns() *before* the poll, poll with
	 * buffer_poll(b, poll_timeout_ms(that time, window_ns)), then call
	 * release_until(that time - window_ns). Why before: a record stamped
	 * before that moment was written before it, so its ring had woken the
	 * epoll set, and the poll reads every ring it reports to the end. Only
	 * a record stamped but not yet written, or whose wakeup is delayed, can
	 * still come later: the window is for those. buffer_poll() returns the
	 * number of records read or a negative error, where -EINTR (a signal)
	 * is not one. */
	while (!lab_should_stop(&lab)) {
		long long polled_at = lab_now_ns();
		int err = buffer_poll(b, poll_timeout_ms(polled_at, window_ns));

		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot read the %s buffer", use_ring ? "ring" : "perf");
			return err;
		}
		release_until(polled_at > (long long)window_ns ? polled_at - window_ns : 0);
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
		lab_error_errno(err, "cannot drain the %s buffer", use_ring ? "ring" : "perf");
		return err;
	}
	/* the final flush: nothing can arrive any more, so whatever is held is
	 * already in its place */
	release_until(ULLONG_MAX);
	return 0;
}

static void configure(struct lifecycle_bpf *skel)
{
	unsigned long page = sysconf(_SC_PAGESIZE);

	skel->rodata->use_ring = use_ring;
	/* the ring exists in both modes (one object, one set of programs);
	 * unused, it costs one page */
	bpf_map__set_max_entries(skel->maps.ring, use_ring ? ring_size : page);
	/* lab_perf_flush is for a perf buffer's lost records only */
	bpf_program__set_autoload(skel->progs.lab_perf_flush, !use_ring);
}

int main(int argc, char **argv)
{
	struct lifecycle_bpf *skel = NULL;
	struct buffer buffer = { 0 };
	int err = -1;

	lab_parse_args(&lab, "lab-03", &argp, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_PERFBUF | LAB_NEED_RINGBUF | LAB_NEED_RUN_ON_CPU) || lab_fork_held_command(&lab))
		goto out;

	skel = lifecycle_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	configure(skel);
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	err = lifecycle_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	err = lifecycle_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}

	err = open_buffer(skel, &buffer);
	if (!err)
		err = lab_seed_ready_release(&lab, skel->obj, "fork, exec and exit");
	if (err)
		goto out;
	lab_stall(&lab);
	err = poll_events(&buffer);
	/* detach, then wait out the runs in flight: no new records from here
	 * on, so the drain leaves the counts final */
	lifecycle_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(skel, &buffer);
	lab_summary("received=%llu lost=%llu out_of_order=%llu late=%llu", received,
		    lost + skel->bss->ring_lost, out_of_order, late);
out:
	perf_buffer__free(buffer.perf);
	ring_buffer__free(buffer.ring);
	lifecycle_bpf__destroy(skel);
	free(heap);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
