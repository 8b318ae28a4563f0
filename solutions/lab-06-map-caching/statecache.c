// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lab 06, user side: no event stream, only state to read when asked.
 *
 *   lab-06 [run] [OPTIONS] [-- COMMAND]  load, pin the maps, keep them current until stopped
 *   lab-06 query --pid PID               one process: its record and its syscall counters
 *   lab-06 top [-n K]                    the K busiest processes
 *   lab-06 cleanup                       remove the pins a killed run left behind
 *
 * query and top open the maps run pinned under /sys/fs/bpf/lab-06: any
 * process may read them, with no round trip through run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lab.h"
#include "statecache.h"
#include "statecache.skel.h"

#define PIN_DIR    "/sys/fs/bpf/lab-06"
#define PIN_COUNTS PIN_DIR "/counts"
#define PIN_PROCS  PIN_DIR "/procs"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "not supported", missing from libc's errno.h */
#endif

static struct lab lab;

/* ---- syscall names ------------------------------------------------------ */

/* The usual syscalls by name; the rest print as nr<number>. */
#define GENERIC_SYSCALLS(X) \
	X(read) X(write) X(close) X(fstat) X(lseek) X(mmap) X(mprotect) X(munmap) \
	X(brk) X(rt_sigaction) X(rt_sigprocmask) X(rt_sigreturn) X(ioctl) X(pread64) \
	X(pwrite64) X(readv) X(writev) X(sched_yield) X(mremap) X(madvise) X(dup) \
	X(dup3) X(nanosleep) X(getpid) X(sendfile) X(socket) X(connect) X(accept) \
	X(accept4) X(sendto) X(recvfrom) X(sendmsg) X(recvmsg) X(shutdown) X(bind) \
	X(listen) X(getsockname) X(getpeername) X(setsockopt) X(getsockopt) X(clone) \
	X(clone3) X(execve) X(execveat) X(exit) X(exit_group) X(wait4) X(waitid) \
	X(kill) X(tgkill) X(uname) X(fcntl) X(flock) X(fsync) X(fdatasync) \
	X(ftruncate) X(getdents64) X(getcwd) X(chdir) X(fchdir) X(fchmod) X(umask) \
	X(getrlimit) X(prlimit64) X(getrusage) X(sysinfo) X(getuid) X(getgid) \
	X(geteuid) X(getegid) X(setpgid) X(getppid) X(getpgid) X(getsid) X(setsid) \
	X(gettid) X(prctl) X(futex) X(sched_getaffinity) X(sched_setaffinity) \
	X(set_tid_address) X(set_robust_list) X(rseq) X(clock_gettime) \
	X(clock_nanosleep) X(gettimeofday) X(openat) X(mkdirat) X(unlinkat) \
	X(renameat) X(readlinkat) X(newfstatat) X(statx) X(faccessat) X(faccessat2) \
	X(pselect6) X(ppoll) X(epoll_pwait) X(epoll_ctl) X(epoll_create1) X(eventfd2) \
	X(pipe2) X(getrandom) X(memfd_create) X(close_range) X(membarrier) \
	X(io_uring_setup) X(io_uring_enter)
/* x86-64 keeps older calls that newer architectures only have as *at() forms */
#define X86_64_SYSCALLS(X) \
	X(open) X(stat) X(lstat) X(poll) X(access) X(pipe) X(select) X(dup2) X(pause) \
	X(alarm) X(fork) X(vfork) X(getdents) X(rename) X(mkdir) X(rmdir) X(unlink) \
	X(readlink) X(chmod) X(chown) X(getpgrp) X(arch_prctl) X(epoll_wait) \
	X(epoll_create) X(creat) X(time)

static const char *syscall_name(unsigned int nr, char *buf, size_t size)
{
#define NAME_CASE(name) case SYS_##name: return #name;
	switch (nr) {
	GENERIC_SYSCALLS(NAME_CASE)
#ifdef __x86_64__
	X86_64_SYSCALLS(NAME_CASE)
#endif
	}
#undef NAME_CASE
	snprintf(buf, size, "nr%u", nr);
	return buf;
}

