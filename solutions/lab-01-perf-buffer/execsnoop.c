// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 01, user side: read execve() records from the per-CPU perf buffer.
 * Options and printing are in support.c. */
#include <errno.h>
#include <string.h>

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"
#include "support.h"

static struct lab lab;
static const struct options *opts;
static unsigned long long received, lost;

/* perf_buffer__poll() and __consume() call this once per sample, on our
 * thread. `data` sits at an address that is 4 mod 8, `size` is padded. */
static void handle_record(void *ctx, int cpu, void *data, __u32 size)
{
	/* TODO(01.7): skip flush markers; check `size`, memcpy the sample into an
	 * aligned struct event; count it in `received`; print it. README task 7. */
	struct event e;

	if (lab_is_flush_marker(data, size) || size < sizeof(e))
		return;
	memcpy(&e, data, sizeof(e));
	received++;
	if (!lab.opt.quiet)
		print_event(&e);
	/* END TODO(01.7) */
}

/* ... and this once per PERF_RECORD_LOST record the kernel wrote. */
static void handle_lost(void *ctx, int cpu, __u64 count)
{
	/* TODO(01.3): add this record's `count` to `lost`. README task 3. */
	lost += count;
	/* END TODO(01.3) */
}

static struct perf_buffer *open_buffer(struct execsnoop_bpf *skel)
{
	struct perf_buffer *pb = NULL;

	/* TODO(01.4): perf_buffer__new() on skel->maps.events' fd, opts->pages,
	 * handle_record, handle_lost; lab_error_errno() if NULL. README task 4. */
	pb = perf_buffer__new(bpf_map__fd(skel->maps.events), opts->pages, handle_record,
			      handle_lost, NULL, NULL);
	if (!pb)
		lab_error_errno(errno, "cannot open the perf buffer");
	/* END TODO(01.4) */
	return pb;
}

static int poll_events(struct perf_buffer *pb)
{
	/* TODO(01.5): perf_buffer__poll(pb, LAB_POLL_MS) until lab_should_stop();
	 * -EINTR is not an error. README task 5. */
	while (!lab_should_stop(&lab)) {
		int err = perf_buffer__poll(pb, LAB_POLL_MS);

		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot poll the perf buffer");
			return err;
		}
	}
	return 0;
	/* END TODO(01.5) */
}

static int drain_events(struct execsnoop_bpf *skel, struct perf_buffer *pb)
{
	/* TODO(01.6): perf_buffer__consume(), lab_perf_flush_lost() with the
	 * program lab_perf_flush, perf_buffer__consume() again. README task 6. */
	int err = perf_buffer__consume(pb);

	if (!err)
		err = lab_perf_flush_lost(skel->progs.lab_perf_flush);
	if (!err)
		err = perf_buffer__consume(pb);
	return err;
	/* END TODO(01.6) */
}

int main(int argc, char **argv)
{
	struct execsnoop_bpf *skel = NULL;
	struct perf_buffer *pb = NULL;
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_PERFBUF | LAB_NEED_RUN_ON_CPU) ||
	    lab_fork_held_command(&lab))
		goto out;
	skel = execsnoop_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	if (lab_expect_map_type(skel->maps.events, BPF_MAP_TYPE_PERF_EVENT_ARRAY, "01.1"))
		goto out;
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	err = execsnoop_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	/* the rings first, so that no event comes before its ring */
	pb = open_buffer(skel);
	err = pb ? apply_empty_slot(skel->maps.events) : -1;
	if (err)
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
	err = poll_events(pb);
	execsnoop_bpf__detach(skel);        /* no new run after this, */
	lab_wait_for_running_programs();    /* nor a run still in flight */
	if (!err)
		err = drain_events(skel, pb);
	lab_summary("received=%llu lost=%llu dropped=%llu", received, lost, skel->bss->dropped);
out:
	perf_buffer__free(pb);
	execsnoop_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
