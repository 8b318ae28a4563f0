// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 07, user side: one binary for every kernel. The BPF ring buffer where
 * the kernel has one, else `events` becomes a perf event array; one reader
 * interface reads either, so the rest of the program never knows which. */
#include <errno.h>
#include <unistd.h>

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"
#include "support.h"

static struct lab lab;
static struct options opts = {
	.buffer = BUFFER_AUTO,
	.memory = 256 * 1024,
};
static unsigned long long received;

/* The reader interface: configure() before load, open() after it, poll(),
 * consume() (the final drain), loss() (what the kernel reported lost), free(). */
struct reader {
	const char *name;           /* the summary's buffer=: "ring" or "perf" */
	const char *title;          /* for the ready line */
	unsigned int needs;         /* LAB_NEED_* of this path, for lab_preflight() */
	int (*configure)(struct reader *r, struct execsnoop_bpf *skel);
	int (*open)(struct reader *r, struct execsnoop_bpf *skel);
	int (*poll)(struct reader *r, int timeout_ms);
	int (*consume)(struct reader *r);
	unsigned long long (*loss)(const struct reader *r);
	void (*free)(struct reader *r);

	struct ring_buffer *rb;     /* the ring path */
	struct perf_buffer *pb;     /* the perf path */
	const struct bpf_program *flush; /* the perf path's lab_perf_flush */
	unsigned int pages;         /* the perf path: pages per CPU */
	unsigned long memory;       /* bytes of data area the buffer mapped */
	unsigned long long lost;    /* the perf path: PERF_RECORD_LOST counts */
};

/* The ring calls this once per record; the perf path once per sample. */
static int handle_record(void *ctx, void *data, size_t size)
{
	struct event e;

	/* a perf sample sits at 4 mod 8: check the size, copy, then read */
	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	received++;
	lab_latency_note(e.ts); /* its wait since the kernel stamp: the summary's lat_ keys */
	if (!lab.opt.quiet)
		print_event(&e);
	return 0;
}

/* ---- the ring path -------------------------------------------------------- */

static int ring_configure(struct reader *r, struct execsnoop_bpf *skel)
{
	unsigned long page = sysconf(_SC_PAGESIZE);

	/* TODO(07.4): the ring: use_ringbuf, no lab_perf_flush, and max_entries =
	 * the largest power-of-two number of pages in opts.memory. README task 4. */
	lab_todo("07.4", "size the ring buffer from --memory");
	return -ENOSYS;
	/* END TODO(07.4) */
}

static int ring_open(struct reader *r, struct execsnoop_bpf *skel)
{
	/* TODO(07.6): ring_buffer__new() on `events` with handle_record; the data
	 * area it maps is max_entries bytes. README task 6. */
	lab_todo("07.6", "open the ring buffer");
	return -ENOSYS;
	/* END TODO(07.6) */
}

static int ring_poll(struct reader *r, int timeout_ms)
{
	return ring_buffer__poll(r->rb, timeout_ms);
}

static int ring_consume(struct reader *r)
{
	return ring_buffer__consume(r->rb);
}

/* The ring reports nothing lost: the program counts its failed reserves. */
static unsigned long long ring_loss(const struct reader *r)
{
	return 0;
}

static void ring_free(struct reader *r)
{
	ring_buffer__free(r->rb);
}

/* ---- the perf path --------------------------------------------------------- */

static void handle_perf_record(void *ctx, int cpu, void *data, __u32 size)
{
	if (!lab_is_flush_marker(data, size))
		handle_record(ctx, data, size);
}

static void handle_lost(void *ctx, int cpu, __u64 count)
{
	struct reader *r = ctx;

	/* TODO(07.8): `count` samples did not fit in this CPU's ring: add them to
	 * r->lost. README task 8. */
	/* END TODO(07.8) */
}

static int perf_configure(struct reader *r, struct execsnoop_bpf *skel)
{
	unsigned long page = sysconf(_SC_PAGESIZE);
	struct bpf_map *events = skel->maps.events;

	/* TODO(07.5): `events` becomes a perf event array (bpf_map__set_type, 4-byte
	 * key and value, max_entries 0: one per CPU), and r->pages per CPU fit
	 * opts.memory for every CPU. README task 5. */
	lab_todo("07.5", "turn `events` into a perf event array sized from --memory");
	return -ENOSYS;
	/* END TODO(07.5) */
}

