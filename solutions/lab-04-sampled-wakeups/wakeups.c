// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 04, user side: read getpgid() records from a perf buffer or a ring
 * buffer, and count how often the kernel had to wake us to do it. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "lab.h"
#include "wakeups.h"
#include "wakeups.skel.h"

enum { OPT_BUFFER = 0x200, OPT_WAKEUP_EVENTS, OPT_WAKEUP_BYTES, OPT_RING_SIZE, OPT_POLL_MS };

static struct lab lab;

static struct config {
	unsigned int buffer;             /* --buffer: BUFFER_PERF, _RING or _NONE */
	unsigned int wakeup_events;      /* perf: wake the reader every N samples */
	unsigned long long wakeup_bytes; /* ring: wake it once B bytes wait; 0 = adaptive */
	unsigned long long ring_size;    /* ring: bytes, a power of two */
	unsigned int pages;              /* perf: pages per CPU, a power of two */
	unsigned int poll_ms;            /* the longest a record waits while we run */
	unsigned int given;              /* which buffer-specific options were given */
} cfg = {
	.wakeup_events = 1, /* what perf_buffer__new() uses: a wakeup per sample */
	.ring_size = 256 * 1024,
	.pages = 64,
	.poll_ms = 100,
};

static unsigned long long received, lost, wakeups, polls;

/* ---- options ------------------------------------------------------------ */

