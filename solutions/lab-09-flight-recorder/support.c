// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 09's support code: options, the SIGUSR1 trigger, the dump's storage
 * and lines, the per-CPU counts. Not the lesson: you can skip it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "support.h"

/* ---- options ------------------------------------------------------------- */

enum { OPT_LAST = 0x200 };

static struct options *opts; /* main()'s, filled by parse_option() */

static const struct argp_option option_list[] = {
	{ "pages", 'P', "N", 0,
	  "data pages per CPU ring, a power of two (default 8): each CPU keeps its "
	  "newest N x page size / 40 records", 0 },
	{ "last", OPT_LAST, "K", 0,
	  "print only the newest K records of each dump, all CPUs merged by time "
	  "(default: every record the windows hold)", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'P':
		opts->pages = lab_parse_pages(state, arg);
		return 0;
	case OPT_LAST:
		opts->last = lab_parse_uint(state, "--last", arg, 1, 1U << 30);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = option_list,
	.parser = parse_option,
	.doc = "Lab 09: a flight recorder. Every getpgid() of the traced processes goes "
	       "into an overwritable perf ring per CPU that keeps only the newest records; "
	       "SIGUSR1 (and the end of the run) dumps them, merged by time.",
};

void parse_args(struct lab *lab, struct options *o, int argc, char **argv)
{
	opts = o;
	lab_parse_args(lab, "lab-09", &argp, argc, argv);
}

/* ---- the trigger ---------------------------------------------------------- */

static volatile sig_atomic_t triggers;
static sigset_t unblocked; /* the mask while waiting: SIGUSR1 let through */

static void on_sigusr1(int sig)
{
	triggers = 1;
}

void install_dump_trigger(void)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	/* blocked but while we wait: a SIGUSR1 that arrives while a dump runs
	 * is kept pending for the next wait, never lost in between */
	sigprocmask(SIG_BLOCK, &usr1, &unblocked);
	sigdelset(&unblocked, SIGUSR1);
	sigaction(SIGUSR1, &sa, NULL);
}

bool wait_for_trigger(int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	if (!triggers)
		ppoll(NULL, 0, &ts, &unblocked); /* EINTR: a signal, which is the point */
	if (!triggers)
		return false;
	triggers = 0;
	return true;
}

/* ---- the dump ------------------------------------------------------------- */

int dump_init(struct dump *d, int ncpus, size_t data_size)
{
	/* the smallest perf record is its 8-byte header */
	d->cap = (size_t)ncpus * (data_size / 8);
	d->ncpus = ncpus;
	d->events = calloc(d->cap, sizeof(*d->events));
	d->window = calloc(ncpus, sizeof(*d->window));
	return d->events && d->window ? 0 : -ENOMEM;
}

void dump_free(struct dump *d)
{
	free(d->events);
	free(d->window);
}

void dump_begin(struct dump *d)
{
	d->number++;
	d->n = 0;
	for (int cpu = 0; cpu < d->ncpus; cpu++)
		d->window[cpu] = (struct window){ .end = "none" };
}

void dump_add(struct dump *d, int cpu, const struct event *e)
{
	if (d->n < d->cap) {
		d->events[d->n++] = *e;
		d->window[cpu].records++;
	}
}

void print_dump(struct dump *d, const char *reason, size_t first, bool quiet)
{
	unsigned long long lost = 0;

	first = first < d->n ? first : d->n;
	d->printed += d->n - first;
	if (quiet)
		return;
	for (int cpu = 0; cpu < d->ncpus; cpu++)
		lost += d->window[cpu].lost;
	printf("dump n=%u reason=%s records=%zu printed=%zu lost=%llu\n", d->number, reason, d->n,
	       d->n - first, lost);
	for (int cpu = 0; cpu < d->ncpus; cpu++)
		printf("window cpu=%d records=%u lost=%llu end=%s\n", cpu, d->window[cpu].records,
		       d->window[cpu].lost, d->window[cpu].end);
	for (size_t i = first; i < d->n; i++)
		printf("record cpu=%u seq=%llu ts=%llu pid=%u\n", d->events[i].cpu, d->events[i].seq,
		       d->events[i].ts, d->events[i].pid);
	/* out at once, even into a pipe: a reader may wait for these lines */
	fflush(stdout);
}

int by_time(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

unsigned long long read_produced(const struct bpf_map *seqs, char *by_cpu, size_t size)
{
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long total = 0, *values = calloc(ncpus > 0 ? ncpus : 1, sizeof(*values));
	__u32 zero = 0;
	size_t used = 0;

	by_cpu[0] = '\0';
	if (!values || ncpus <= 0 || bpf_map_lookup_elem(bpf_map__fd(seqs), &zero, values)) {
		free(values);
		snprintf(by_cpu, size, "?");
		return 0;
	}
	for (int cpu = 0; cpu < ncpus; cpu++) {
		total += values[cpu];
		if (used < size)
			used += snprintf(by_cpu + used, size - used, "%s%llu", cpu ? "," : "",
					 values[cpu]);
	}
	free(values);
	return total;
}