/* ---- reading the maps: the same code for run, query and top -------------- */

struct counter {
	struct count_key key;
	__u64 calls;
};

/* One process in the table: its counters summed. */
struct row {
	__u32 pid;
	__u64 syscalls;
	__u32 busiest;          /* the syscall it made most */
	__u64 busiest_calls;
};

struct table {
	struct row *rows;       /* busiest first */
	size_t nrows;
	size_t ncounters;
	__u64 syscalls;         /* every counter, summed */
};

static __u32 max_entries_of(int map_fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(map_fd, &info, &len) ? 0 : info.max_entries;
}

/* Kernels before 5.6 have no batch operations: walk the keys one by one. A
 * key evicted while we stand on it sends get_next_key back to the first key,
 * so on a busy map some counters may come twice; batches, which walk bucket
 * by bucket, do not have that problem. */
static long read_counters_by_key(int fd, struct count_key *keys, __u64 *calls, __u32 room)
{
	struct count_key key, next;
	__u32 n = 0;
	bool first = true;

	while (n < room && !bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &calls[n]))
			keys[n++] = key;
	}
	if (n < room && errno != ENOENT) {
		lab_error_errno(errno, "cannot walk the counters");
		return -1;
	}
	return n;
}

/* Every counter of the map, into keys[] and calls[] (room for `room`):
 * returns how many, or -1. */
static long read_counters(int fd, struct count_key *keys, __u64 *calls, __u32 room)
{
	/* TODO(06.8): read the whole map in a few system calls with
	 * bpf_map_lookup_batch(fd, in_batch, out_batch, keys, values, &count,
	 * &opts). The first call starts with in_batch NULL; each call fills
	 * out_batch (a __u32 cursor for a hash map) for the next one to pass as
	 * in_batch. count is in/out: room left in keys[] and calls[], then how
	 * many entries were read. It fails with ENOENT after the last entry,
	 * which may come with the last entries (count > 0). ENOSPC means no
	 * room for the next bucket: stop there. On a kernel without batches
	 * (EINVAL, ENOTSUPP, EOPNOTSUPP) use read_counters_by_key() instead. */
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 cursor, count, total = 0;
	bool first = true;
	int err;

	do {
		count = room - total;
		err = bpf_map_lookup_batch(fd, first ? NULL : &cursor, &cursor, keys + total,
					   calls + total, &count, &opts);
		first = false;
		if (err && errno != ENOENT && errno != ENOSPC) {
			if (!total && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP))
				return read_counters_by_key(fd, keys, calls, room);
			lab_error_errno(errno, "cannot read the counters");
			return -1;
		}
		total += count;
	} while (!err && total < room);
	return total;
	/* END TODO(06.8) */
}

static int by_process_then_syscall(const void *a, const void *b)
{
	const struct count_key *x = &((const struct counter *)a)->key;
	const struct count_key *y = &((const struct counter *)b)->key;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return x->nr < y->nr ? -1 : x->nr > y->nr;
}

static int busiest_first(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->syscalls != y->syscalls)
		return x->syscalls > y->syscalls ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Read every counter and sum them per process. */
