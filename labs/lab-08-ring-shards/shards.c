// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 08, user side: make one ring buffer per CPU (or per group of CPUs),
 * put them in `events`, read them all through one ring_buffer manager, and
 * merge their streams into time order. Options, the queues, printing and
 * the summary are in support.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <bpf/bpf.h>

#include "support.h"

static struct lab lab;
static const struct options *opts;

static struct ring_state rings[MAX_RINGS];   /* one per ring: fd, queue, count */
static unsigned long long newest_released;   /* the largest stamp printed so far */
static unsigned long long late;              /* records read after a newer one was printed */
static int stage_err;                        /* a queue could not hold a record */

/* Before load: the rings themselves, each opts->ring_size bytes. */
static int make_rings(void)
{
	/* TODO(08.5): for each ring i: bpf_map_create() a BPF_MAP_TYPE_RINGBUF
	 * (key and value size 0) of opts->ring_size bytes into rings[i].fd.
	 * README task 5. */
	lab_todo("08.5", "no ring is made");
	return -ENOSYS;
	/* END TODO(08.5) */
}

/* Before load: how many rings the program picks from, how many slots
 * `events` has, and the template its slots must match. */
static int configure(struct shards_bpf *skel)
{
	/* TODO(08.6): nr_rings = opts->rings; `events` gets that many slots
	 * (bpf_map__set_max_entries) and ring 0 as its inner map template
	 * (bpf_map__set_inner_map_fd). README task 6. */
	lab_todo("08.6", "`events` has no slot count and no template");
	return -ENOSYS;
	/* END TODO(08.6) */
}

/* After load, before attach: every ring into its slot of `events`. */
static int fill_rings(struct shards_bpf *skel)
{
	int outer = bpf_map__fd(skel->maps.events);

	/* TODO(08.7): put rings[i].fd in slot i of `events` for every ring
	 * (bpf_map_update_elem). README task 7. */
	lab_todo("08.7", "no ring is put in `events`");
	return -ENOSYS;
	/* END TODO(08.7) */
}

/* The manager calls this once per record, ctx telling which ring it is from. */
static int handle_record(void *ctx, void *data, size_t size)
{
	struct ring_state *r = &rings[(long)ctx];
	struct event e;

	if (!take_record(data, size, &e))
		return 0;
	/* TODO(08.8): count it in r->received; count it `late` if stamped before
	 * newest_released; hold it in r->held (queue_push; -ENOMEM into stage_err).
	 * README task 8. */
	/* END TODO(08.8) */
	return 0;
}

/* One manager, one epoll, for every ring. */
static struct ring_buffer *open_buffer(void)
{
	/* TODO(08.9): ring_buffer__new() on ring 0, ring_buffer__add() for each
	 * other ring; each with handle_record and its index as ctx. README task 9. */
	lab_todo("08.9", "the rings are not opened");
	return NULL;
	/* END TODO(08.9) */
}

/* The k-way merge: print, oldest first, every record stamped before `watermark`. */
static void release_until(unsigned long long watermark)
{
	/* TODO(08.10): while the oldest head among the rings' queues (queue_head)
	 * is stamped before `watermark`: queue_pop() it, raise newest_released,
	 * print_event(). README task 10. */
	/* END TODO(08.10) */
	fflush(stdout);
}

static int poll_events(struct ring_buffer *rb)
{
	unsigned long long window_ns = opts->window_us * 1000ULL;

	/* TODO(08.11): until lab_should_stop(): epoll_wait() on the manager's
	 * epoll fd, read the clock, ring_buffer__consume(), then
	 * release_until(clock - window_ns), in this order. README task 11. */
	lab_todo("08.11", "nothing waits for, reads or releases the records");
	return -ENOSYS;
	/* END TODO(08.11) */
	return 0;
}

/* After detach: read what is left, then print everything still held. */
static int drain_events(struct ring_buffer *rb)
{
	/* TODO(08.12): ring_buffer__consume() what is left in every ring, then
	 * release everything held. README task 12. */
	lab_todo("08.12", "the final drain is missing");
	return -ENOSYS;
	/* END TODO(08.12) */
}

static struct shards_bpf *open_and_load(void)
{
	struct shards_bpf *skel = shards_bpf__open();
	int err;

	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		return NULL;
	}
	if (lab_expect_map_type(skel->maps.events, BPF_MAP_TYPE_ARRAY_OF_MAPS, "08.1"))
		goto fail;
	if (make_rings())
		goto fail; /* it said why */
	if ((err = configure(skel))) {
		lab_error_errno(err, "cannot set up `events`");
		goto fail;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	if (!(err = shards_bpf__load(skel)))
		return skel;
	lab_bpf_error(err, "cannot load the BPF programs");
fail:
	shards_bpf__destroy(skel);
	return NULL;
}

int main(int argc, char **argv)
{
	struct shards_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_RINGBUF | LAB_NEED_ATOMIC_FETCH))
		return 1;
	lab_install_signal_handlers();
	if (lab_fork_held_command(&lab) || !(skel = open_and_load()))
		goto out;
	/* every ring in its slot, and read, before the program runs */
	if (fill_rings(skel) || !(rb = open_buffer()))
		goto out;
	if ((err = shards_bpf__attach(skel))) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}
	if ((err = lab_seed_ready_release(&lab, skel->obj, ready_what(opts->rings))))
		goto out;
	lab_stall(&lab);
	err = poll_events(rb);
	shards_bpf__detach(skel);          /* no new records from here on */
	lab_wait_for_running_programs();   /* nor from a run still in flight */
	if (!err)
		err = drain_events(rb);
	print_summary(skel, rings, opts->rings, late);
out:
	ring_buffer__free(rb);
	shards_bpf__destroy(skel);
	free_rings(rings, opts->rings);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
