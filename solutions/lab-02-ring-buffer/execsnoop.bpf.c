// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 02, kernel side: one record per execve() of a traced process, reserved
 * in the BPF ring buffer, filled in place, then submitted or discarded. */
#include "lab.bpf.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --path-prefix, set by user space before load; prefix_len 0 keeps everything */
const volatile char path_prefix[PREFIX_MAX] = {};
const volatile __u32 prefix_len = 0;

/* Exact counters, read by user space once the programs are detached. */
__u64 dropped = 0;   /* no room in the ring: bpf_ringbuf_reserve() failed */
__u64 discarded = 0; /* reserved and filled, then thrown away by the filter */

/* TODO(02.1): declare `events`, a BPF_MAP_TYPE_RINGBUF. There is no key or
 * value: the ring is a byte buffer shared by every CPU. Leave max_entries
 * out: user space sets the size (in bytes) before load, from --ring-size. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
} events SEC(".maps");
/* END TODO(02.1) */

static __always_inline bool has_prefix(const char *s)
{
	for (u32 i = 0; i < PREFIX_MAX && i < prefix_len; i++)
		if (s[i] != path_prefix[i])
			return false;
	return true;
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e;

	if (!lab_traced())
		return 0;

	/* TODO(02.2): reserve room for one record with bpf_ringbuf_reserve(&events,
	 * sizeof(*e), 0). It returns NULL when the ring has no room left: count
	 * that in `dropped` (with __sync_fetch_and_add: programs run on all CPUs
	 * at once) and return, before doing any work. */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&dropped, 1);
		return 0;
	}
	/* END TODO(02.2) */

	/* TODO(02.3): fill the record in place: pid (upper half of
	 * bpf_get_current_pid_tgid()), tid (lower half), comm, and the filename
	 * read with bpf_core_read_user_str() straight into e->filename, from
	 * ctx->args[0]. The reserved memory is not zeroed: write every field. */
	u64 pid_tgid = bpf_get_current_pid_tgid();

	e->pid = pid_tgid >> 32;
	e->tid = (u32)pid_tgid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_core_read_user_str(&e->filename, sizeof(e->filename), (const char *)ctx->args[0]);
	/* END TODO(02.3) */

	/* TODO(02.4): the filter, which needs the filename, so only now: when
	 * !has_prefix(e->filename), give the record back with
	 * bpf_ringbuf_discard(e, 0), count it in `discarded`, and return. */
	if (!has_prefix(e->filename)) {
		bpf_ringbuf_discard(e, 0);
		__sync_fetch_and_add(&discarded, 1);
		return 0;
	}
	/* END TODO(02.4) */

	/* TODO(02.5): publish the record with bpf_ringbuf_submit(e, 0). Every
	 * reserved record must be submitted or discarded: the verifier rejects a
	 * program with a path that does neither. */
	bpf_ringbuf_submit(e, 0);
	/* END TODO(02.5) */
	return 0;
}
