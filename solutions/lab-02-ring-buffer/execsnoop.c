// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 02, user side: read execve() records from the BPF ring buffer.
 * Options and printing are in support.c. */
#include <errno.h>

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"
#include "support.h"

static struct lab lab;
static const struct options *opts;
static unsigned long long received;

/* ring_buffer__poll() and __consume() call this once per submitted record,
 * in reservation order; libbpf skips discarded records. */
static int handle_record(void *ctx, void *data, size_t size)
{
	received++;
	if (!lab.opt.quiet)
		print_event(data);
	return 0;
}

static struct ring_buffer *open_buffer(struct execsnoop_bpf *skel)
{
	/* TODO(02.7): open `events` with ring_buffer__new(), handle_record()
	 * as the callback; on NULL, report errno. README task 7. */
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events),
						  handle_record, NULL, NULL);

	if (!rb)
		lab_error_errno(errno, "cannot open the ring buffer");
	return rb;
	/* END TODO(02.7) */
}

static int poll_events(struct ring_buffer *rb)
{
	/* TODO(02.8): until lab_should_stop(), ring_buffer__poll() for
	 * LAB_POLL_MS at most; -EINTR is not an error. README task 8. */
	while (!lab_should_stop(&lab)) {
		int err = ring_buffer__poll(rb, LAB_POLL_MS);

		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot poll the ring buffer");
			return err;
		}
	}
	return 0;
	/* END TODO(02.8) */
}

static int drain_events(struct ring_buffer *rb)
{
	/* TODO(02.9): read what is left in the ring, without waiting, with
	 * ring_buffer__consume(). README task 9. */
	int err = ring_buffer__consume(rb);

	if (err < 0) {
		lab_error_errno(err, "cannot drain the ring buffer");
		return err;
	}
	return 0;
	/* END TODO(02.9) */
}

/* Open the BPF object, size the ring, set the filter, load: the verifier
 * checks the programs here. */
static struct execsnoop_bpf *open_and_load(void)
{
	struct execsnoop_bpf *skel = execsnoop_bpf__open();
	int err;

	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		return NULL;
	}
	if (lab_expect_map_type(skel->maps.events, BPF_MAP_TYPE_RINGBUF, "02.1"))
		goto fail;
	/* TODO(02.6): size `events` to opts->ring_size bytes with
	 * bpf_map__set_max_entries(). README task 6. */
	bpf_map__set_max_entries(skel->maps.events, opts->ring_size);
	/* END TODO(02.6) */
	set_path_prefix(skel, opts->path_prefix);
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	err = execsnoop_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto fail;
	}
	return skel;
fail:
	execsnoop_bpf__destroy(skel);
	return NULL;
}

int main(int argc, char **argv)
{
	struct execsnoop_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_RINGBUF))
		goto out;
	lab_install_signal_handlers();
	if (lab_fork_held_command(&lab) || !(skel = open_and_load()))
		goto out;
	/* the reader before the programs: no record is made before its ring is read */
	rb = open_buffer(skel);
	if (!rb)
		goto out;
	err = execsnoop_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}
	err = lab_seed_ready_release(&lab, skel->obj, "execve");
	if (err)
		goto out;
	lab_stall(&lab);
	err = poll_events(rb);
	/* detach, then wait out the runs in flight: the counts below are final */
	execsnoop_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(rb);
	lab_summary("received=%llu dropped=%llu discarded=%llu", received,
		    (unsigned long long)skel->bss->dropped, (unsigned long long)skel->bss->discarded);
out:
	ring_buffer__free(rb);
	execsnoop_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
