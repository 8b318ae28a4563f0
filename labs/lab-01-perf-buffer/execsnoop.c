// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 01, user side: read execve() records from the per-CPU perf buffer. */
#include <errno.h>

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"

static struct lab lab;
static unsigned int pages = 64;           /* per-CPU ring size, in pages */
static unsigned long long received, lost;

static const struct argp_option options[] = {
	{ "pages", 'P', "N", 0, "pages per CPU in the perf buffer, a power of two (default 64)", 0 },
	{ 0 },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	if (key != 'P')
		return ARGP_ERR_UNKNOWN;
	pages = lab_parse_pages(state, arg);
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.doc = "Lab 01: trace execve() through a perf buffer.",
};

static void print_event(const struct event *e)
{
	printf("execve pid=%d tid=%d comm=", e->pid, e->tid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	fputs(" file=", stdout);
	lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	putchar('\n');
}

/* perf_buffer__poll() and __consume() call this once per sample, on our thread. */
static void handle_event(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx;
	(void)cpu;
	if (lab_is_flush_marker(data, size))
		return;
	received++;
	if (!lab.opt.quiet)
		print_event(data);
}

/* ... and this once per PERF_RECORD_LOST record the kernel wrote. */
static void handle_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx;
	(void)cpu;
	/* TODO(01.3): `count` samples did not fit in this CPU's ring. Add them
	 * to `lost`, the summary's exact loss counter. */
	(void)count;
	/* END TODO(01.3) */
}

static struct perf_buffer *open_buffer(struct execsnoop_bpf *skel)
{
	struct perf_buffer *pb;

	/* TODO(01.4): open the perf buffer with perf_buffer__new(): the fd of
	 * skel->maps.events, `pages` pages per CPU, handle_event for samples,
	 * handle_lost for lost records. libbpf opens one perf event per CPU,
	 * mmaps its ring, stores its fd in the map at that CPU's index, and
	 * adds it to an epoll set. Say why (lab_error_errno) if it fails. */
	lab_todo("01.4", "the perf buffer is not opened");
	(void)skel;
	(void)handle_event;
	(void)handle_lost;
	pb = NULL;
	/* END TODO(01.4) */
	return pb;
}

static int poll_events(struct perf_buffer *pb)
{
	/* TODO(01.5): until lab_should_stop(&lab) says stop, wait for records
	 * with perf_buffer__poll(pb, LAB_POLL_MS). It returns how many records
	 * it handled, or a negative error; -EINTR only means a signal arrived
	 * (Ctrl-C, or the command's end) and is not an error. */
	lab_todo("01.5", "nothing polls the perf buffer");
	(void)pb;
	return -ENOSYS;
	/* END TODO(01.5) */
	return 0;
}

static int drain_events(struct execsnoop_bpf *skel, struct perf_buffer *pb)
{
	int err;

	/* TODO(01.6): the final drain. perf_buffer__consume(pb) reads what is
	 * still in the rings. The kernel writes a lost record only when room
	 * returns, so lab_perf_flush_lost(skel->progs.lab_perf_flush) then makes
	 * it write the ones it still owes, and a second perf_buffer__consume()
	 * reads them. */
	(void)skel;
	(void)pb;
	err = 0;
	/* END TODO(01.6) */
	return err;
}

int main(int argc, char **argv)
{
	struct execsnoop_bpf *skel = NULL;
	struct perf_buffer *pb = NULL;
	int err = -1;

	lab_parse_args(&lab, "lab-01", &argp, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_PERFBUF | LAB_NEED_RUN_ON_CPU) || lab_fork_held_command(&lab))
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
	err = execsnoop_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}

	pb = open_buffer(skel);
	err = pb ? lab_seed_ready_release(&lab, skel->obj, "execve") : -1;
	if (err)
		goto out;
	lab_stall(&lab);
	err = poll_events(pb);
	/* detach, then wait out the runs in flight: no new records from here
	 * on, so the drain leaves the counts final */
	execsnoop_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(skel, pb);
	lab_summary("received=%llu lost=%llu", received, lost);
out:
	perf_buffer__free(pb);
	execsnoop_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
