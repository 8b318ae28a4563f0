// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 04, kernel side: one small record per getpgid() of a traced process,
 * into a perf buffer or a ring buffer, with as few wakeups of the reader as
 * the options allow. */
#include "lab.bpf.h"
#include "wakeups.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. The verifier knows their values, so it
 * drops the branch for the other buffer, and with wakeup_bytes 0 the
 * threshold code, from the program it loads. */
const volatile __u32 buffer = BUFFER_PERF; /* --buffer */
const volatile __u64 wakeup_bytes = 0;     /* --wakeup-bytes, ring only */

/* Exact counters, read by user space once the programs are detached. */
__u64 next_seq = 0; /* records made so far: the seq of the next one */
__u64 dropped = 0;  /* ring mode: no room left, bpf_ringbuf_reserve() failed */

/* Both buffers live in the object; only the one --buffer picks is used. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* user space sets --ring-size before load */
} rb SEC(".maps");

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
	/* TODO(04.1): fill the record. seq comes from the global next_seq with
	 * __sync_fetch_and_add(&next_seq, 1), an atomic add that returns the old
	 * value: programs run on every CPU at once, and a plain ++ would hand
	 * out one seq twice. Then ts (bpf_ktime_get_ns()), cpu
	 * (bpf_get_smp_processor_id()) and tid (the lower half of
	 * bpf_get_current_pid_tgid()). A tracepoint program runs with
	 * preemption off, so on one CPU a record gets its seq and reaches the
	 * buffer before the next one starts: per CPU, seqs arrive in order. */
	(void)e;
	/* END TODO(04.1) */
}

/* The flags for bpf_ringbuf_submit(): when to wake the reader. */
static __always_inline u64 wakeup_flags(void)
{
	/* TODO(04.2): with wakeup_bytes 0, return 0: the kernel's adaptive
	 * default, which wakes the reader when this record is the first it has
	 * not read yet (it had caught up, so it may be asleep). Otherwise ask
	 * bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA), the bytes not yet consumed
	 * (this record included), and return BPF_RB_FORCE_WAKEUP once they
	 * reach wakeup_bytes, BPF_RB_NO_WAKEUP before: the reader sleeps
	 * until a batch is there. */
	return 0;
	/* END TODO(04.2) */
}

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(void *ctx)
{
	if (buffer == BUFFER_NONE || !lab_traced())
		return 0;

	if (buffer == BUFFER_RING) {
		struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

		if (!e) {
			__sync_fetch_and_add(&dropped, 1);
			return 0;
		}
		fill_event(e);
		bpf_ringbuf_submit(e, wakeup_flags());
	} else {
		struct event e = {};

		fill_event(&e);
		/* a full ring counts the sample as lost; user space reads the count */
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	}
	return 0;
}
