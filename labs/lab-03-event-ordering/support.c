// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 03's support code: options, printing, the buffers' plumbing, the
 * delay figures of --stats. Nothing here is an exercise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "support.h"

static const struct lab *lab;           /* for -q */
static struct lifecycle_bpf *the_skel;  /* for --probe */
static struct options opts = {
	.reorder = true,
	.reorder_us = 100,
	.pages = 64,
	.ring_size = 256 * 1024,
	.lag_cpu = -1,
};

enum { OPT_BUFFER = 0x200, OPT_REORDER_US, OPT_NO_REORDER, OPT_RING_SIZE, OPT_STATS, OPT_LAG_CPU, OPT_PROBE };

static const struct argp_option options[] = {
	{ "buffer", OPT_BUFFER, "perf|ring", 0,
	  "perf: one ring per CPU, merged by timestamp (default); "
	  "ring: one BPF ring buffer, printed in arrival order", 0 },
	{ "reorder-us", OPT_REORDER_US, "US", 0,
	  "perf: print a record only once the clock read before the rings are read is US "
	  "microseconds past its stamp (default 100)", 0 },
	{ "no-reorder", OPT_NO_REORDER, NULL, 0, "print the records in arrival order", 0 },
	{ "pages", 'P', "N", 0, "perf: pages per CPU, a power of two (default 64)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring: its size, a power of two of at least one page (default 262144)", 0 },
	{ "stats", OPT_STATS, NULL, 0,
	  "print the delay from each record's stamp to its line: p50, p99, max", 0 },
	/* for the checker (README, "Check it"): records that arrive late on purpose */
	{ "lag-cpu", OPT_LAG_CPU, "CPU", OPTION_HIDDEN, NULL, 0 },
	{ "probe", OPT_PROBE, NULL, OPTION_HIDDEN, NULL, 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_BUFFER:
		if (strcmp(arg, "perf") && strcmp(arg, "ring"))
			lab_usage_error(state, "--buffer is perf or ring, got '%s'", arg);
		opts.use_ring = !strcmp(arg, "ring");
		return 0;
	case OPT_REORDER_US:
		opts.reorder_us = lab_parse_uint(state, "--reorder-us", arg, 0, 60000000);
		opts.reorder_us_given = true;
		return 0;
	case OPT_NO_REORDER:
		opts.reorder = false;
		return 0;
	case 'P':
		opts.pages = lab_parse_pages(state, arg);
		opts.pages_given = true;
		return 0;
	case OPT_RING_SIZE:
		opts.ring_size = lab_parse_ring_size(state, arg);
		opts.ring_size_given = true;
		return 0;
	case OPT_STATS:
		opts.stats = true;
		return 0;
	case OPT_LAG_CPU:
		opts.lag_cpu = lab_parse_uint(state, "--lag-cpu", arg, 0, 4095);
		opts.lag_cpu_given = true;
		return 0;
	case OPT_PROBE:
		opts.probe = true;
		return 0;
	case ARGP_KEY_END:
		if (opts.use_ring && (opts.reorder_us_given || opts.pages_given || opts.lag_cpu_given ||
				      opts.probe))
			lab_usage_error(state, "--reorder-us, --pages, --lag-cpu and --probe are for --buffer perf");
		if (!opts.use_ring && opts.ring_size_given)
			lab_usage_error(state, "--ring-size is for --buffer ring");
		if (!opts.reorder && opts.reorder_us_given)
			lab_usage_error(state, "--reorder-us and --no-reorder exclude each other");
		/* one ring: its order is already the order of reservation */
		if (opts.use_ring)
			opts.reorder = false;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct options *parse_options(struct lab *the_lab, int argc, char **argv)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_option,
		.doc = "Lab 03: trace fork, exec and exit, and print them in the order they happened.",
	};

	lab_parse_args(the_lab, "lab-03", &argp, argc, argv);
	lab = the_lab;
	return &opts;
}

/* Does this kernel's sched_process_exit pass group_dead? Its BTF says: the
 * probe type btf_trace_sched_process_exit is a pointer to a function whose
 * parameters are (void *, struct task_struct *, bool) since Linux 6.16. */
static bool exit_has_group_dead(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t = NULL;
	bool has = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_sched_process_exit", BTF_KIND_TYPEDEF);
	if (id > 0)
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type); /* the pointer */
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);                        /* the function */
	has = t && btf_is_func_proto(t) && btf_vlen(t) == 3;
	btf__free(btf);
	return has;
}

int configure(struct lifecycle_bpf *skel)
{
	unsigned long page = sysconf(_SC_PAGESIZE);

	the_skel = skel;
	skel->rodata->use_ring = opts.use_ring;
	skel->rodata->exit_has_group_dead = exit_has_group_dead();
	/* the ring exists in both modes (one object, one set of programs);
	 * unused, it costs one page */
	if (bpf_map__set_max_entries(skel->maps.events_ring, opts.use_ring ? opts.ring_size : page))
		return -1;
	/* lab_perf_flush is for a perf buffer's lost records only */
	if (bpf_program__set_autoload(skel->progs.lab_probe, opts.probe))
		return -1;
	return bpf_program__set_autoload(skel->progs.lab_perf_flush, !opts.use_ring);
}

