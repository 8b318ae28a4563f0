// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 01, kernel side: one record per execve() attempt of a traced process,
 * sent to user space through a perf buffer. */
#include "lab.bpf.h"
#include "execsnoop.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ENOSPC 28 /* from errno.h, which BPF programs cannot include */

/* Records bpf_perf_event_output() could not hand over for any reason other
 * than a full ring (-ENOSPC: the kernel counts those itself, as lost). A
 * __u64, as user space reads it too: skel->bss->dropped. */
__u64 dropped = 0;

/* TODO(01.1): declare `events`, a BPF_MAP_TYPE_PERF_EVENT_ARRAY with 4-byte
 * keys and values and no max_entries. README task 1. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");
/* END TODO(01.1) */

/* Never attached: user space runs it once on each CPU after the final
 * consume (lab_perf_flush_lost() in common/system.c, through
 * BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU). The marker it writes finds
 * room in the drained ring, and with it the kernel writes the lost-sample
 * record that CPU still owes. handle_record() skips the markers. */
SEC("raw_tp")
int lab_perf_flush(void *ctx)
{
	struct lab_flush_marker marker = { .magic = LAB_FLUSH_MAGIC };

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &marker, sizeof(marker));
	return 0;
}

/* Every execve() attempt, successful or not, at syscall entry. */
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
	/* args[0] is execve()'s filename, a pointer into the caller's memory:
	 * the read can fail (e.filename stays empty) */
	bpf_core_read_user_str(&e.filename, sizeof(e.filename), (const char *)ctx->args[0]);

	/* TODO(01.2): send `e` with bpf_perf_event_output(..., BPF_F_CURRENT_CPU, ...);
	 * count a failure other than -ENOSPC in `dropped` (__sync_fetch_and_add).
	 * README task 2. */
	long err = bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));

	if (err && err != -ENOSPC)
		__sync_fetch_and_add(&dropped, 1);
	/* END TODO(01.2) */
	return 0;
}
