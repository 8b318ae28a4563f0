// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 04, user side: read getpgid() records from a perf buffer or a ring
 * buffer, and count how often the kernel had to wake us to do it. Options,
 * printing and the summary are in support.c. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <linux/perf_event.h>

#include "support.h"
#include "wakeups.skel.h"

static struct lab lab;
static const struct options *opts;
static struct counts counts;

/* The buffer --buffer picks (none: neither). */
static struct perf_buffer *pb;
static struct ring_buffer *rb;
static int ring_epoll_fd = -1; /* --edge-triggered: our own epoll on the ring */

/* The record callback: the ring buffer calls it for each record, and
 * handle_perf_event() for each perf sample. */
static int handle_record(void *ctx, void *data, size_t size)
{
	struct event e;

	/* A perf sample's data sits at 4 mod 8 (after an 8-byte header and a
	 * u32 size): copy it into an aligned local before reading its u64s. */
	if (size < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	counts.received++;
	show_record(&lab, &e);
	return 0;
}

/* The loss callback: the kernel found no room for `count` samples on `cpu`. */
static void handle_lost(void *ctx, int cpu, __u64 count)
{
	counts.lost += count;
}

/* The two perf records we ask for, as the kernel lays them out in the ring
 * (include/uapi/linux/perf_event.h, enum perf_event_type). */
struct perf_sample {
	struct perf_event_header header; /* PERF_RECORD_SAMPLE */
	__u32 size;                      /* PERF_SAMPLE_RAW: bytes in data */
	char data[];                     /* what bpf_perf_event_output() wrote, padded */
};

struct perf_lost {
	struct perf_event_header header; /* PERF_RECORD_LOST */
	__u64 id;
	__u64 lost;                      /* samples that found the ring full */
};

/* perf_buffer__new_raw() hands every record of a perf ring here, samples and
 * lost-sample reports alike (libbpf keeps the header 8-byte aligned). */
static enum bpf_perf_event_ret handle_perf_event(void *ctx, int cpu,
						 struct perf_event_header *header)
{
	struct perf_sample *s = (struct perf_sample *)header;
	struct perf_lost *l = (struct perf_lost *)header;

	/* TODO(04.3): a PERF_RECORD_SAMPLE's raw data goes to handle_record() (flush
	 * markers aside), a PERF_RECORD_LOST's count to handle_lost().
	 * README task 3. */
	/* END TODO(04.3) */
	return LIBBPF_PERF_EVENT_CONT;
}

static int open_perf_buffer(struct wakeups_bpf *skel)
{
	/* TODO(04.4): describe the BPF output event (wakeup_events = opts->wakeup_events)
	 * and open it on every CPU with perf_buffer__new_raw(); -errno if it fails.
	 * README task 4. */
	lab_todo("04.4", "the perf buffer is not opened");
	return -ENOSYS;
	/* END TODO(04.4) */
}

/* The ring buffer, and with --edge-triggered a second, edge-triggered epoll
 * on its fd: it reports the ring once per kernel wakeup, not while it holds
 * data, so the reader sleeps between wakeups (README: "... one that does"). */
static int open_ring_buffer(struct wakeups_bpf *skel)
{
	int fd = bpf_map__fd(skel->maps.events_ring);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

	rb = ring_buffer__new(fd, handle_record, NULL, NULL);
	if (!rb)
		return -errno;
	if (!opts->edge_triggered)
		return 0;
	ring_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (ring_epoll_fd < 0 || epoll_ctl(ring_epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return 0;
}

static int open_buffer(struct wakeups_bpf *skel)
{
	int err = 0;

	if (opts->buffer == BUFFER_PERF)
		err = open_perf_buffer(skel);
	else if (opts->buffer == BUFFER_RING)
		err = open_ring_buffer(skel);
	if (err)
		lab_error_errno(err, "cannot open the buffer");
	return err;
}

/* Wait up to timeout_ms for a wakeup and read what it announced: > 0 if
 * something was read (perf: the number of rings), 0 after the timeout. */
static int buffer_poll(int timeout_ms)
{
	struct epoll_event ev;
	int n;

	if (pb)
		return perf_buffer__poll(pb, timeout_ms);
	if (rb && ring_epoll_fd < 0)
		return ring_buffer__poll(rb, timeout_ms);
	if (rb) {
		n = epoll_wait(ring_epoll_fd, &ev, 1, timeout_ms);
		return n > 0 ? ring_buffer__consume(rb) : n < 0 ? -errno : 0;
	}
	return poll(NULL, 0, timeout_ms) < 0 ? -errno : 0; /* no buffer: only wait */
}

/* Read whatever is in every ring now, woken or not. */
static int buffer_consume(void)
{
	int n = 0;

	if (pb)
		n = perf_buffer__consume(pb);
	else if (rb)
		n = ring_buffer__consume(rb);
	return n < 0 ? n : 0;
}

static int configure(struct wakeups_bpf *skel)
{
	skel->rodata->buffer = opts->buffer;
	/* TODO(04.5): before load, size the ring (bpf_map__set_max_entries() on
	 * events_ring) and set the program's wakeup_bytes (skel->rodata).
	 * README task 5. */
	/* END TODO(04.5) */
	/* the flush program writes into the perf buffer: not needed otherwise */
	bpf_program__set_autoload(skel->progs.lab_perf_flush, opts->buffer == BUFFER_PERF);
	bpf_program__set_autoload(skel->progs.handle_getpgid, !opts->raw_tp);
	bpf_program__set_autoload(skel->progs.empty_raw_tp, opts->raw_tp);
	return 0;
}

static int poll_events(void)
{
	long long last_read = lab_now_ns();
	long switches = usage_now().ctxsw;

	/* TODO(04.6): until lab_should_stop(), buffer_poll(); count polls, timeouts and
	 * wakeups (records after a sleep: ctxsw grew); buffer_consume() every opts->poll_ms.
	 * README task 6. */
	lab_todo("04.6", "nothing polls the buffer");
	return -ENOSYS;
	/* END TODO(04.6) */
	return 0;
}

static int drain_events(struct wakeups_bpf *skel)
{
	int err = 0;

	/* TODO(04.7): read what no wakeup announced (buffer_consume()); for the perf
	 * buffer then lab_perf_flush_lost(skel->progs.lab_perf_flush) and read again.
	 * README task 7. */
	/* END TODO(04.7) */
	if (err < 0)
		lab_error_errno(err, "cannot drain the buffer");
	return err;
}

int main(int argc, char **argv)
{
	struct wakeups_bpf *skel = NULL;
	struct usage start;
	int err = -1;

	opts = parse_options(&lab, argc, argv);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_PERFBUF | LAB_NEED_RINGBUF |
				    LAB_NEED_RUN_ON_CPU | LAB_NEED_ATOMIC_FETCH))
		return 1;
	lab_install_signal_handlers();
	if (lab_fork_held_command(&lab))
		goto out;
	skel = wakeups_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	if (configure(skel))
		goto out;
	err = wakeups_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	/* the buffer before the programs: no record comes before its ring */
	err = open_buffer(skel);
	if (!err && (err = wakeups_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (err || (err = lab_seed_ready_release(&lab, skel->obj, describe())))
		goto out;
	lab_stall(&lab);
	start = usage_now();
	err = poll_events();
	/* detach, then wait out the runs in flight: the drain leaves the counts final */
	wakeups_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(skel);
	print_summary(&counts, skel->bss->dropped, start);
out:
	perf_buffer__free(pb);
	ring_buffer__free(rb);
	if (ring_epoll_fd >= 0)
		close(ring_epoll_fd);
	wakeups_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
