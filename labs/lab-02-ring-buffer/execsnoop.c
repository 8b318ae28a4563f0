// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 02, user side: read execve() records from the BPF ring buffer. */
#include <errno.h>
#include <string.h>

#include "lab.h"
#include "execsnoop.h"
#include "execsnoop.skel.h"

enum { OPT_RING_SIZE = 0x200, OPT_PATH_PREFIX };

static struct lab lab;
static unsigned long ring_size = 256 * 1024; /* bytes, shared by all CPUs */
static const char *path_prefix = "";
static unsigned long long received;

static const struct argp_option options[] = {
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring buffer size: a power of two, at least one page (default 262144)", 0 },
	{ "path-prefix", OPT_PATH_PREFIX, "PREFIX", 0,
	  "keep only execs whose filename starts with PREFIX", 0 },
	{ 0 },
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_RING_SIZE:
		ring_size = lab_parse_ring_size(state, arg);
		return 0;
	case OPT_PATH_PREFIX:
		if (strlen(arg) >= PREFIX_MAX)
			lab_usage_error(state, "--path-prefix is limited to %d bytes", PREFIX_MAX - 1);
		path_prefix = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.doc = "Lab 02: trace execve() through the BPF ring buffer.",
};

static void print_event(const struct event *e)
{
	printf("execve pid=%d tid=%d comm=", e->pid, e->tid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	fputs(" file=", stdout);
	lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	putchar('\n');
}

/* ring_buffer__poll() and __consume() call this once per submitted record,
 * in reservation order; discarded records are skipped by libbpf. */
static int handle_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)size;
	received++;
	if (!lab.opt.quiet)
		print_event(data);
	return 0;
}

static void configure(struct execsnoop_bpf *skel)
{
	/* TODO(02.6): size the ring before load: bpf_map__set_max_entries() on
	 * skel->maps.events with `ring_size`. For a ring buffer, max_entries is
	 * the size of its data area in bytes. */

	/* END TODO(02.6) */

	/* read-only data is frozen at load: the verifier sees these as constants */
	memcpy((char *)skel->rodata->path_prefix, path_prefix, strlen(path_prefix));
	skel->rodata->prefix_len = strlen(path_prefix);
}

static struct ring_buffer *open_buffer(struct execsnoop_bpf *skel)
{
	struct ring_buffer *rb;

	/* TODO(02.7): open the ring buffer with ring_buffer__new(): the fd of
	 * skel->maps.events, handle_event, no context, no options. libbpf mmaps
	 * the consumer page (read-write), the producer page and the data
	 * (read-only), and adds the map's fd to an epoll set. On failure it
	 * returns NULL and sets errno. */
	lab_todo("02.7", "the ring buffer is not opened");
	(void)skel;
	(void)handle_event;
	rb = NULL;
	/* END TODO(02.7) */
	return rb;
}

static int poll_events(struct ring_buffer *rb)
{
	/* TODO(02.8): until lab_should_stop(&lab) says stop, wait for records
	 * with ring_buffer__poll(rb, LAB_POLL_MS): the number of records read, or
	 * a negative error, where -EINTR (a signal) is not an error. */
	lab_todo("02.8", "nothing polls the ring buffer");
	(void)rb;
	return -ENOSYS;
	/* END TODO(02.8) */
	return 0;
}

static int drain_events(struct ring_buffer *rb)
{
	int err;

	/* TODO(02.9): the final drain: ring_buffer__consume(rb) reads every
	 * record still in the ring, without waiting. It returns how many it read
	 * or a negative error. Unlike a perf buffer, nothing is reported lazily:
	 * the drops were counted by the BPF program itself. */
	(void)rb;
	err = 0;
	/* END TODO(02.9) */
	return err;
}

int main(int argc, char **argv)
{
	struct execsnoop_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err = -1;

	lab_parse_args(&lab, "lab-02", &argp, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_RINGBUF) || lab_fork_held_command(&lab))
		goto out;

	skel = execsnoop_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	if (lab_expect_map_type(skel->maps.events, BPF_MAP_TYPE_RINGBUF, "02.1"))
		goto out;
	configure(skel);
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

	rb = open_buffer(skel);
	err = rb ? lab_seed_ready_release(&lab, skel->obj, "execve") : -1;
	if (err)
		goto out;
	lab_stall(&lab);
	err = poll_events(rb);
	/* detach, then wait out the runs in flight: no new records or counts
	 * from here on, so the numbers below are final */
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
