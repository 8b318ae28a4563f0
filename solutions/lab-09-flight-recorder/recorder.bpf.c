// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 09, kernel side: one record per getpgid() of a traced process, written
 * into this CPU's perf ring. The rings are overwritable: the kernel makes room
 * by writing over the oldest records, so a write never fails for want of room
 * while recording runs. */
#include "lab.bpf.h"
#include "recorder.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENOSPC 28 /* from errno.h, which BPF programs cannot include */

/* Records bpf_perf_event_output() could not hand over for any reason other
 * than -ENOSPC (which the kernel counts itself, as lost: in an overwritable
 * ring that happens only while user space has paused it). */
__u64 dropped = 0;

/* One ring per CPU. User space opens each one (perf_event_open with
 * write_backward, mapped read-only) and stores its fd at its CPU's index;
 * max_entries left out: libbpf makes it the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* Each CPU's last seq: how many records that CPU produced. A program never
 * runs twice at once on one CPU, so a plain increment is exact. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} seqs SEC(".maps");

SEC("tp/syscalls/sys_enter_getpgid")
int record_getpgid(void *ctx)
{
	struct event e = {};
	u32 zero = 0;
	u64 *seq;
	long err;

	if (!lab_traced())
		return 0;
	seq = bpf_map_lookup_elem(&seqs, &zero);
	if (!seq)
		return 0;

	/* TODO(09.1): fill `e` (this CPU's next seq, bpf_ktime_get_ns(), CPU, pid),
	 * write it with bpf_perf_event_output() into this CPU's ring, count a
	 * failure other than -ENOSPC in `dropped`. README task 1. */
	e.seq = ++*seq;
	e.ts = bpf_ktime_get_ns();
	e.cpu = bpf_get_smp_processor_id();
	e.pid = bpf_get_current_pid_tgid() >> 32;
	err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	if (err && err != -ENOSPC)
		__sync_fetch_and_add(&dropped, 1);
	/* END TODO(09.1) */
	return 0;
}