static const struct argp_option options[] = {
	{ "buffer", OPT_BUFFER, "perf|ring|none", 0,
	  "the buffer to read from (default perf); none: an empty program, a baseline", 0 },
	{ "wakeup-events", OPT_WAKEUP_EVENTS, "N", 0,
	  "perf: wake the reader every N samples per CPU (default 1)", 0 },
	{ "wakeup-bytes", OPT_WAKEUP_BYTES, "B", 0,
	  "ring: wake the reader once B bytes wait (default 0: the kernel's adaptive wakeups)", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring: size in bytes, a power of two >= the page size (default 262144)", 0 },
	{ "pages", 'P', "N", 0, "perf: pages per CPU, a power of two (default 64)", 0 },
	{ "poll-ms", OPT_POLL_MS, "MS", 0,
	  "wait at most MS ms for a wakeup, then read what is there (default 100)", 0 },
	{ 0 },
};

/* A record in the ring buffer: 8-byte header, then struct event. */
#define RING_RECORD (8 + sizeof(struct event))

#define GIVEN(opt) (1u << ((opt) & 31))
#define PERF_ONLY  (GIVEN(OPT_WAKEUP_EVENTS) | GIVEN('P'))
#define RING_ONLY  (GIVEN(OPT_WAKEUP_BYTES) | GIVEN(OPT_RING_SIZE))

/* Every option alone is checked as it comes; how they combine, at the end. */
static void check_combination(const struct argp_state *state)
{
	if (cfg.buffer != BUFFER_PERF && (cfg.given & PERF_ONLY))
		lab_usage_error(state, "%s is for --buffer perf",
				cfg.given & GIVEN('P') ? "--pages" : "--wakeup-events");
	if (cfg.buffer != BUFFER_RING && (cfg.given & RING_ONLY))
		lab_usage_error(state, "%s is for --buffer ring",
				cfg.given & GIVEN(OPT_RING_SIZE) ? "--ring-size" : "--wakeup-bytes");
	/* The kernel keeps the producer less than a full ring ahead of the
	 * consumer, so at most ring_size - RING_RECORD bytes of records ever
	 * wait: a larger threshold would never be reached. */
	if (cfg.wakeup_bytes > cfg.ring_size - RING_RECORD)
		lab_usage_error(state, "--wakeup-bytes %llu is never reached: a %llu-byte ring "
				"holds at most %llu bytes of records", cfg.wakeup_bytes,
				cfg.ring_size, cfg.ring_size - RING_RECORD);
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_BUFFER:
		if (!strcmp(arg, "perf"))
			cfg.buffer = BUFFER_PERF;
		else if (!strcmp(arg, "ring"))
			cfg.buffer = BUFFER_RING;
		else if (!strcmp(arg, "none"))
			cfg.buffer = BUFFER_NONE;
		else
			lab_usage_error(state, "--buffer is perf, ring or none, got '%s'", arg);
		return 0;
	case OPT_WAKEUP_EVENTS:
		/* 0 would mean "no count", and the reader would sleep until half the ring is full */
		cfg.wakeup_events = lab_parse_uint(state, "--wakeup-events", arg, 1, 1u << 30);
		break;
	case OPT_WAKEUP_BYTES:
		cfg.wakeup_bytes = lab_parse_uint(state, "--wakeup-bytes", arg, 0, 1ull << 30);
		break;
	case OPT_RING_SIZE:
		cfg.ring_size = lab_parse_ring_size(state, arg);
		break;
	case 'P':
		cfg.pages = lab_parse_pages(state, arg);
		break;
	case OPT_POLL_MS:
		cfg.poll_ms = lab_parse_uint(state, "--poll-ms", arg, 1, 3600000);
		return 0;
	case ARGP_KEY_END:
		check_combination(state);
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	cfg.given |= GIVEN(key);
	return 0;
}

static const struct argp argp = {
	.options = options,
	.parser = parse_arg,
	.doc = "Lab 04: trace getpgid() through a perf or ring buffer, with sampled wakeups.",
};

/* ---- records ------------------------------------------------------------ */

static void handle_record(const void *data, size_t size)
{
	const struct event *e = data;

	if (size < sizeof(*e))
		return; /* not one of ours */
	received++;
	if (!lab.opt.quiet)
		printf("getpgid seq=%llu cpu=%u tid=%u ts=%llu\n", e->seq, e->cpu, e->tid, e->ts);
}

/* ring_buffer__poll() and __consume() call this once per record. */
static int handle_ring_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	handle_record(data, size);
	return 0;
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

/* perf_buffer__poll() and __consume() call this once per record of any type. */
static enum bpf_perf_event_ret handle_perf_record(void *ctx, int cpu,
						  struct perf_event_header *header)
{
	(void)ctx;
	(void)cpu;
	/* TODO(04.3): with perf_buffer__new_raw() every record comes here,
	 * samples and lost records alike (perf_buffer__new()'s sample and lost
	 * callbacks no longer run). Switch on header->type: for
	 * PERF_RECORD_SAMPLE, skip lab_is_flush_marker() markers and pass the
	 * raw data (struct perf_sample) to handle_record(); for
	 * PERF_RECORD_LOST, add the count (struct perf_lost) to `lost`. Return
	 * LIBBPF_PERF_EVENT_CONT to go on reading. */
	switch (header->type) {
	case PERF_RECORD_SAMPLE: {
		struct perf_sample *s = (struct perf_sample *)header;

		if (!lab_is_flush_marker(s->data, s->size))
			handle_record(s->data, s->size);
		break;
	}
	case PERF_RECORD_LOST:
		lost += ((struct perf_lost *)header)->lost;
		break;
	}
	return LIBBPF_PERF_EVENT_CONT;
	/* END TODO(04.3) */
}

/* ---- the two buffers behind one interface ------------------------------- */

struct buffer {
	struct perf_buffer *pb; /* --buffer perf */
	struct ring_buffer *rb; /* --buffer ring */
};                              /* --buffer none: neither */

static int open_perf_buffer(struct wakeups_bpf *skel, struct buffer *b)
{
	/* TODO(04.4): perf_buffer__new() always asks for a wakeup per sample
	 * and libbpf 1.1 has no option to change it, so describe the perf
	 * event yourself: a struct perf_event_attr of type PERF_TYPE_SOFTWARE,
	 * config PERF_COUNT_SW_BPF_OUTPUT, sample_type PERF_SAMPLE_RAW,
	 * sample_period 1 (every output is a sample) and wakeup_events
	 * cfg.wakeup_events (wake the reader every N samples). Open it on every
	 * CPU with perf_buffer__new_raw(): the map fd, cfg.pages,
	 * &attr, handle_perf_record, no context, no options. It returns NULL
	 * and sets errno on failure: say why with lab_error_errno(), return -1. */
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = cfg.wakeup_events,
	};

	b->pb = perf_buffer__new_raw(bpf_map__fd(skel->maps.events), cfg.pages, &attr,
				     handle_perf_record, NULL, NULL);
	if (!b->pb) {
		lab_error_errno(errno, "cannot open the perf buffer");
		return -1;
	}
	/* END TODO(04.4) */
	return 0;
}

