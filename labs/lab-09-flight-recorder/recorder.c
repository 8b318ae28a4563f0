// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 09, user side: a flight recorder. One perf ring per CPU that the kernel
 * overwrites, oldest first, and nobody reads; on a trigger (SIGUSR1, the end)
 * every ring is paused, read from its newest record back, and resumed, and the
 * newest records of all CPUs are printed by time. The rest is in support.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>

#include "lab.h"
#include "recorder.h"
#include "recorder.skel.h"
#include "support.h"

static struct lab lab;
static struct options opts = {
	.pages = 8,
	.last = 0, /* 0: every record the windows hold */
};
static struct dump dump;             /* what the current dump read (support.h) */
static unsigned long long lost;      /* PERF_RECORD_LOST counts, each counted once */

/* One CPU's ring: a perf event, and a read-only mapping of its pages. */
struct ring {
	int cpu;
	int fd;                              /* -1: no ring (an offline CPU) */
	struct perf_event_mmap_page *meta;   /* page 0: data_head, data_offset, data_size */
	const char *data;                    /* the data area: meta->data_size bytes */
	size_t map_size;                     /* the header page and the data pages */
	__u64 seen_head;                     /* data_head at the previous dump */
};

/* A PERF_RECORD_LOST: `count` records did not fit while the ring was paused.
 * A window can show it again in a later dump: count it only the first time. */
static void handle_lost(struct ring *r, __u64 pos, __u64 count)
{
	dump.window[r->cpu].lost += count;
	if ((__s64)(pos - r->seen_head) < 0) /* written after the previous dump */
		lost += count;
}

/* One perf record, copied out of the ring into aligned memory. */
static void handle_record(struct ring *r, __u64 pos, const void *rec)
{
	struct perf_event_header hdr;

	memcpy(&hdr, rec, sizeof(hdr));
	/* TODO(09.7): a PERF_RECORD_SAMPLE holds a __u32 size, then the event at
	 * byte 12 (4 mod 8: memcpy it out) for dump_add(); a PERF_RECORD_LOST
	 * holds an id, then the count for handle_lost(). README task 7. */
	/* END TODO(09.7) */
}

static int open_event(int cpu)
{
	long page = sysconf(_SC_PAGESIZE);

	/* TODO(09.2): perf_event_open() a PERF_COUNT_SW_BPF_OUTPUT software event
	 * on `cpu`: raw samples, written backward, a wakeup only per full ring.
	 * Return the fd or -errno. README task 2. */
	lab_todo("09.2", "open a BPF output perf event on each CPU");
	return -ENOSYS;
	/* END TODO(09.2) */
}

static int open_ring(struct ring *r, int cpu, int events_fd)
{
	r->cpu = cpu;
	r->fd = open_event(cpu);
	if (r->fd < 0)
		return r->fd;
	r->map_size = (1 + opts.pages) * sysconf(_SC_PAGESIZE);
	/* TODO(09.3): mmap() the header page and the data pages read-only (that
	 * makes the ring overwritable), set r->meta and r->data, and store r->fd
	 * in `events` at index cpu. README task 3. */
	lab_todo("09.3", "map each ring read-only and store its fd in events");
	return -ENOSYS;
	/* END TODO(09.3) */
}

/* Copy len bytes from ring position pos: they may run over the data area's
 * end and go on at its start. */
static void copy_out(const struct ring *r, __u64 pos, void *dst, size_t len)
{
	/* TODO(09.6): the offset is pos modulo data_size (a power of two); copy up
	 * to the area's end, the rest from its start. README task 6. */
	/* END TODO(09.6) */
}

/* Read one paused ring: from data_head, its newest record, towards older
 * ones, until the window wraps or ends. */
static void read_window(struct ring *r)
{
	static union { struct perf_event_header hdr; __u64 align[512]; } rec; /* 4 KiB, aligned */
	__u64 size = r->meta->data_size, head, pos;
	const char *end = "wrapped";

	/* TODO(09.5): from data_head (an acquire load), record by record: stop at
	 * a header of size 0 or a record running past head + data_size; note the
	 * window's end and r->seen_head. README task 5. */
	/* END TODO(09.5) */
}

