// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 10, kernel side: not the lesson (the summarizer is), but the tracer of
 * the record-size sweep. One record of record_size bytes per getpgid() of a
 * traced process, copied into the ring buffer with bpf_ringbuf_output() from
 * a per-CPU scratch record (4 KiB is too large for the BPF stack). */
#include "lab.bpf.h"
#include "picture.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --record-size, set before load: the verifier sees a constant and checks
 * it against the scratch record's size. */
const volatile __u32 record_size = 64;
/* --wakeup-bytes: 0, the kernel's adaptive wakeups; else wake the reader
 * only once that many bytes wait (as lab 04's task 2 does) */
const volatile __u64 wakeup_bytes = 0;

/* Records the program could not hand over: bpf_ringbuf_output() found the
 * ring full. */
__u64 dropped = 0;

/* The buffer map: one ring for all CPUs (user space sets --ring-size). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* One record per CPU to fill and copy out: tracepoint programs do not nest
 * on a CPU, so no two runs share it at once. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct record);
} scratch SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(void *ctx)
{
	u32 zero = 0;
	struct record *r;
	u64 flags;

	if (!lab_traced())
		return 0;
	r = bpf_map_lookup_elem(&scratch, &zero);
	if (!r)
		return 0;
	r->ts = bpf_ktime_get_ns();
	if (!wakeup_bytes)
		flags = 0;
	else if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + record_size + 8 >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	else
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, r, record_size, flags))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}
