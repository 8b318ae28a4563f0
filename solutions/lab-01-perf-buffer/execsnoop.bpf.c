// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 01, kernel side: one record per execve() of a traced process, sent to
 * user space through a perf buffer. */
#include "lab.bpf.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* TODO(01.1): declare `events`, a BPF_MAP_TYPE_PERF_EVENT_ARRAY. It holds one
 * perf event (one ring) per CPU, indexed by CPU number: key and value are
 * both 4 bytes (a CPU index and a perf event fd). Leave max_entries out:
 * libbpf sizes the map to the number of CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");
/* END TODO(01.1) */

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

SEC("tp/syscalls/sys_enter_execve")
int handle_execve(struct trace_event_raw_sys_enter *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct event e = {};

	if (!lab_traced())
		return 0;

	e.pid = pid_tgid >> 32;
	e.tid = (u32)pid_tgid;
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	/* args[0] is execve()'s filename, a pointer into the caller's memory */
	bpf_core_read_user_str(&e.filename, sizeof(e.filename), (const char *)ctx->args[0]);

	/* TODO(01.2): send `e` to user space with bpf_perf_event_output(). Pass
	 * BPF_F_CURRENT_CPU as the index: the record goes into the ring of the
	 * CPU this program runs on, so CPUs never contend for one buffer. The
	 * call copies `e`; when that ring is full it returns -ENOSPC and the
	 * kernel counts the sample as lost. */
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	/* END TODO(01.2) */
	return 0;
}
