// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 04's support code (README: "Support code: you can skip it"): the
 * options, the event lines and the summary. */
#include <string.h>
#include <sys/resource.h>

#include "support.h"

static struct options opts = {
	.buffer = BUFFER_PERF,
	.wakeup_events = 1, /* what perf_buffer__new() uses: a wakeup per sample */
	.pages = 64,
	.ring_size = 256 * 1024,
	.poll_ms = 100,
};

/* ---- options ------------------------------------------------------------ */

enum { OPT_BUFFER = 0x200, OPT_WAKEUP_EVENTS, OPT_WAKEUP_BYTES, OPT_RING_SIZE, OPT_POLL_MS,
       OPT_EDGE, OPT_RAW_TP };

static const struct argp_option options[] = {
	{ "buffer", OPT_BUFFER, "perf|ring|none", 0,
	  "the buffer to read from (default perf); none: an empty program, a baseline", 0 },
	{ "wakeup-events", OPT_WAKEUP_EVENTS, "N", 0,
	  "perf: wake the reader every N samples per CPU (default 1)", 0 },
	{ "pages", 'P', "N", 0, "perf: pages per CPU, a power of two (default 64)", 0 },
	{ "wakeup-bytes", OPT_WAKEUP_BYTES, "B", 0,
	  "ring: wake the reader once B bytes wait (default 0: the kernel's adaptive wakeups)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring: size in bytes, a power of two >= the page size (default 262144)", 0 },
	{ "edge-triggered", OPT_EDGE, NULL, 0,
	  "ring: wait in an edge-triggered epoll and read after each wakeup", 0 },
	{ "raw-tp", OPT_RAW_TP, NULL, 0,
	  "none: attach the empty program to raw_tp/sys_enter instead", 0 },
	{ "poll-ms", OPT_POLL_MS, "MS", 0,
	  "read every ring at least every MS ms, woken or not (default 100)", 0 },
	{ 0 },
};

/* A record in the ring buffer: 8-byte header, then struct event. */
#define RING_RECORD (8 + sizeof(struct event))

/* Every option alone is checked as it comes; how they combine, at the end. */
static void check_combination(const struct argp_state *state)
{
	if (opts.buffer != BUFFER_PERF && (opts.wakeup_events_given || opts.pages_given))
		lab_usage_error(state, "%s is for --buffer perf",
				opts.pages_given ? "--pages" : "--wakeup-events");
	if (opts.buffer != BUFFER_RING &&
	    (opts.wakeup_bytes_given || opts.ring_size_given || opts.edge_triggered))
		lab_usage_error(state, "%s is for --buffer ring",
				opts.ring_size_given    ? "--ring-size" :
				opts.wakeup_bytes_given ? "--wakeup-bytes" : "--edge-triggered");
	if (opts.buffer != BUFFER_NONE && opts.raw_tp)
		lab_usage_error(state, "--raw-tp is for --buffer none");
	/* The kernel keeps the producer less than a full ring ahead of the
	 * consumer, so at most ring_size - RING_RECORD bytes of records ever
	 * wait: a larger threshold would never be reached. */
	if (opts.wakeup_bytes > opts.ring_size - RING_RECORD)
		lab_usage_error(state, "--wakeup-bytes %llu is never reached: a %lu-byte ring "
				"holds at most %lu bytes of records", opts.wakeup_bytes,
				opts.ring_size, opts.ring_size - RING_RECORD);
}

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_BUFFER:
		if (!strcmp(arg, "perf"))
			opts.buffer = BUFFER_PERF;
		else if (!strcmp(arg, "ring"))
			opts.buffer = BUFFER_RING;
		else if (!strcmp(arg, "none"))
			opts.buffer = BUFFER_NONE;
		else
			lab_usage_error(state, "--buffer is perf, ring or none, got '%s'", arg);
		break;
	case OPT_WAKEUP_EVENTS:
		/* 0 would mean "no count": the reader would sleep until half the ring is full */
		opts.wakeup_events = lab_parse_uint(state, "--wakeup-events", arg, 1, 1u << 30);
		opts.wakeup_events_given = true;
		break;
	case 'P':
		opts.pages = lab_parse_pages(state, arg);
		opts.pages_given = true;
		break;
	case OPT_WAKEUP_BYTES:
		opts.wakeup_bytes = lab_parse_uint(state, "--wakeup-bytes", arg, 0, 1ull << 30);
		opts.wakeup_bytes_given = true;
		break;
	case OPT_RING_SIZE:
		opts.ring_size = lab_parse_ring_size(state, arg);
		opts.ring_size_given = true;
		break;
	case OPT_EDGE:
		opts.edge_triggered = true;
		break;
	case OPT_RAW_TP:
		opts.raw_tp = true;
		break;
	case OPT_POLL_MS:
		opts.poll_ms = lab_parse_uint(state, "--poll-ms", arg, 1, 3600000);
		break;
	case ARGP_KEY_END:
		check_combination(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_option,
	.doc = "Lab 04: trace getpgid() through a perf or ring buffer, with sampled wakeups.",
};

const struct options *parse_options(struct lab *lab, int argc, char **argv)
{
	lab_parse_args(lab, "lab-04", &argp, argc, argv);
	return &opts;
}

/* ---- the reader's own cost ------------------------------------------------ */

struct usage usage_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (struct usage){
		.ctxsw = ru.ru_nvcsw,
		.cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
			  ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
	};
}

void show_record(const struct lab *lab, const struct event *e)
{
	lab_latency_note(e->ts);
	if (!lab->opt.quiet)
		printf("getpgid seq=%llu cpu=%u tid=%u ts=%llu\n", e->seq, e->cpu, e->tid, e->ts);
}

/* ---- the ready line and the summary ------------------------------------------ */

const char *describe(void)
{
	static char what[128];

	if (opts.buffer == BUFFER_NONE)
		snprintf(what, sizeof(what), "getpgid (no buffer: an empty program on %s)",
			 opts.raw_tp ? "raw_tp/sys_enter" : "tp/syscalls/sys_enter_getpgid");
	else if (opts.buffer == BUFFER_RING)
		snprintf(what, sizeof(what), "getpgid (%lu-byte ring buffer, %s%s)", opts.ring_size,
			 opts.wakeup_bytes ? "wakeup once enough bytes wait" : "adaptive wakeups",
			 opts.edge_triggered ? ", edge-triggered epoll" : "");
	else
		snprintf(what, sizeof(what), "getpgid (%u-page perf buffer, wakeup every %u sample%s)",
			 opts.pages, opts.wakeup_events, opts.wakeup_events == 1 ? "" : "s");
	return what;
}

void print_summary(const struct counts *c, unsigned long long dropped, struct usage start)
{
	struct usage end = usage_now();
	/* "-": no wakeup at all, every record came after a timeout or in the drain */
	char per_wakeup[32] = "-", lost[32] = "";

	if (c->wakeups)
		snprintf(per_wakeup, sizeof(per_wakeup), "%.1f", (double)c->received / c->wakeups);
	if (opts.buffer == BUFFER_PERF)
		snprintf(lost, sizeof(lost), " lost=%llu", c->lost);
	lab_summary("received=%llu%s dropped=%llu wakeups=%llu polls=%llu timeouts=%llu "
		    "ctxsw=%ld events_per_wakeup=%s cpu_us=%lld%s",
		    c->received, lost, dropped, c->wakeups, c->polls, c->timeouts,
		    end.ctxsw - start.ctxsw, per_wakeup, end.cpu_us - start.cpu_us,
		    lab_latency_keys());
}
