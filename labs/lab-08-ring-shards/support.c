// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 08's support code: options, the per-ring queues, printing, the
 * summary. Not the lesson: you can skip it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

static const struct lab *lab; /* for -q */
static struct options opts = {
	.rings = 0, /* 0 until parsed: one ring per CPU */
	.ring_size = 256 * 1024,
	.window_us = 1000,
};

enum { OPT_RINGS = 0x200, OPT_RING_SIZE, OPT_WINDOW_US };

static const struct argp_option option_list[] = {
	{ "rings", OPT_RINGS, "N", 0,
	  "N ring buffers, CPU c writing to ring c % N: 1 (one ring shared by every CPU) "
	  "up to the number of CPUs, 64 at most (default: one per CPU)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "the size of each ring: a power of two, at least one page (default 262144)", 0 },
	{ "window-us", OPT_WINDOW_US, "US", 0,
	  "print a record once the clock read before the rings are read is US "
	  "microseconds past its stamp (default 1000)", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	unsigned int cpus = libbpf_num_possible_cpus() > 0 ? libbpf_num_possible_cpus() : 1;
	unsigned int most = cpus < MAX_RINGS ? cpus : MAX_RINGS;

	switch (key) {
	case OPT_RINGS:
		/* more rings than CPUs: a ring that no CPU writes to */
		opts.rings = lab_parse_uint(state, "--rings", arg, 1, most);
		return 0;
	case OPT_RING_SIZE:
		opts.ring_size = lab_parse_ring_size(state, arg);
		return 0;
	case OPT_WINDOW_US:
		opts.window_us = lab_parse_uint(state, "--window-us", arg, 0, 10000000);
		return 0;
	case ARGP_KEY_END:
		if (!opts.rings)
			opts.rings = most;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct options *parse_options(struct lab *the_lab, int argc, char **argv)
{
	static const struct argp argp = {
		.options = option_list,
		.parser = parse_option,
		.doc = "Lab 08: trace getpgid() into one ring buffer per CPU (or per group of "
		       "CPUs) and merge the rings' streams in time order.",
	};

	lab_parse_args(the_lab, "lab-08", &argp, argc, argv);
	lab = the_lab;
	return &opts;
}

/* ---- the per-ring queues ------------------------------------------------- */

static struct event *slot(const struct queue *q, size_t i)
{
	return &q->ev[(q->first + i) % q->cap];
}

int queue_push(struct queue *q, const struct event *e)
{
	size_t i;

	if (q->len == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 1024;
		struct event *bigger = malloc(cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		for (i = 0; i < q->len; i++)
			bigger[i] = *slot(q, i);
		free(q->ev);
		q->ev = bigger;
		q->first = 0;
		q->cap = cap;
	}
	/* from the newest end: a record is almost always the newest */
	for (i = q->len; i > 0 && slot(q, i - 1)->ts > e->ts; i--)
		*slot(q, i) = *slot(q, i - 1);
	*slot(q, i) = *e;
	q->len++;
	return 0;
}

const struct event *queue_head(const struct queue *q)
{
	return q->len ? slot(q, 0) : NULL;
}

struct event queue_pop(struct queue *q)
{
	struct event e = *slot(q, 0);

	q->first = (q->first + 1) % q->cap;
	q->len--;
	return e;
}

/* ---- records --------------------------------------------------------------- */

bool take_record(const void *data, size_t size, struct event *e)
{
	if (size < sizeof(*e))
		return false;
	memcpy(e, data, sizeof(*e));
	/* the delay from the kernel's stamp to user space reading the record
	 * (not to its line: the merge holds it about --window-us more) */
	lab_latency_note(e->ts);
	return true;
}

int poll_timeout_ms(const struct ring_state *rings, unsigned int n, unsigned long long window_ns)
{
	unsigned long long oldest = 0;
	long long wait_ns;

	for (unsigned int i = 0; i < n; i++) {
		const struct event *h = queue_head(&rings[i].held);

		if (h && (!oldest || h->ts < oldest))
			oldest = h->ts;
	}
	if (!oldest)
		return LAB_POLL_MS;
	wait_ns = (long long)(oldest + window_ns) - lab_now_ns();
	if (wait_ns <= 0)
		return 0;
	if (wait_ns >= LAB_POLL_MS * 1000000LL)
		return LAB_POLL_MS;
	return (wait_ns + 999999) / 1000000;
}

const char *ready_what(unsigned int rings)
{
	static char what[64];

	snprintf(what, sizeof(what), "getpgid (CPU c into ring c %% %u)", rings);
	return what;
}

void print_event(const struct event *e, unsigned int ring)
{
	if (lab->opt.quiet)
		return;
	printf("event ring=%u cpu=%u ts=%llu seq=%llu pid=%d tid=%d\n", ring, e->cpu, e->ts,
	       e->seq, e->pid, e->tid);
}

void print_summary(const struct shards_bpf *skel, const struct ring_state *rings,
		   unsigned int n, unsigned long long late)
{
	unsigned long long received = 0, dropped = 0;
	/* " received63=<20 digits> dropped63=<20 digits>": 63 bytes at most a ring */
	char per_ring[MAX_RINGS * 64 + 1] = "";
	size_t len = 0;

	for (unsigned int i = 0; i < n; i++) {
		received += rings[i].received;
		dropped += skel->bss->dropped[i];
		len += snprintf(per_ring + len, sizeof(per_ring) - len, " received%u=%llu dropped%u=%llu",
				i, rings[i].received, i, (unsigned long long)skel->bss->dropped[i]);
	}
	lab_summary("rings=%u received=%llu dropped=%llu late=%llu%s%s", n, received, dropped, late,
		    per_ring, lab_latency_keys());
}

void free_rings(struct ring_state *rings, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		/* 0 is never a map's fd: libbpf keeps the fds it returns above 2 */
		if (rings[i].fd > 0)
			close(rings[i].fd);
		free(rings[i].held.ev);
	}
}
