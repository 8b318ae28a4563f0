// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 05, kernel side: one small numbered record per getpgid() of a traced
 * process, into a BPF ring buffer, and exact counts of what was produced and
 * of what did not fit. */
#include "lab.bpf.h"
#include "offload.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Exact counters, read by user space once the programs are detached. */
__u64 produced = 0;     /* traced getpgid() calls: each one is a record or a kernel drop */
__u64 kernel_drops = 0; /* no room in the ring: bpf_ringbuf_reserve() failed */

/* TODO(05.1): declare `records`, a BPF_MAP_TYPE_RINGBUF: one byte buffer
 * shared by every CPU, with no key and no value. Leave max_entries out: user
 * space sets the size in bytes before load, from --ring-size. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} records SEC(".maps");
/* END TODO(05.1) */

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(struct trace_event_raw_sys_enter *ctx)
{
	if (!lab_traced())
		return 0;

	/* TODO(05.2): the producer. Number the call with
	 * seq = __sync_fetch_and_add(&produced, 1): an atomic add that returns
	 * the old value, so calls on different CPUs get different numbers. Then
	 * reserve a struct record with bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	 * when it returns NULL the ring is full: add 1 to kernel_drops (atomically
	 * too) and return. Otherwise fill seq, pid (upper half of
	 * bpf_get_current_pid_tgid()) and tid (lower half), and publish it with
	 * bpf_ringbuf_submit(r, 0). Counting before reserving makes
	 * produced == records written + kernel_drops, exactly. */
	u64 seq = __sync_fetch_and_add(&produced, 1);
	struct record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);

	if (!r) {
		__sync_fetch_and_add(&kernel_drops, 1);
		return 0;
	}
	u64 pid_tgid = bpf_get_current_pid_tgid();

	r->seq = seq;
	r->pid = pid_tgid >> 32;
	r->tid = (u32)pid_tgid;
	bpf_ringbuf_submit(r, 0);
	/* END TODO(05.2) */
	return 0;
}