int wait_for_records(struct buffer *b, long long timeout_us)
{
	int fd = b->ring ? ring_buffer__epoll_fd(b->ring) : perf_buffer__epoll_fd(b->perf);
	struct timespec timeout = { timeout_us / 1000000, timeout_us % 1000000 * 1000 };
	static bool whole_ms;	/* the kernel has no epoll_pwait2() (before 5.11) */
	struct epoll_event ev;
	int n = -1;

	/* epoll_wait() counts whole milliseconds, so a record due in 100 us
	 * would wait 1 ms; epoll_pwait2() takes a timespec. */
	if (!whole_ms) {
		n = epoll_pwait2(fd, &ev, 1, &timeout, NULL);
		whole_ms = n < 0 && errno == ENOSYS;
	}
	if (whole_ms)
		n = epoll_wait(fd, &ev, 1, (int)((timeout_us + 999) / 1000));
	return n < 0 ? -errno : 0;
}

/* --probe: one record written by lab_probe on that CPU, now. */
static int run_probe(int cpu)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

	if (!bpf_prog_test_run_opts(bpf_program__fd(the_skel->progs.lab_probe), &run))
		return 0;
	lab_error_errno(errno, "cannot run lab_probe on CPU %d", cpu);
	return -errno;
}

int read_every_ring(struct buffer *b)
{
	int err = 0;

	if (b->ring) {
		err = ring_buffer__consume(b->ring); /* the number of records, or an error */
		return err < 0 ? err : 0;
	}
	if (opts.lag_cpu < 0 && !opts.probe)
		return perf_buffer__consume(b->perf);
	for (size_t i = 0; i < perf_buffer__buffer_cnt(b->perf) && !err; i++) {
		if ((int)i != opts.lag_cpu) /* ring i is CPU i when every CPU is online */
			err = perf_buffer__consume_buffer(b->perf, i);
		if (!err && opts.probe && i == 0)
			err = run_probe(0);
		if (!err && opts.probe && i == 0)
			err = run_probe(1);
	}
	return err;
}

long long poll_timeout_us(bool holding, unsigned long long oldest_ts, unsigned long long window_ns)
{
	long long wait_ns;

	if (!holding)
		return LAB_POLL_MS * 1000LL;
	wait_ns = (long long)(oldest_ts + window_ns) - lab_now_ns();
	if (wait_ns <= 0)
		return 0;
	if (wait_ns >= LAB_POLL_MS * 1000000LL)
		return LAB_POLL_MS * 1000LL;
	return (wait_ns + 999) / 1000;
}

/* ---- --stats: how long after its stamp each record is printed, and how
 * long the reorder stage held it ----------------------------------------- */

struct samples {
	unsigned long long *ns;
	size_t n, cap;
};
static struct samples delays; /* stamp -> line: delivery, then the hold */
static struct samples holds;  /* arrival in the stage -> release: the hold alone */

static void note(struct samples *s, long long ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		unsigned long long *bigger = realloc(s->ns, cap * sizeof(*s->ns));

		if (!bigger)
			return; /* the figures then cover the records noted so far */
		s->ns = bigger;
		s->cap = cap;
	}
	s->ns[s->n++] = ns > 0 ? ns : 0;
}

void note_hold(unsigned long long arrived_ns)
{
	note(&holds, lab_now_ns() - (long long)arrived_ns);
}

void print_event(const struct event *e)
{
	static const char *const kinds[] = {
		[EVENT_FORK] = "fork", [EVENT_EXEC] = "exec", [EVENT_EXIT] = "exit",
		[EVENT_PROBE] = "probe",
	};

	if (opts.stats)
		note(&delays, lab_now_ns() - (long long)e->ts);
	if (lab->opt.quiet)
		return;
	printf("%s ts=%llu cpu=%d pid=%d ppid=%d comm=",
	       e->kind >= EVENT_FORK && e->kind <= EVENT_PROBE ? kinds[e->kind] : "unknown",
	       e->ts, e->cpu, e->pid, e->ppid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	if (e->kind == EVENT_EXEC) {
		fputs(" file=", stdout);
		lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	}
	putchar('\n');
}

static int by_value(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

/* The target: the reorder stage holds a record at most 2 ms, 99 times in
 * 100 (the window is 0.5 ms; the rest is the wait for the next read). */
#define STATS_HOLD_P99_TARGET_US 2000

/* " NAME_p50_us=N NAME_p99_us=N NAME_max_us=N" into buf; returns p99 in us */
static unsigned long long format_percentiles(char *buf, size_t size, const char *name,
					     struct samples *s)
{
	unsigned long long p50 = 0, p99 = 0, max = 0;

	if (s->n) {
		qsort(s->ns, s->n, sizeof(*s->ns), by_value);
		p50 = s->ns[(s->n - 1) * 50 / 100] / 1000;
		p99 = s->ns[(s->n - 1) * 99 / 100] / 1000;
		max = s->ns[s->n - 1] / 1000;
	}
	snprintf(buf, size, " %s_p50_us=%llu %s_p99_us=%llu %s_max_us=%llu", name, p50, name, p99,
		 name, max);
	free(s->ns);
	*s = (struct samples){ 0 };
	return p99;
}

void print_stats(void)
{
	char delay[128], hold[128];
	size_t records = delays.n;
	unsigned long long hold_p99;

	if (!opts.stats)
		return;
	format_percentiles(delay, sizeof(delay), "delay", &delays);
	hold_p99 = format_percentiles(hold, sizeof(hold), "hold", &holds);
	fflush(stdout);
	fprintf(stderr, "stats: records=%zu%s%s target=hold_p99<=%dus %s\n", records, delay, hold,
		STATS_HOLD_P99_TARGET_US, hold_p99 <= STATS_HOLD_P99_TARGET_US ? "PASS" : "MISS");
}
