// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Lab 06's support code: not the lesson, you can skip it (see support.h).
 *
 * Pin directories. Each run pins its maps in PIN_BASE/<name>, <name> being
 * its pid unless --name. It makes the directory as PIN_BASE/_new-<pid>,
 * takes an flock on it, and only then renames it to <name> (refusing to
 * replace anything). So a directory with a real name is either held by a
 * live run (its flock) or was left by a run that died: the kernel drops the
 * lock however the process dies. cleanup removes only the latter, and a
 * _new-<pid> only once that pid is gone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "support.h"
#include "statecache.skel.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int lab_ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n > 0 ? n : 1;
}

/* ---- the command line ---------------------------------------------------- */

enum { OPT_EMPTY = 0x200, OPT_NAME };

static struct options opts = {
	.interval = 5,
	.top = 10,
};

static const struct argp_option run_options[] = {
	{ "interval", 'i', "SEC", 0, "print the top table every SEC seconds (default 5, 0: at the end only)", 0 },
	{ "top", 'n', "K", 0, "processes in each table (default 10)", 0 },
	{ "max-entries", 'm', "N", 0, "entries of each LRU map (default 8192 records, 65536 counters)", 0 },
	{ "empty", OPT_EMPTY, NULL, 0, "attach an empty program to sys_enter instead of the cache "
	  "(the benchmark's baseline)", 0 },
	{ "name", OPT_NAME, "NAME", 0, "pin the maps in " PIN_BASE "/NAME (default: the run's pid)", 0 },
	{ 0 },
};

static const struct argp_option query_options[] = {
	{ "pid", 'p', "PID", 0, "the process to show (required)", 0 },
	{ "name", OPT_NAME, "NAME", 0, "the run to read (default: the only run)", 0 },
	{ 0 },
};

static const struct argp_option top_options[] = {
	{ "top", 'n', "K", 0, "how many processes (default 10)", 0 },
	{ "name", OPT_NAME, "NAME", 0, "the run to read (default: the only run)", 0 },
	{ 0 },
};

static const struct argp_option cleanup_options[] = {
	{ "name", OPT_NAME, "NAME", 0, "only this run's directory (default: every stale one)", 0 },
	{ 0 },
};

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	/* bpffs refuses names with a dot; "_new-PID" is a run's name in the making */
	if (!n || n > 64 || s[0] == '_')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'i':
		opts.interval = lab_parse_uint(state, "--interval", arg, 0, 3600);
		return 0;
	case 'n':
		opts.top = lab_parse_uint(state, "--top", arg, 1, 100000);
		return 0;
	case 'm':
		opts.max_entries = lab_parse_uint(state, "--max-entries", arg, 1, 1 << 20);
		return 0;
	case OPT_EMPTY:
		opts.empty = true;
		return 0;
	case OPT_NAME:
		if (!valid_name(arg))
			lab_usage_error(state, "--name takes 1 to 64 of [A-Za-z0-9_-], not starting "
					"with '_', got '%s'", arg);
		opts.name = arg;
		opts.name_given = true;
		return 0;
	case 'p':
		opts.pid = lab_parse_uint(state, "--pid", arg, 1, 4194304);
		return 0;
	case ARGP_KEY_ARG:
		if (opts.command == CMD_RUN)
			return ARGP_ERR_UNKNOWN;
		lab_usage_error(state, "unexpected argument '%s'", arg);
	case ARGP_KEY_END:
		if (opts.command == CMD_QUERY && !opts.pid)
			lab_usage_error(state, "--pid PID is required");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp_child help_child[] = { { &lab_help_argp, 0, NULL, 0 }, { 0 } };

static const struct {
	const char *name;
	enum command command;
	const struct argp_option *options;
	const char *doc;
} subcommands[] = {
	{ "query", CMD_QUERY, query_options,
	  "Show one process's record and syscall counters, read from the maps a lab-06 run pinned." },
	{ "top", CMD_TOP, top_options,
	  "Show the busiest processes, read from the maps a lab-06 run pinned." },
	{ "cleanup", CMD_CLEANUP, cleanup_options,
	  "Remove the pins that killed lab-06 runs left in " PIN_BASE " (never a live run's)." },
};

static const struct argp run_argp = {
	.options = run_options,
	.parser = parse_option,
	.doc = "Lab 06: per-process state cached in kernel maps, read on demand. "
	       "lab-06 [run] loads, pins the maps in " PIN_BASE "/NAME and keeps them current until "
	       "stopped; the maps are read by: lab-06 query --pid PID, lab-06 top [-n K]. "
	       "lab-06 cleanup removes the pins of runs that were killed.",
};