static int read_table(int counts_fd, struct table *t)
{
	__u32 room = max_entries_of(counts_fd);
	struct count_key *keys = calloc(room, sizeof(*keys));
	__u64 *calls = calloc(room, sizeof(*calls));
	struct counter *c = NULL;
	long n = -1;

	memset(t, 0, sizeof(*t));
	if (!room || !keys || !calls) {
		lab_error("cannot size the table of counters");
		goto out;
	}
	n = read_counters(counts_fd, keys, calls, room);
	if (n < 0)
		goto out;
	c = calloc(n + 1, sizeof(*c));
	t->rows = calloc(n + 1, sizeof(*t->rows));
	if (!c || !t->rows) {
		lab_error("out of memory for %ld counters", n);
		n = -1;
		goto out;
	}
	for (long i = 0; i < n; i++)
		c[i] = (struct counter){ .key = keys[i], .calls = calls[i] };
	qsort(c, n, sizeof(*c), by_process_then_syscall);
	for (long i = 0; i < n; i++) {
		struct row *r = t->nrows ? &t->rows[t->nrows - 1] : NULL;

		if (!r || r->pid != c[i].key.tgid) {
			r = &t->rows[t->nrows++];
			r->pid = c[i].key.tgid;
		}
		r->syscalls += c[i].calls;
		if (c[i].calls > r->busiest_calls) {
			r->busiest = c[i].key.nr;
			r->busiest_calls = c[i].calls;
		}
		t->syscalls += c[i].calls;
	}
	t->ncounters = n;
	qsort(t->rows, t->nrows, sizeof(*t->rows), busiest_first);
out:
	free(keys);
	free(calls);
	free(c);
	if (n < 0) {
		free(t->rows);
		t->rows = NULL;
	}
	return n < 0 ? -1 : 0;
}

/* "proc pid=... file=..." for a process; rec and r may be NULL (not known). */
static void print_proc(__u32 pid, const struct proc *rec, const struct row *r)
{
	static const struct proc unknown;
	const struct proc *p = rec ? rec : &unknown;
	char buf[16];

	printf("proc pid=%u ppid=%u comm=", pid, p->ppid);
	lab_put_quoted(stdout, p->comm, sizeof(p->comm));
	printf(" syscalls=%llu busiest=%s busiest_calls=%llu execs=%u state=%s"
	       " first_ns=%llu last_ns=%llu file=",
	       r ? (unsigned long long)r->syscalls : 0ULL,
	       r ? syscall_name(r->busiest, buf, sizeof(buf)) : "-",
	       r ? (unsigned long long)r->busiest_calls : 0ULL, p->execs,
	       !rec ? "unknown" : p->exited ? "exited" : "running", p->first_ns, p->last_ns);
	lab_put_quoted(stdout, p->file, sizeof(p->file));
	putchar('\n');
}

/* The K busiest processes, with their records. */
static void print_table(const struct table *t, int procs_fd, unsigned int k)
{
	printf("table processes=%zu counters=%zu syscalls=%llu\n", t->nrows, t->ncounters,
	       (unsigned long long)t->syscalls);
	for (size_t i = 0; i < t->nrows && i < k; i++) {
		struct proc rec;
		bool known = !bpf_map_lookup_elem(procs_fd, &t->rows[i].pid, &rec);

		print_proc(t->rows[i].pid, known ? &rec : NULL, &t->rows[i]);
	}
	fflush(stdout);
}

static int show_table(int counts_fd, int procs_fd, unsigned int k)
{
	struct table t;

	if (read_table(counts_fd, &t))
		return -1;
	print_table(&t, procs_fd, k);
	free(t.rows);
	return 0;
}

static int most_calls_first(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->key.nr < y->key.nr ? -1 : x->key.nr > y->key.nr;
}

/* One process's record and counters. */
static int query_process(int counts_fd, int procs_fd, __u32 pid)
{
	struct counter found[MAX_SYSCALL_NR];
	struct row sum = { .pid = pid };
	struct proc rec;
	bool known;
	size_t n = 0;
	char buf[16];

	/* TODO(06.7): one process's state is a few keyed lookups, no scan. Its
	 * record is procs[pid]: bpf_map_lookup_elem(procs_fd, &pid, &rec)
	 * returns 0 when it is there (set `known`). Its counters are
	 * counts[{pid, nr}] for every nr below MAX_SYSCALL_NR: put each one
	 * found, key and calls, in found[n++]. */
	known = !bpf_map_lookup_elem(procs_fd, &pid, &rec);
	for (__u32 nr = 0; nr < MAX_SYSCALL_NR; nr++) {
		struct count_key key = { .tgid = pid, .nr = nr };

		if (!bpf_map_lookup_elem(counts_fd, &key, &found[n].calls))
			found[n++].key = key;
	}
	/* END TODO(06.7) */

	if (!known && !n) {
		lab_error("nothing known of pid %u: not traced, or evicted", pid);
		return -1;
	}
	qsort(found, n, sizeof(*found), most_calls_first);
	for (size_t i = 0; i < n; i++)
		sum.syscalls += found[i].calls;
	if (n) {
		sum.busiest = found[0].key.nr;
		sum.busiest_calls = found[0].calls;
	}
	print_proc(pid, known ? &rec : NULL, n ? &sum : NULL);
	for (size_t i = 0; i < n; i++)
		printf("syscall pid=%u nr=%u name=%s calls=%llu\n", pid, found[i].key.nr,
		       syscall_name(found[i].key.nr, buf, sizeof(buf)),
		       (unsigned long long)found[i].calls);
	return 0;
}

