// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 04, kernel side: one small record per getpgid() of a traced process,
 * into a perf buffer or a ring buffer, with as few wakeups of the reader as
 * the options allow. */
#include "lab.bpf.h"
#include "wakeups.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENOSPC 28 /* vmlinux.h has no errno values */

/* Set by user space before load. The verifier knows their values, so it
 * drops the branch for the other buffer, and with wakeup_bytes 0 the
 * threshold code, from the program it loads. */
const volatile __u32 buffer = BUFFER_PERF; /* --buffer */
const volatile __u64 wakeup_bytes = 0;     /* --wakeup-bytes, ring only */

/* Exact counters, read by user space once the programs are detached. */
__u64 next_seq = 0; /* records made so far: the seq of the next one */
/* Records the program could not hand over and the kernel does not report:
 * a failed bpf_ringbuf_reserve() (ring full), or a bpf_perf_event_output()
 * that failed with anything but -ENOSPC (the kernel counts that one as a
 * lost sample and reports it in a PERF_RECORD_LOST). */
__u64 dropped = 0;

/* The buffer map: a perf event array (one ring per CPU, --buffer perf) ... */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* ... or a ring buffer (one ring for all CPUs, --buffer ring). Both live in
 * the object; only the one --buffer picks is used. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* user space sets --ring-size before load */
} events_ring SEC(".maps");

/* Never attached: user space runs it once on each CPU at the end
 * (lab_perf_flush_lost in common/system.c, through BPF_PROG_TEST_RUN). Each
 * run writes one flush marker; room for it is what makes the kernel write
 * the lost-sample record that CPU still owes. */
SEC("raw_tp")
int lab_perf_flush(void *ctx)
{
	struct lab_flush_marker marker = { .magic = LAB_FLUSH_MAGIC };

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &marker, sizeof(marker));
	return 0;
}

static __always_inline void fill_event(struct event *e)
{
	/* TODO(04.1): number the record from next_seq with __sync_fetch_and_add(),
	 * then fill ts, cpu and tid with the helpers that give them.
	 * README task 1. */
	/* END TODO(04.1) */
}

/* The flags for bpf_ringbuf_submit(): when to wake the reader. */
static __always_inline u64 wakeup_flags(void)
{
	/* TODO(04.2): 0 (adaptive) when wakeup_bytes is 0; else FORCE_WAKEUP once
	 * bpf_ringbuf_query(BPF_RB_AVAIL_DATA) reaches it, NO_WAKEUP before.
	 * README task 2. */
	return 0;
	/* END TODO(04.2) */
}

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(void *ctx)
{
	if (buffer == BUFFER_NONE || !lab_traced())
		return 0;

	if (buffer == BUFFER_RING) {
		struct event *e = bpf_ringbuf_reserve(&events_ring, sizeof(*e), 0);

		if (!e) {
			__sync_fetch_and_add(&dropped, 1);
			return 0;
		}
		fill_event(e);
		bpf_ringbuf_submit(e, wakeup_flags());
	} else {
		struct event e = {};
		long err;

		fill_event(&e);
		err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
		/* -ENOSPC: the ring is full, the kernel reports it in a PERF_RECORD_LOST */
		if (err && err != -ENOSPC)
			__sync_fetch_and_add(&dropped, 1);
	}
	return 0;
}

/* --buffer none --raw-tp: the same empty program, attached to the raw
 * tracepoint every syscall passes (raw_syscalls/sys_enter) instead of
 * tp/syscalls/sys_enter_getpgid. Only the benchmark uses it, to show what
 * the syscall tracepoint itself costs (README, "Measure it"). */
SEC("raw_tp/sys_enter")
int empty_raw_tp(void *ctx)
{
	return 0;
}