static int perf_open(struct reader *r, struct execsnoop_bpf *skel)
{
	/* TODO(07.7): perf_buffer__new() on `events`, r->pages per CPU, with
	 * handle_perf_record and handle_lost; memory = pages x rings x page size.
	 * README task 7. */
	lab_todo("07.7", "open the perf buffer");
	return -ENOSYS;
	/* END TODO(07.7) */
}

static int perf_poll(struct reader *r, int timeout_ms)
{
	return perf_buffer__poll(r->pb, timeout_ms);
}

static int perf_consume(struct reader *r)
{
	int err;

	/* TODO(07.9): read what is left, then make the kernel write the lost
	 * records it owes (lab_perf_flush_lost) and read those. README task 9. */
	lab_todo("07.9", "the perf buffer's final drain");
	err = -ENOSYS;
	/* END TODO(07.9) */
	return err;
}

static unsigned long long perf_loss(const struct reader *r)
{
	return r->lost;
}

static void perf_free(struct reader *r)
{
	perf_buffer__free(r->pb);
}

static const struct reader ring_reader = {
	.name = "ring", .title = "the BPF ring buffer", .needs = LAB_NEED_RINGBUF,
	.configure = ring_configure, .open = ring_open, .poll = ring_poll,
	.consume = ring_consume, .loss = ring_loss, .free = ring_free,
};
static const struct reader perf_reader = {
	.name = "perf", .title = "the perf buffer", .needs = LAB_NEED_PERFBUF | LAB_NEED_RUN_ON_CPU,
	.configure = perf_configure, .open = perf_open, .poll = perf_poll,
	.consume = perf_consume, .loss = perf_loss, .free = perf_free,
};

/* ---- the choice, and the run ----------------------------------------------- */

/* Before anything is loaded: the ring where the kernel has one. */
static bool choose_buffer(struct reader *r, const char **why)
{
	if (opts.buffer != BUFFER_AUTO) {
		*r = opts.buffer == BUFFER_RING ? ring_reader : perf_reader;
		*why = opts.buffer == BUFFER_RING ? "--buffer ring" : "--buffer perf";
		return true;
	}
	/* TODO(07.3): probe with libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL),
	 * unless opts.assume_no_ringbuf answers "no" for it. README task 3. */
	lab_todo("07.3", "probe the kernel for the BPF ring buffer");
	return false;
	/* END TODO(07.3) */
}

static int open_buffer(struct reader *r, struct execsnoop_bpf *skel)
{
	int err = r->open(r, skel);

	if (err)
		lab_error_errno(err, "cannot open %s", r->title);
	return err;
}

static int poll_events(struct reader *r)
{
	while (!lab_should_stop(&lab)) {
		int err = r->poll(r, LAB_POLL_MS);

		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot poll %s", r->title);
			return err;
		}
	}
	return 0;
}

static int drain_events(struct reader *r)
{
	int err = r->consume(r);

	if (err < 0)
		lab_error_errno(err, "cannot drain %s", r->title);
	return err < 0 ? err : 0;
}

int main(int argc, char **argv)
{
	struct execsnoop_bpf *skel = NULL;
	struct reader r = { 0 };
	const char *why = "";
	int err = -1;

	parse_args(&lab, &opts, argc, argv);
	lab_install_signal_handlers();
	/* can we trace at all; which buffer; what its path needs from the kernel */
	if (lab_preflight(&lab, 0) || !choose_buffer(&r, &why) || lab_preflight(&lab, r.needs) ||
	    lab_fork_held_command(&lab))
		goto out;
	skel = execsnoop_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	err = r.configure(&r, skel);
	if (err) {
		lab_error_errno(err, "cannot set up %s", r.title);
		goto out;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	err = execsnoop_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	/* the buffer before the attach: no event precedes it */
	err = open_buffer(&r, skel);
	if (!err && (err = execsnoop_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (err || (err = lab_seed_ready_release(&lab, skel->obj, ready_what(r.title, why))))
		goto out;
	lab_stall(&lab);
	err = poll_events(&r);
	execsnoop_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(&r);
	print_summary(r.name, received, r.loss(&r), skel->bss->dropped, r.memory);
out:
	if (r.free)
		r.free(&r);
	execsnoop_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