static int open_buffer(struct wakeups_bpf *skel, struct buffer *b)
{
	if (cfg.buffer == BUFFER_NONE)
		return 0;
	if (cfg.buffer == BUFFER_PERF)
		return open_perf_buffer(skel, b);
	b->rb = ring_buffer__new(bpf_map__fd(skel->maps.rb), handle_ring_record, NULL, NULL);
	if (!b->rb) {
		lab_error_errno(errno, "cannot open the ring buffer");
		return -1;
	}
	return 0;
}

/* Wait up to timeout_ms for a wakeup and read the buffers it reported:
 * > 0 if it read something, 0 after the timeout, < 0 on error. */
static int buffer_poll(struct buffer *b, int timeout_ms)
{
	if (b->pb)
		return perf_buffer__poll(b->pb, timeout_ms);
	if (b->rb)
		return ring_buffer__poll(b->rb, timeout_ms);
	return poll(NULL, 0, timeout_ms) < 0 ? -errno : 0; /* no buffer: only wait */
}

/* Read whatever is in the buffers now, without waiting for a wakeup. */
static int buffer_consume(struct buffer *b)
{
	int n = 0;

	if (b->pb)
		n = perf_buffer__consume(b->pb);
	else if (b->rb)
		n = ring_buffer__consume(b->rb);
	return n < 0 ? n : 0;
}

static void buffer_free(struct buffer *b)
{
	perf_buffer__free(b->pb);
	ring_buffer__free(b->rb);
}

/* ---- the run --------------------------------------------------------------- */

static int configure(struct wakeups_bpf *skel)
{
	skel->rodata->buffer = cfg.buffer;
	/* TODO(04.5): set the ring's size and its wakeup threshold, before load:
	 * bpf_map__set_max_entries(skel->maps.rb, cfg.ring_size) (for a ring
	 * buffer, max_entries is its size in bytes), and
	 * skel->rodata->wakeup_bytes = cfg.wakeup_bytes. rodata is frozen at
	 * load: the verifier then knows the threshold, and with 0 drops the
	 * threshold code entirely. */
	if (bpf_map__set_max_entries(skel->maps.rb, cfg.ring_size)) {
		lab_error("cannot set the ring size to %llu", cfg.ring_size);
		return -1;
	}
	skel->rodata->wakeup_bytes = cfg.wakeup_bytes;
	/* END TODO(04.5) */
	/* the flush program writes into the perf buffer: not needed for the ring */
	bpf_program__set_autoload(skel->progs.lab_perf_flush, cfg.buffer == BUFFER_PERF);
	return 0;
}

/* getrusage() of this thread: its voluntary context switches (every sleep,
 * in epoll_wait() or elsewhere, is one) and its CPU time. */
struct usage {
	long ctxsw;
	long long cpu_us;
};

static struct usage usage_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return (struct usage){
		.ctxsw = ru.ru_nvcsw,
		.cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
			  ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
	};
}

static int poll_events(struct buffer *b)
{
	/* TODO(04.6): the poll loop. Until lab_should_stop(&lab), call
	 * buffer_poll(b, cfg.poll_ms) and count it in `polls`. It was a
	 * wakeup if it returned records (> 0) and slept on the way: this
	 * thread's voluntary context switches (usage_now().ctxsw) grew since
	 * the previous call. A call that returns records without sleeping
	 * found them already there, and cost no wakeup. 0 means the timeout
	 * passed with no wakeup, yet records below the threshold (up to N-1
	 * samples, or B-1 bytes) may be waiting: read them with
	 * buffer_consume(b), so none waits much longer than cfg.poll_ms.
	 * -EINTR is a signal (Ctrl-C, the command's end), not an error; any
	 * other negative value is. */
	long switches = usage_now().ctxsw;

	while (!lab_should_stop(&lab)) {
		int err = buffer_poll(b, cfg.poll_ms);
		long now = usage_now().ctxsw; /* one getrusage() per call is enough */

		polls++;
		if (err > 0 && now > switches)
			wakeups++;
		else if (err == 0)
			err = buffer_consume(b);
		switches = now;
		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot read the buffer");
			return err;
		}
	}
	/* END TODO(04.6) */
	return 0;
}