const struct options *parse_command_line(struct lab *lab, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	static char full[32];

	lab_set_name("lab-06");
	if (!sub || sub[0] == '-' || !strcmp(sub, "run")) { /* run: "run" may be left out */
		opts.command = CMD_RUN;
		if (sub && !strcmp(sub, "run"))
			argc--, argv++;
		lab_parse_args(lab, "lab-06", &run_argp, argc, argv);
		return &opts;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		const struct argp argp = { .options = subcommands[i].options, .parser = parse_option,
					   .doc = subcommands[i].doc, .children = help_child };

		if (strcmp(sub, subcommands[i].name))
			continue;
		opts.command = subcommands[i].command;
		snprintf(full, sizeof(full), "lab-06 %s", sub);
		lab_argp_parse(full, &argp, argc - 1, argv + 1, NULL);
		lab_set_name("lab-06");
		return &opts;
	}
	lab_error("unknown subcommand '%s'", sub);
	fputs("Usage: lab-06 [run] [OPTION...] [-- COMMAND [ARGS...]]\n"
	      "       lab-06 query --pid PID [--name NAME]\n"
	      "       lab-06 top [-n K] [--name NAME]\n"
	      "       lab-06 cleanup [--name NAME]\n"
	      "Try `lab-06 --help' for more information.\n", stderr);
	exit(2);
}

/* ---- pin directories -------------------------------------------------------- */

static void set_paths(struct pins *pins, const char *name)
{
	snprintf(pins->dir, sizeof(pins->dir), "%s/%s", PIN_BASE, name);
	snprintf(pins->counts, sizeof(pins->counts), "%s/counts", pins->dir);
	snprintf(pins->procs, sizeof(pins->procs), "%s/procs", pins->dir);
	snprintf(pins->what, sizeof(pins->what), "syscalls and lifecycles (pinned in %s)", pins->dir);
}

/* Is the directory at fd held by a live run? */
static bool held_by_live_run(int fd)
{
	return flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
}

int claim_pins(struct pins *pins, const struct options *o)
{
	char tmp[PATH_MAX], pid[16];
	const char *name = o->name;
	int tries = 0;

	if (!o->name_given) {
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		name = pid;
	}
	set_paths(pins, name);
	snprintf(tmp, sizeof(tmp), "%s/_new-%d", PIN_BASE, (int)getpid());
	/* another run's release may remove PIN_BASE between our two mkdirs */
	while ((mkdir(PIN_BASE, 0700) && errno != EEXIST) || mkdir(tmp, 0700)) {
		if (errno != ENOENT || ++tries == 10) {
			lab_error_errno(errno, "cannot create %s", tmp);
			return -1;
		}
	}
	pins->dir_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pins->dir_fd < 0 || flock(pins->dir_fd, LOCK_EX | LOCK_NB)) {
		lab_error_errno(errno, "cannot lock %s", tmp);
		goto fail;
	}
	if (!syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, pins->dir, RENAME_NOREPLACE))
		return 0;
	if (errno == EEXIST || errno == ENOTEMPTY) {
		int fd = open(pins->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0 && held_by_live_run(fd))
			lab_error("another lab-06 run is active in %s: stop it, or give this one "
				  "another --name", pins->dir);
		else
			lab_error("stale pins in %s, left by a run that was killed: remove them "
				  "with lab-06 cleanup", pins->dir);
		if (fd >= 0)
			close(fd);
	} else {
		lab_error_errno(errno, "cannot create %s", pins->dir);
	}
fail:
	rmdir(tmp);
	if (pins->dir_fd >= 0)
		close(pins->dir_fd);
	pins->dir_fd = -1;
	rmdir(PIN_BASE); /* only if no other run is in it */
	return -1;
}

void release_pins(struct pins *pins)
{
	if (pins->dir_fd < 0)
		return;
	if (rmdir(pins->dir))
		lab_error_errno(errno, "cannot remove %s", pins->dir);
	close(pins->dir_fd);
	pins->dir_fd = -1;
	rmdir(PIN_BASE); /* the last run out removes it */
}

/* The runs in PIN_BASE, live ones (held) or stale ones: how many (-1 and
 * errno if PIN_BASE cannot be read), their names in list (" a b"), the first
 * one in first. */
