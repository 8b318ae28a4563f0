// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 07's support code: the options, the event line, the summary line,
 * arithmetic. Not the lesson: you can skip it. */
#include <string.h>
#include <unistd.h>

#include "support.h"

enum { OPT_BUFFER = 0x200, OPT_MEMORY, OPT_ASSUME_NO_RINGBUF };

static struct options *opts; /* main()'s, filled by parse_option() */

static const struct argp_option options[] = {
	{ "buffer", OPT_BUFFER, "auto|ring|perf", 0,
	  "the buffer: auto (default) probes the kernel for the BPF ring buffer "
	  "and falls back to the perf buffer", 0 },
	{ "memory", OPT_MEMORY, "BYTES", 0,
	  "memory for the buffer (default 262144): the ring gets the largest "
	  "power-of-two number of pages that fits, the perf buffer the largest "
	  "power-of-two pages per CPU that fit for all CPUs", 0 },
	{ "assume-no-ringbuf", OPT_ASSUME_NO_RINGBUF, NULL, 0,
	  "the probe answers \"no ring buffer\", as an old kernel would (with --buffer auto)", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	unsigned long page = sysconf(_SC_PAGESIZE);
	unsigned long perf_min = page * libbpf_num_possible_cpus();

	switch (key) {
	case OPT_BUFFER:
		if (!strcmp(arg, "auto"))
			opts->buffer = BUFFER_AUTO;
		else if (!strcmp(arg, "ring"))
			opts->buffer = BUFFER_RING;
		else if (!strcmp(arg, "perf"))
			opts->buffer = BUFFER_PERF;
		else
			lab_usage_error(state, "--buffer is auto, ring or perf, got '%s'", arg);
		return 0;
	case OPT_MEMORY:
		opts->memory = lab_parse_uint(state, "--memory", arg, 1, 1UL << 30);
		return 0;
	case OPT_ASSUME_NO_RINGBUF:
		opts->assume_no_ringbuf = true;
		return 0;
	case ARGP_KEY_END:
		if (opts->assume_no_ringbuf && opts->buffer == BUFFER_RING)
			lab_usage_error(state, "--assume-no-ringbuf contradicts --buffer ring");
		if (opts->memory < page)
			lab_usage_error(state, "--memory must be at least one page (%lu bytes), "
					"got %lu", page, opts->memory);
		/* auto may end on the perf buffer: one page on every CPU */
		if (opts->buffer != BUFFER_RING && opts->memory < perf_min)
			lab_usage_error(state, "--memory must be at least one page per CPU for "
					"the perf buffer (%lu bytes), got %lu", perf_min,
					opts->memory);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = options,
	.parser = parse_option,
	.doc = "Lab 07: trace execve() through the BPF ring buffer where the kernel "
	       "has one, the perf buffer where not: one binary for every kernel.",
};

void parse_args(struct lab *lab, struct options *o, int argc, char **argv)
{
	opts = o;
	lab_parse_args(lab, "lab-07", &argp, argc, argv);
}

unsigned long round_down_pow2(unsigned long x)
{
	unsigned long p = 1;

	if (!x)
		return 0;
	while (p <= x / 2)
		p *= 2;
	return p;
}

void print_event(const struct event *e)
{
	printf("execve pid=%d tid=%d comm=", e->pid, e->tid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	fputs(" file=", stdout);
	lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	putchar('\n');
	/* out as soon as it is read, even into a file or a pipe: a reader may be
	 * waiting for this line (checks/lab-07.bats waits for lines mid-run) */
	fflush(stdout);
}

const char *ready_what(const char *title, const char *why)
{
	static char what[160];

	snprintf(what, sizeof(what), "execve through %s (%s)", title, why);
	return what;
}

void print_summary(const char *buffer, unsigned long long received, unsigned long long lost,
		   unsigned long long dropped, unsigned long memory)
{
	lab_summary("buffer=%s received=%llu lost=%llu dropped=%llu memory=%lu%s", buffer,
		    received, lost, dropped, memory, lab_latency_keys());
}