/* How many records procs holds. */
static size_t count_records(int procs_fd)
{
	__u32 pid, next;
	size_t n = 0;

	while (!bpf_map_get_next_key(procs_fd, n ? &pid : NULL, &next)) {
		pid = next;
		n++;
	}
	return n;
}

/* ---- the pins -------------------------------------------------------------- */

/*
 * run creates PIN_DIR and holds an flock on it while it runs. The kernel
 * drops the lock when the process dies, however it dies: a PIN_DIR nobody
 * holds was left by a run that was killed (SIGKILL does not let it unpin).
 */
static int pin_dir_fd = -1;

static int open_pin_dir(void)
{
	return open(PIN_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static bool pin_dir_in_use(int dir_fd)
{
	return flock(dir_fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
}

static int claim_pin_dir(void)
{
	int fd;

	if (!mkdir(PIN_DIR, 0700)) {
		pin_dir_fd = open_pin_dir();
		if (pin_dir_fd >= 0 && !flock(pin_dir_fd, LOCK_EX | LOCK_NB))
			return 0;
		lab_error_errno(errno, "cannot lock %s", PIN_DIR);
		if (pin_dir_fd >= 0)
			close(pin_dir_fd);
		pin_dir_fd = -1;
		rmdir(PIN_DIR);
		return -1;
	}
	if (errno != EEXIST) {
		lab_error_errno(errno, "cannot create %s", PIN_DIR);
		return -1;
	}
	fd = open_pin_dir();
	if (fd >= 0 && pin_dir_in_use(fd))
		lab_error("another lab-06 run is active (its maps are pinned in %s): stop it first",
			  PIN_DIR);
	else
		lab_error("stale pins in %s, left by a run that was killed: "
			  "remove them with lab-06 cleanup", PIN_DIR);
	if (fd >= 0)
		close(fd);
	return -1;
}

static void release_pin_dir(void)
{
	if (pin_dir_fd < 0)
		return;
	if (rmdir(PIN_DIR))
		lab_error_errno(errno, "cannot remove %s", PIN_DIR);
	close(pin_dir_fd);
	pin_dir_fd = -1;
}

/* TODO(06.6): make the maps reachable by path. After load, pin each map
 * with bpf_map__pin(map, path): PIN_COUNTS and PIN_PROCS, in PIN_DIR that
 * claim_pin_dir() has created. A pin is a file in bpffs that holds a
 * reference: the map outlives every fd, and any process can open it with
 * bpf_obj_get(path). Say why if it fails (lab_error_errno). unpin_maps()
 * undoes it with bpf_map__unpin(map, NULL) (the path given to pin): else
 * the maps stay in the kernel after we exit. */
static int pin_maps(struct statecache_bpf *skel)
{
	int err = bpf_map__pin(skel->maps.counts, PIN_COUNTS);

	if (!err)
		err = bpf_map__pin(skel->maps.procs, PIN_PROCS);
	if (err)
		lab_error_errno(err, "cannot pin the maps in %s", PIN_DIR);
	return err;
}

static void unpin_maps(struct statecache_bpf *skel)
{
	/* a map that was not pinned says so (EINVAL): nothing to undo */
	bpf_map__unpin(skel->maps.counts, NULL);
	bpf_map__unpin(skel->maps.procs, NULL);
}
/* END TODO(06.6) */

/* A pinned map of lab-06, checked to be what we think it is. */
static int open_pinned(const char *path, __u32 key_size, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		if (errno == ENOENT)
			lab_error("nothing pinned at %s: is lab-06 run running?", path);
		else if (errno == EPERM || errno == EACCES)
			lab_error("cannot open %s: needs root, run it with sudo", path);
		else
			lab_error_errno(errno, "cannot open %s", path);
		return -1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size != key_size ||
	    info.value_size != value_size) {
		lab_error("%s is not a map of this lab-06", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int open_pins(int *counts_fd, int *procs_fd)
{
	*procs_fd = open_pinned(PIN_PROCS, sizeof(__u32), sizeof(struct proc));
	*counts_fd = *procs_fd < 0 ? -1 :
		     open_pinned(PIN_COUNTS, sizeof(struct count_key), sizeof(__u64));
	return *counts_fd < 0 ? -1 : 0;
}

static void close_pins(int counts_fd, int procs_fd)
{
	if (counts_fd >= 0)
		close(counts_fd);
	if (procs_fd >= 0)
		close(procs_fd);
}

/* ---- lab-06 run ------------------------------------------------------------ */

enum { OPT_EMPTY = 0x200, OPT_USAGE };

static unsigned int interval = 5;        /* seconds between tables, 0: only at the end */
static unsigned int top_rows = 10;
static unsigned int max_entries;         /* 0: the defaults of statecache.h */
static bool empty_program;

static const struct argp_option run_options[] = {
	{ "interval", 'i', "SEC", 0, "print the top table every SEC seconds (default 5, 0: at the end only)", 0 },
	{ "top", 'n', "K", 0, "processes in each table (default 10)", 0 },
	{ "max-entries", 'm', "N", 0, "entries of each LRU map (default 8192 records, 65536 counters)", 0 },
	{ "empty", OPT_EMPTY, NULL, 0, "attach an empty program to sys_enter instead of the cache "
	  "(the benchmark's baseline)", 0 },
	{ 0 },
};

static error_t parse_run(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		interval = lab_parse_uint(state, "--interval", arg, 0, 3600);
		return 0;
	case 'n':
		top_rows = lab_parse_uint(state, "--top", arg, 1, 100000);
		return 0;
	case 'm':
		max_entries = lab_parse_uint(state, "--max-entries", arg, 1, 1 << 20);
		return 0;
	case OPT_EMPTY:
		empty_program = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp run_argp = {
	.options = run_options,
	.parser = parse_run,
	.doc = "Lab 06: per-process state cached in kernel maps, read on demand. "
	       "lab-06 [run] loads, pins the maps in " PIN_DIR " and keeps them current until "
	       "stopped; the maps are read by: lab-06 query --pid PID, lab-06 top [-n K]. "
	       "lab-06 cleanup removes the pins of a run that was killed.",
};

/* The cache's programs, or with --empty only the baseline. */
static void choose_programs(struct statecache_bpf *skel)
{
	bpf_program__set_autoload(skel->progs.empty_sys_enter, empty_program);
	bpf_program__set_autoload(skel->progs.count_syscall, !empty_program);
	bpf_program__set_autoload(skel->progs.handle_exec, !empty_program);
	bpf_program__set_autoload(skel->progs.handle_fork, !empty_program);
	bpf_program__set_autoload(skel->progs.handle_exit, !empty_program);
}

/* Nothing to poll: the kernel keeps the maps current by itself. Wake up to
 * notice a stop, and print a table every `interval` seconds. */
static int watch(struct statecache_bpf *skel)
{
	long long next = lab.start_ns + interval * 1000000000LL;

	while (!lab_should_stop(&lab)) {
		poll(NULL, 0, LAB_POLL_MS); /* a signal (Ctrl-C, the command's end) cuts it short */
		if (!interval || lab.opt.quiet || lab_now_ns() < next)
			continue;
		if (show_table(bpf_map__fd(skel->maps.counts), bpf_map__fd(skel->maps.procs),
			       top_rows))
			return -1;
		next += interval * 1000000000LL;
	}
	return 0;
}

/* After detach: the last table and the summary, from counts that are final. */
static int report(struct statecache_bpf *skel)
{
	int counts_fd = bpf_map__fd(skel->maps.counts), procs_fd = bpf_map__fd(skel->maps.procs);
	struct table t;

	if (read_table(counts_fd, &t))
		return -1;
	if (!lab.opt.quiet)
		print_table(&t, procs_fd, top_rows);
	lab_summary("records=%zu counters=%zu syscalls=%llu missed=%llu",
		    count_records(procs_fd), t.ncounters,
		    (unsigned long long)t.syscalls, (unsigned long long)skel->bss->missed);
	free(t.rows);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct statecache_bpf *skel = NULL;
	bool pinned = false;
	int err = -1;

	lab_parse_args(&lab, "lab-06", &run_argp, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_BPFFS | LAB_NEED_LRU) || claim_pin_dir() ||
	    lab_fork_held_command(&lab))
		goto out;

	skel = statecache_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	if (lab_expect_map_type(skel->maps.counts, BPF_MAP_TYPE_LRU_HASH, "06.1") ||
	    lab_expect_map_type(skel->maps.procs, BPF_MAP_TYPE_LRU_HASH, "06.1"))
		goto out;
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	choose_programs(skel);

	/* TODO(06.5): with --max-entries N (max_entries != 0), bound both maps
	 * to N entries with bpf_map__set_max_entries(). Only before load: the
	 * kernel allocates every entry of an LRU hash when the map is created,
	 * and its size never changes afterwards. */
	if (max_entries) {
		bpf_map__set_max_entries(skel->maps.counts, max_entries);
		bpf_map__set_max_entries(skel->maps.procs, max_entries);
	}
	/* END TODO(06.5) */

	err = statecache_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	err = pin_maps(skel);
	if (err)
		goto out;
	pinned = true;
	err = statecache_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}
	err = lab_seed_ready_release(&lab, skel->obj, empty_program ? "nothing (--empty)" : "syscalls and lifecycles");
	if (err)
		goto out;
	lab_stall(&lab); /* with --stall-ms: there is no consumer to stall, and nothing is lost */
	err = watch(skel);
	/* detach, then wait out the runs in flight: from here on the maps do
	 * not change, so the report is exact */
	statecache_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = report(skel);
out:
	if (pinned)
		unpin_maps(skel);
	release_pin_dir();
	statecache_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}

/* ---- lab-06 query, top, cleanup ------------------------------------------- */

static __u32 query_pid;

static const struct argp_option query_options[] = {
	{ "pid", 'p', "PID", 0, "the process to show (required)", 0 },
	{ "help", 'h', NULL, 0, "show this help", 0 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "show a short usage line", 0 },
	{ 0 },
};

static const struct argp_option top_options[] = {
	{ "top", 'n', "K", 0, "how many processes (default 10)", 0 },
	{ "help", 'h', NULL, 0, "show this help", 0 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "show a short usage line", 0 },
	{ 0 },
};

static const struct argp_option cleanup_options[] = {
	{ "help", 'h', NULL, 0, "show this help", 0 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "show a short usage line", 0 },
	{ 0 },
};

static error_t parse_subcommand(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'p':
		query_pid = lab_parse_uint(state, "--pid", arg, 1, 4194304);
		return 0;
	case 'n':
		top_rows = lab_parse_uint(state, "--top", arg, 1, 100000);
		return 0;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		return 0; /* not reached */
	case OPT_USAGE:
		argp_state_help(state, stdout, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK);
		return 0; /* not reached */
	case ARGP_KEY_END:
		if (*(const bool *)state->input && !query_pid)
			lab_usage_error(state, "--pid PID is required");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

/* Exits 0 after --help, 2 after a usage error, as lab_parse_args() does. */
static void parse_subcommand_args(const struct argp_option *options, const char *doc,
				  const char *name, bool pid_required, int argc, char **argv)
{
	const struct argp argp = { .options = options, .parser = parse_subcommand, .doc = doc };

	argv[0] = (char *)name; /* "lab-06 query": what the usage line shows */
	argp_err_exit_status = 2;
	argp_parse(&argp, argc, argv, ARGP_NO_HELP, NULL, &pid_required);
}

static int cmd_query(int argc, char **argv)
{
	int counts_fd, procs_fd, err;

	parse_subcommand_args(query_options, "Show one process's record and syscall counters, "
			      "read from the maps lab-06 run pinned.", "lab-06 query", true, argc, argv);
	err = open_pins(&counts_fd, &procs_fd);
	if (!err)
		err = query_process(counts_fd, procs_fd, query_pid);
	close_pins(counts_fd, procs_fd);
	return err ? 1 : 0;
}

static int cmd_top(int argc, char **argv)
{
	int counts_fd, procs_fd, err;

	parse_subcommand_args(top_options, "Show the busiest processes, read from the maps "
			      "lab-06 run pinned.", "lab-06 top", false, argc, argv);
	err = open_pins(&counts_fd, &procs_fd);
	if (!err)
		err = show_table(counts_fd, procs_fd, top_rows);
	close_pins(counts_fd, procs_fd);
	return err ? 1 : 0;
}

/* Remove every pin in PIN_DIR, then PIN_DIR, unless a live run holds it. */
static int cmd_cleanup(int argc, char **argv)
{
	struct dirent *entry;
	DIR *dir;
	int fd, err = 0;

	parse_subcommand_args(cleanup_options, "Remove the pins a killed lab-06 run left in "
			      PIN_DIR ".", "lab-06 cleanup", false, argc, argv);
	fd = open_pin_dir();
	if (fd < 0) {
		if (errno != ENOENT) {
			lab_error_errno(errno, "cannot open %s", PIN_DIR);
			return 1;
		}
		lab_error("nothing to clean up: %s does not exist", PIN_DIR);
		return 0;
	}
	if (pin_dir_in_use(fd)) {
		lab_error("a lab-06 run is active and owns %s: stop it (Ctrl-C) and it removes its pins",
			  PIN_DIR);
		close(fd);
		return 1;
	}
	dir = fdopendir(fd);
	while (dir && (entry = readdir(dir))) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		if (unlinkat(fd, entry->d_name, 0)) {
			lab_error_errno(errno, "cannot remove %s/%s", PIN_DIR, entry->d_name);
			err = -1;
			continue;
		}
		printf("removed path=\"%s/%s\"\n", PIN_DIR, entry->d_name);
	}
	if (!err && rmdir(PIN_DIR)) {
		lab_error_errno(errno, "cannot remove %s", PIN_DIR);
		err = -1;
	} else if (!err) {
		printf("removed path=\"%s\"\n", PIN_DIR);
	}
	if (dir)
		closedir(dir);
	else
		close(fd);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	lab_set_name("lab-06");
	/* no subcommand, or options first: run */
	if (!sub || sub[0] == '-')
		return cmd_run(argc, argv);
	if (!strcmp(sub, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(sub, "query"))
		return cmd_query(argc - 1, argv + 1);
	if (!strcmp(sub, "top"))
		return cmd_top(argc - 1, argv + 1);
	if (!strcmp(sub, "cleanup"))
		return cmd_cleanup(argc - 1, argv + 1);
	lab_error("unknown subcommand '%s'", sub);
	fputs("Usage: lab-06 [run] [OPTION...] [-- COMMAND [ARGS...]]\n"
	      "       lab-06 query --pid PID\n"
	      "       lab-06 top [-n K]\n"
	      "       lab-06 cleanup\n"
	      "Try `lab-06 --help' for more information.\n", stderr);
	return 2;
}
