// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 05, kernel side: one small numbered, timestamped record per getpgid()
 * of a traced process, into the ring buffer `events`, and exact counts of
 * what was produced and of what did not fit. */
#include "lab.bpf.h"
#include "offload.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Exact counters, read by user space once the programs are detached. */
__u64 produced = 0; /* traced getpgid() calls: each one is a record or dropped */
__u64 dropped = 0;  /* no room in the ring: bpf_ringbuf_reserve() failed */

/* TODO(05.1): declare `events`, a BPF_MAP_TYPE_RINGBUF, with no max_entries:
 * user space sizes it from --ring-size before load. README task 1. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} events SEC(".maps");
/* END TODO(05.1) */

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(struct trace_event_raw_sys_enter *ctx)
{
	if (!lab_traced())
		return 0;

	/* TODO(05.2): seq = atomic fetch-add on produced; bpf_ringbuf_reserve() a
	 * record (NULL: add 1 to dropped, atomically); fill it, stamp included
	 * (ts = bpf_ktime_get_ns()), submit. README task 2. */
	u64 seq = __sync_fetch_and_add(&produced, 1);
	struct record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	u64 pid_tgid = bpf_get_current_pid_tgid();

	r->seq = seq;
	r->ts = bpf_ktime_get_ns();
	r->pid = pid_tgid >> 32;
	r->tid = (u32)pid_tgid;
	bpf_ringbuf_submit(r, 0);
	/* END TODO(05.2) */
	return 0;
}