static int list_runs(bool live, char *list, size_t size, char *first, size_t first_size)
{
	DIR *dir = opendir(PIN_BASE);
	struct dirent *e;
	int n = 0;

	list[0] = first[0] = 0;
	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		int fd;

		if (e->d_name[0] == '.' || e->d_name[0] == '_')
			continue;
		fd = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (held_by_live_run(fd) == live) {
			if (!n++)
				snprintf(first, first_size, "%s", e->d_name);
			if (strlen(list) + strlen(e->d_name) + 2 < size)
				strcat(strcat(list, " "), e->d_name);
		}
		close(fd);
	}
	closedir(dir);
	return n;
}

/* A pinned map of lab-06, checked to be what we think it is. */
static int open_pinned(const char *path, __u32 key_size, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0) {
		if (errno == ENOENT)
			lab_error("nothing pinned at %s: is that lab-06 run running?", path);
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

/* Which run query and top read: the one named, else the only live one, else
 * (none is live) the only one a killed run left. */
static int pick_run(char *name, size_t size)
{
	char list[512];
	int n = list_runs(true, list, sizeof(list), name, size), live = n;

	if (n == 0)
		n = list_runs(false, list, sizeof(list), name, size);
	if (n == 1)
		return 0;
	if (n < 0 && errno == ENOENT)
		lab_error("nothing pinned in %s: is lab-06 run running?", PIN_BASE);
	else if (n < 0 && (errno == EACCES || errno == EPERM))
		lab_error("cannot read %s: needs root, run it with sudo", PIN_BASE);
	else if (n < 0)
		lab_error_errno(errno, "cannot read %s", PIN_BASE);
	else if (n == 0)
		lab_error("nothing pinned in %s: is lab-06 run running?", PIN_BASE);
	else
		lab_error("%d lab-06 runs %s (%s): name one with --name", n,
			  live ? "are live" : "were killed and left pins", list + 1);
	return -1;
}

int open_pins(const struct options *o, int *counts_fd, int *procs_fd)
{
	char name[256];
	struct pins pins;

	*counts_fd = *procs_fd = -1;
	if (o->name_given)
		snprintf(name, sizeof(name), "%s", o->name);
	else if (pick_run(name, sizeof(name)))
		return -1;
	set_paths(&pins, name);
	*procs_fd = open_pinned(pins.procs, sizeof(__u32), sizeof(struct proc));
	if (*procs_fd >= 0)
		*counts_fd = open_pinned(pins.counts, sizeof(struct count_key), sizeof(__u64));
	return *counts_fd < 0 ? -1 : 0;
}

void close_pins(int counts_fd, int procs_fd)
{
	if (counts_fd >= 0)
		close(counts_fd);
	if (procs_fd >= 0)
		close(procs_fd);
}

/* Remove a stale run directory: its pins, then itself. */
static int remove_run_dir(int base_fd, const char *name)
{
	int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;
	struct dirent *e;
	DIR *dir;

	if (fd < 0)
		return -1;
	if (held_by_live_run(fd)) {
		close(fd);
		return 1;
	}
	dir = fdopendir(fd);
	while (dir && (e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(fd, e->d_name, 0)) {
			lab_error_errno(errno, "cannot remove %s/%s/%s", PIN_BASE, name, e->d_name);
			err = -1;
			continue;
		}
		printf("removed path=\"%s/%s/%s\"\n", PIN_BASE, name, e->d_name);
	}
	if (dir)
		closedir(dir);
	else
		close(fd);
	if (!err && unlinkat(base_fd, name, AT_REMOVEDIR)) {
		lab_error_errno(errno, "cannot remove %s/%s", PIN_BASE, name);
		err = -1;
	} else if (!err) {
		printf("removed path=\"%s/%s\"\n", PIN_BASE, name);
	}
	return err;
}

static int cmd_cleanup(const struct options *o)
{
	DIR *base = opendir(PIN_BASE);
	struct dirent *e;
	int err = 0, live = 0, r;

	if (!base) {
		if (errno != ENOENT) {
			lab_error_errno(errno, "cannot open %s", PIN_BASE);
			return 1;
		}
		lab_error("nothing to clean up: %s does not exist", PIN_BASE);
		return 0;
	}
	while ((e = readdir(base))) {
		int pid;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (o->name_given && strcmp(e->d_name, o->name))
			continue;
		/* a run between mkdir and rename: only once its pid is gone */
		if (sscanf(e->d_name, "_new-%d", &pid) == 1 && (!kill(pid, 0) || errno != ESRCH))
			continue;
		r = remove_run_dir(dirfd(base), e->d_name);
		live += r > 0;
		err |= r < 0;
	}
	closedir(base);
	if (live)
		lab_error("left %d live run%s alone: stop a run (Ctrl-C) and it removes its pins",
			  live, live > 1 ? "s" : "");
	rmdir(PIN_BASE);
	return err || (o->name_given && live) ? 1 : 0;
}

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
	X(io_uring_setup) X(io_uring_enter) X(bpf) X(perf_event_open)
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

/* ---- tables ------------------------------------------------------------------ */

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

/* A key evicted while get_next_key stands on it sends the walk back to the
 * first key, so on a busy map some counters may come twice; batches, which
 * walk bucket by bucket, do not have that problem. */
long read_counters_by_key(int fd, struct count_key *keys, __u64 *values, __u32 room)
{
	struct count_key key, next;
	__u32 n = 0;
	bool first = true;

	while (n < room && !bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, values + (size_t)n * lab_ncpus()))
			keys[n++] = key;
	}
	if (n < room && errno != ENOENT) {
		lab_error_errno(errno, "cannot walk the counters");
		return -1;
	}
	return n;
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