/* PERF_EVENT_IOC_PAUSE_OUTPUT on every ring: 1 pauses it, 0 resumes it. */
static int pause_rings(struct ring *rings, int n, int pause)
{
	/* TODO(09.4): ioctl(fd, PERF_EVENT_IOC_PAUSE_OUTPUT, pause) on each ring
	 * that exists. README task 4. */
	lab_todo("09.4", "pause and resume the rings");
	return -ENOSYS;
	/* END TODO(09.4) */
}

/* The trigger: freeze every ring, read each window, let recording go on,
 * then merge by time and print the newest. */
static int dump_windows(struct ring *rings, int n, const char *reason)
{
	size_t first = 0;
	int err;

	dump_begin(&dump);
	err = pause_rings(rings, n, 1);
	if (err) {
		lab_error_errno(err, "cannot pause the rings");
		return err;
	}
	/* a write that began before the pause ends before we read */
	lab_wait_for_running_programs();
	for (int i = 0; i < n; i++)
		if (rings[i].fd >= 0)
			read_window(&rings[i]);
	err = pause_rings(rings, n, 0);
	if (err) {
		lab_error_errno(err, "cannot resume the rings");
		return err;
	}
	/* TODO(09.8): sort every CPU's records by time (qsort with by_time), and
	 * set `first` to the oldest of the newest opts.last (0: all). README task 8. */
	/* END TODO(09.8) */
	print_dump(&dump, reason, first, lab.opt.quiet);
	return 0;
}

/* The rings, before the attach: no event comes before its ring. */
static int open_buffer(struct recorder_bpf *skel, struct ring *rings, int n)
{
	for (int cpu = 0; cpu < n; cpu++) {
		int err = open_ring(&rings[cpu], cpu, bpf_map__fd(skel->maps.events));

		if (err == -ENODEV) /* an offline CPU: it runs nothing, needs no ring */
			continue;
		if (err) {
			lab_error_errno(err, "cannot open CPU %d's ring", cpu);
			return err;
		}
	}
	return dump_init(&dump, n, opts.pages * sysconf(_SC_PAGESIZE));
}

static void close_buffer(struct ring *rings, int n)
{
	for (int i = 0; rings && i < n; i++) {
		if (rings[i].meta)
			munmap(rings[i].meta, rings[i].map_size);
		if (rings[i].fd >= 0)
			close(rings[i].fd);
	}
	free(rings);
	dump_free(&dump);
}

/* Nothing to read while recording: wait for a trigger or the end. */
static int poll_events(struct ring *rings, int n)
{
	while (!lab_should_stop(&lab)) {
		if (wait_for_trigger(LAB_POLL_MS)) {
			int err = dump_windows(rings, n, "SIGUSR1");

			if (err)
				return err;
		}
	}
	return 0;
}

/* The end of the run (Ctrl-C, -d, the command's exit) is a trigger too. */
static int drain_events(struct ring *rings, int n)
{
	return dump_windows(rings, n, "end");
}

int main(int argc, char **argv)
{
	int n = libbpf_num_possible_cpus(), err = -1;
	struct ring *rings = calloc(n > 0 ? n : 1, sizeof(*rings));
	struct recorder_bpf *skel = NULL;
	char by_cpu[256];

	parse_args(&lab, &opts, argc, argv);
	lab_install_signal_handlers();
	for (int i = 0; rings && i < n; i++)
		rings[i].fd = -1;
	if (!rings || n <= 0 || lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_PERFBUF) ||
	    lab_fork_held_command(&lab))
		goto out;
	install_dump_trigger(); /* SIGUSR1: dump now */
	skel = recorder_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	err = recorder_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	err = open_buffer(skel, rings, n);
	if (!err && (err = recorder_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (err || (err = lab_seed_ready_release(&lab, skel->obj, "getpgid() into overwritable rings")))
		goto out;
	err = poll_events(rings, n);
	recorder_bpf__detach(skel);        /* no new run after this, */
	lab_wait_for_running_programs();   /* nor a run still in flight */
	if (!err)
		err = drain_events(rings, n);
	lab_summary("dumps=%u printed=%llu produced=%llu lost=%llu dropped=%llu produced_by_cpu=%s",
		    dump.number, dump.printed, read_produced(skel->maps.seqs, by_cpu, sizeof(by_cpu)),
		    lost, (unsigned long long)skel->bss->dropped, by_cpu);
out:
	close_buffer(rings, n);
	recorder_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
