// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 02, kernel side: one record per execve() attempt of a traced process,
 * reserved in the BPF ring buffer, filled in place, then submitted or
 * discarded. */
#include "lab.bpf.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --path-prefix, set by user space before load; prefix_len 0 keeps everything */
const volatile char path_prefix[PREFIX_MAX] = {};
const volatile __u32 prefix_len = 0;

/* Exact counters, read by user space once the programs are detached. */
__u64 dropped = 0;   /* no room in the ring: bpf_ringbuf_reserve() failed */
__u64 discarded = 0; /* reserved and filled, then given back by the filter */

/* TODO(02.1): declare `events`, a BPF_MAP_TYPE_RINGBUF, with no size:
 * user space sets it. README task 1. */
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

/* Room for one record in `events`, or NULL when the ring is full. */
static __always_inline struct event *reserve_record(void)
{
	/* TODO(02.2): bpf_ringbuf_reserve() one struct event; on NULL add 1 to
	 * `dropped` with __sync_fetch_and_add(). README task 2. */
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		__sync_fetch_and_add(&dropped, 1);
	return e;
	/* END TODO(02.2) */
}

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e;

	if (!lab_traced())
		return 0;
	e = reserve_record();
	if (!e)
		return 0; /* before any work: nothing to fill, nothing to give back */

	/* TODO(02.3): fill every field of *e in place: pid, tid, comm, and the
	 * filename from user memory at ctx->args[0]. README task 3. */
	u64 pid_tgid = bpf_get_current_pid_tgid();

	e->pid = pid_tgid >> 32;
	e->tid = (u32)pid_tgid;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_core_read_user_str(&e->filename, sizeof(e->filename), (const char *)ctx->args[0]);
	/* END TODO(02.3) */

	/* TODO(02.4): a filename without the prefix: bpf_ringbuf_discard() the
	 * record, add 1 to `discarded`, return. README task 4. */
	if (!has_prefix(e->filename)) {
		bpf_ringbuf_discard(e, 0);
		__sync_fetch_and_add(&discarded, 1);
		return 0;
	}
	/* END TODO(02.4) */

	/* TODO(02.5): publish the record with bpf_ringbuf_submit().
	 * README task 5. */
	bpf_ringbuf_submit(e, 0);
	/* END TODO(02.5) */
	return 0;
}