/* Read every counter (read_counters(), the lesson) and sum them per process. */
static int read_table(int counts_fd, struct table *t)
{
	__u32 room = max_entries_of(counts_fd);
	struct count_key *keys = calloc(room, sizeof(*keys));
	__u64 *values = calloc((size_t)room * lab_ncpus(), sizeof(*values));
	struct counter *c = NULL;
	long n = -1;

	memset(t, 0, sizeof(*t));
	if (!room || !keys || !values) {
		lab_error("cannot size the table of counters");
		goto out;
	}
	n = read_counters(counts_fd, keys, values, room);
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
		c[i] = (struct counter){ .key = keys[i],
					 .calls = sum_cpus(values + (size_t)i * lab_ncpus()) };
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
	free(values);
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

int show_table(int counts_fd, int procs_fd, unsigned int k)
{
	struct table t;

	if (read_table(counts_fd, &t))
		return -1;
	print_table(&t, procs_fd, k);
	free(t.rows);
	return 0;
}

static int cmd_top(const struct options *o)
{
	int counts_fd, procs_fd, err;

	err = open_pins(o, &counts_fd, &procs_fd);
	if (!err)
		err = show_table(counts_fd, procs_fd, o->top);
	close_pins(counts_fd, procs_fd);
	return err ? 1 : 0;
}

static int most_calls_first(const void *a, const void *b)
{
	const struct counter *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->key.nr < y->key.nr ? -1 : x->key.nr > y->key.nr;
}

void print_query(__u32 pid, const struct proc *rec, struct counter *found, size_t n)
{
	struct row sum = { .pid = pid };
	char buf[16];

	qsort(found, n, sizeof(*found), most_calls_first);
	for (size_t i = 0; i < n; i++)
		sum.syscalls += found[i].calls;
	if (n) {
		sum.busiest = found[0].key.nr;
		sum.busiest_calls = found[0].calls;
	}
	print_proc(pid, rec, n ? &sum : NULL);
	for (size_t i = 0; i < n; i++)
		printf("syscall pid=%u nr=%u name=%s calls=%llu\n", pid, found[i].key.nr,
		       syscall_name(found[i].key.nr, buf, sizeof(buf)),
		       (unsigned long long)found[i].calls);
}

/* ---- run ------------------------------------------------------------------- */

void choose_programs(struct statecache_bpf *skel, bool empty)
{
	bpf_program__set_autoload(skel->progs.empty_sys_enter, empty);
	bpf_program__set_autoload(skel->progs.count_syscall, !empty);
	bpf_program__set_autoload(skel->progs.handle_exec, !empty);
	bpf_program__set_autoload(skel->progs.handle_fork, !empty);
	bpf_program__set_autoload(skel->progs.handle_exit, !empty);
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

int report(struct statecache_bpf *skel, const struct options *o, bool quiet)
{
	int counts_fd = bpf_map__fd(skel->maps.counts), procs_fd = bpf_map__fd(skel->maps.procs);
	struct table t;

	if (read_table(counts_fd, &t))
		return -1;
	if (!quiet)
		print_table(&t, procs_fd, o->top);
	lab_summary("records=%zu counters=%zu syscalls=%llu dropped=%llu",
		    count_records(procs_fd), t.ncounters,
		    (unsigned long long)t.syscalls, (unsigned long long)skel->bss->dropped);
	free(t.rows);
	return 0;
}

int cmd_top_or_cleanup(const struct options *o)
{
	return o->command == CMD_TOP ? cmd_top(o) : cmd_cleanup(o);
}