static int drain_events(struct wakeups_bpf *skel, struct buffer *b)
{
	int err;

	/* TODO(04.7): the final drain. The programs are detached by now, so
	 * nothing is added any more, but records below the wakeup threshold
	 * are still in the buffer and no wakeup will come for them: read them
	 * with buffer_consume(b). For the perf buffer, then make the kernel
	 * write the lost records it still owes,
	 * lab_perf_flush_lost(skel->progs.lab_perf_flush), and consume again. */
	err = buffer_consume(b);
	if (!err && b->pb)
		err = lab_perf_flush_lost(skel->progs.lab_perf_flush);
	if (!err && b->pb)
		err = buffer_consume(b);
	/* END TODO(04.7) */
	if (err < 0)
		lab_error_errno(err, "cannot drain the buffer");
	return err;
}

static void print_summary(struct wakeups_bpf *skel, struct usage start)
{
	struct usage end = usage_now();
	bool ring = cfg.buffer == BUFFER_RING;
	/* "-": no wakeup at all, every record came after a timeout or in the drain */
	char per_wakeup[32] = "-";

	if (wakeups)
		snprintf(per_wakeup, sizeof(per_wakeup), "%.1f", (double)received / wakeups);
	lab_summary("received=%llu %s=%llu wakeups=%llu polls=%llu ctxsw=%ld "
		    "events_per_wakeup=%s cpu_us=%lld",
		    received, ring ? "dropped" : "lost",
		    ring ? (unsigned long long)skel->bss->dropped : lost, wakeups, polls,
		    end.ctxsw - start.ctxsw, per_wakeup, end.cpu_us - start.cpu_us);
}

/* What the ready line says we trace: "getpgid (ring buffer, ...)". */
static void describe(char *what, size_t size)
{
	if (cfg.buffer == BUFFER_NONE)
		snprintf(what, size, "getpgid (no buffer: an empty program)");
	else if (cfg.buffer == BUFFER_RING && cfg.wakeup_bytes)
		snprintf(what, size, "getpgid (%llu-byte ring buffer, wakeup once %llu bytes wait)",
			 cfg.ring_size, cfg.wakeup_bytes);
	else if (cfg.buffer == BUFFER_RING)
		snprintf(what, size, "getpgid (%llu-byte ring buffer, adaptive wakeups)", cfg.ring_size);
	else
		snprintf(what, size, "getpgid (%u-page perf buffer, wakeup every %u sample%s)",
			 cfg.pages, cfg.wakeup_events, cfg.wakeup_events == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	struct wakeups_bpf *skel = NULL;
	struct buffer b = { 0 };
	struct usage start;
	char what[128];
	int err = -1;

	lab_parse_args(&lab, "lab-04", &argp, argc, argv);
	lab_install_signal_handlers();
	if (lab_preflight(&lab, LAB_NEED_PERFBUF | LAB_NEED_RINGBUF | LAB_NEED_RUN_ON_CPU | LAB_NEED_ATOMIC_FETCH) || lab_fork_held_command(&lab))
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
	err = wakeups_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF programs");
		goto out;
	}

	err = open_buffer(skel, &b);
	describe(what, sizeof(what));
	if (!err)
		err = lab_seed_ready_release(&lab, skel->obj, what);
	if (err)
		goto out;
	lab_stall(&lab);
	start = usage_now();
	err = poll_events(&b);
	/* detach, then wait out the runs in flight: no new records from here
	 * on, so the drain leaves the counts final */
	wakeups_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (!err)
		err = drain_events(skel, &b);
	print_summary(skel, start);
out:
	buffer_free(&b);
	wakeups_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
