// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lab 06, user side: no event stream, only state to read when asked.
 *
 *   lab-06 [run] [OPTIONS] [-- COMMAND]   load, pin the maps, keep them current until stopped
 *   lab-06 query --pid PID [--name NAME]  one process: its record and its syscall counters
 *   lab-06 top [-n K] [--name NAME]       the K busiest processes
 *   lab-06 cleanup [--name NAME]          remove the pins that killed runs left behind
 *
 * Each run pins its maps in a directory of its own, /sys/fs/bpf/lab-06/NAME
 * (NAME: its pid, or --name): query and top open them by path, from any
 * process, with no round trip through run. support.c holds the rest (options,
 * pin directories, printing): you can skip it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <bpf/bpf.h>

#include "lab.h"
#include "statecache.h"
#include "statecache.skel.h"
#include "support.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "not supported", missing from libc's errno.h */
#endif

static struct lab lab;

/* counts is a per-CPU map: a lookup from user space gives one u64 per
 * possible CPU (lab_ncpus()), and the count is their sum. */
__u64 sum_cpus(const __u64 *values)
{
	__u64 sum = 0;

	for (int cpu = 0; cpu < lab_ncpus(); cpu++)
		sum += values[cpu];
	return sum;
}

/* TODO(06.5): with --max-entries N (max_entries != 0), size both maps to N
 * with bpf_map__set_max_entries(), before load. README task 5. */
static void size_maps(struct statecache_bpf *skel, unsigned int max_entries)
{
	if (max_entries) {
		bpf_map__set_max_entries(skel->maps.counts, max_entries);
		bpf_map__set_max_entries(skel->maps.procs, max_entries);
	}
}
/* END TODO(06.5) */

/* TODO(06.6): pin both maps at pins->counts and pins->procs with
 * bpf_map__pin(); unpin_maps() removes them with bpf_map__unpin().
 * README task 6. */
static int pin_maps(struct statecache_bpf *skel, const struct pins *pins)
{
	int err = bpf_map__pin(skel->maps.counts, pins->counts);

	if (!err)
		err = bpf_map__pin(skel->maps.procs, pins->procs);
	if (err)
		lab_error_errno(err, "cannot pin the maps in %s", pins->dir);
	return err;
}

static void unpin_maps(struct statecache_bpf *skel)
{
	/* a map that was not pinned says so (EINVAL): nothing to undo */
	bpf_map__unpin(skel->maps.counts, NULL);
	bpf_map__unpin(skel->maps.procs, NULL);
}
/* END TODO(06.6) */

/* lab-06 query: one process's state is a few keyed lookups, no scan. */
static int query(const struct options *o)
{
	struct counter found[MAX_SYSCALL_NR];
	__u64 *percpu = calloc(lab_ncpus(), sizeof(*percpu));
	int counts_fd, procs_fd;
	__u32 pid = o->pid;
	struct proc rec;
	bool known = false;
	size_t n = 0;

	if (!percpu || open_pins(o, &counts_fd, &procs_fd)) {
		free(percpu);
		return 1;
	}
	/* TODO(06.7): look up procs[pid] (set `known`), and counts[{pid, nr}]
	 * for each nr below MAX_SYSCALL_NR into found[n++]. README task 7. */
	known = !bpf_map_lookup_elem(procs_fd, &pid, &rec);
	for (__u32 nr = 0; nr < MAX_SYSCALL_NR; nr++) {
		struct count_key key = { .tgid = pid, .nr = nr };

		if (!bpf_map_lookup_elem(counts_fd, &key, percpu))
			found[n++] = (struct counter){ .key = key, .calls = sum_cpus(percpu) };
	}
	/* END TODO(06.7) */
	close_pins(counts_fd, procs_fd);
	free(percpu);
	if (!known && !n) {
		lab_error("nothing known of pid %u: not traced, or evicted", pid);
		return 1;
	}
	print_query(pid, known ? &rec : NULL, found, n);
	return 0;
}

/* Every counter of the map into keys[] and values[] (room for `room` keys,
 * lab_ncpus() values each): returns how many, or -1. */
long read_counters(int fd, struct count_key *keys, __u64 *values, __u32 room)
{
	/* TODO(06.8): read the whole map with bpf_map_lookup_batch(), each
	 * call's out_batch cursor the next call's in_batch. README task 8. */
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 cursor, count, total = 0;
	bool first = true;
	int err;

	do {
		count = room - total;
		err = bpf_map_lookup_batch(fd, first ? NULL : &cursor, &cursor, keys + total,
					   values + (size_t)total * lab_ncpus(), &count, &opts);
		first = false;
		if (err && errno != ENOENT && errno != ENOSPC) {
			if (!total && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP))
				return read_counters_by_key(fd, keys, values, room);
			lab_error_errno(errno, "cannot read the counters");
			return -1;
		}
		total += count;
	} while (!err && total < room);
	return total;
	/* END TODO(06.8) */
}

/* Nothing to poll: the kernel keeps the maps current by itself. Wake up to
 * notice a stop, and print a table every --interval seconds. */
static int watch(struct statecache_bpf *skel, const struct options *o)
{
	long long next = lab.start_ns + o->interval * 1000000000LL;

	while (!lab_should_stop(&lab)) {
		poll(NULL, 0, LAB_POLL_MS); /* a signal (Ctrl-C, the command's end) cuts it short */
		if (!o->interval || lab.opt.quiet || lab_now_ns() < next)
			continue;
		if (show_table(bpf_map__fd(skel->maps.counts), bpf_map__fd(skel->maps.procs), o->top))
			return -1;
		next += o->interval * 1000000000LL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct options *o = parse_command_line(&lab, argc, argv);
	struct pins pins = { .dir_fd = -1 };
	struct statecache_bpf *skel = NULL;
	int err = -1;

	if (o->command != CMD_RUN) /* query, top, cleanup: read what a run pinned */
		return o->command == CMD_QUERY ? query(o) : cmd_top_or_cleanup(o);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_LRU | LAB_NEED_BPFFS))
		return 1;
	lab_install_signal_handlers();
	if (claim_pins(&pins, o) || lab_fork_held_command(&lab))
		goto out;
	skel = statecache_bpf__open();
	if (!skel)
		lab_bpf_error(errno, "cannot open the BPF object");
	if (!skel || lab_expect_map_type(skel->maps.counts, BPF_MAP_TYPE_LRU_PERCPU_HASH, "06.1"))
		goto out;
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	choose_programs(skel, o->empty);
	size_maps(skel, o->max_entries);
	err = statecache_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	err = pin_maps(skel, &pins);
	if (!err && (err = statecache_bpf__attach(skel)))
		lab_bpf_error(err, "cannot attach the BPF programs");
	if (!err)
		err = lab_seed_ready_release(&lab, skel->obj, o->empty ? "nothing (--empty)" : pins.what);
	if (err)
		goto out;
	lab_stall(&lab); /* with --stall-ms: there is no consumer to stall, and nothing is lost */
	err = watch(skel, o);
	statecache_bpf__detach(skel);     /* then wait out the runs in flight: */
	lab_wait_for_running_programs();  /* the maps no longer change, the report is exact */
	if (!err)
		err = report(skel, o, lab.opt.quiet);
out:
	if (skel)
		unpin_maps(skel);
	release_pins(&pins);
	statecache_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
