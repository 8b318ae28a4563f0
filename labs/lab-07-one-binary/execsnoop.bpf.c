// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 07, kernel side: one record per execve() of a traced process, through
 * whichever buffer user space chose before load. One pair of wrappers,
 * reserve_event() and submit_event(), hides which one it is. */
#include "lab.bpf.h"
#include "execsnoop.h"

#define ENOSPC 28

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by user space before load. Read-only data is frozen at load, so the
 * verifier knows its value, walks only the branch it selects and removes the
 * other: a kernel without the ring buffer never checks a ring-buffer call. */
const volatile bool use_ringbuf = true;

/* Records the program could not hand over and that the kernel does not
 * report itself: a full ring (reserve failed), or a perf output that failed
 * for any reason but -ENOSPC (which the kernel reports as lost). */
__u64 dropped = 0;

/* Declared once, as a ring buffer. Where the kernel has none, user space
 * turns it into a BPF_MAP_TYPE_PERF_EVENT_ARRAY before load (and sizes it). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} events SEC(".maps");

/* The perf path's room for one record, one per CPU: reserve_event() returns
 * memory to fill in place on both paths, so handle_execve is written once;
 * bpf_perf_event_output() then copies it out. Unused on the ring path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct event);
} scratch SEC(".maps");

/* Never attached, and loaded only on the perf path: user space runs it once
 * on each CPU at the end (lab_perf_flush_lost in common/system.c, through
 * BPF_PROG_TEST_RUN). Each run writes one flush marker; room for it is what
 * makes the kernel write the lost-sample record that CPU still owes. */
SEC("raw_tp")
int lab_perf_flush(void *ctx)
{
	struct lab_flush_marker marker = { .magic = LAB_FLUSH_MAGIC };

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &marker, sizeof(marker));
	return 0;
}

/* Room for one record: in the ring itself, or in this CPU's scratch record. */
static __always_inline struct event *reserve_event(void)
{
	struct event *e = NULL;

	/* TODO(07.1): ring: bpf_ringbuf_reserve(), a failure counted in `dropped`;
	 * perf: the scratch record (bpf_map_lookup_elem). README task 1. */
	/* END TODO(07.1) */
	return e;
}

/* Hand the filled record over. */
static __always_inline void submit_event(void *ctx, struct event *e)
{
	/* TODO(07.2): ring: bpf_ringbuf_submit(); perf: bpf_perf_event_output() on
	 * this CPU, failures but -ENOSPC counted in `dropped`. README task 2. */
	/* END TODO(07.2) */
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct event *e;

	if (!lab_traced())
		return 0;
	e = reserve_event();
	if (!e)
		return 0;

	/* neither the ring's room nor the scratch record is zeroed: write every field */
	e->ts = bpf_ktime_get_ns();
	e->pid = pid_tgid >> 32;
	e->tid = (u32)pid_tgid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	/* args[0] is execve()'s filename, a pointer into the caller's memory */
	bpf_core_read_user_str(&e->filename, sizeof(e->filename), (const char *)ctx->args[0]);
	submit_event(ctx, e);
	return 0;
}
