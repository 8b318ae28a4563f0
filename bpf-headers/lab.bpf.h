/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The BPF side every lab shares: which processes to trace.
 *
 * With -p PID or -- COMMAND, user space sets lab_target to that process
 * before load and puts it in lab_tracked after load (common/workload.c).
 * With a command, lab_track_fork adds every new process forked by a tracked
 * one, so the command and all its descendants are traced; lab_untrack
 * removes a process when its task is freed. A lab program asks lab_traced() first and
 * returns early when it says no.
 *
 * Include this file once, from the lab's .bpf.c, instead of vmlinux.h.
 */
#ifndef LAB_BPF_H
#define LAB_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "lab_abi.h"

/* Set from user space before load: 0 traces every process; otherwise the
 * process of -p, or the -- COMMAND (forked before load, so its pid is known).
 * As a constant, it costs the verifier's dead-branch removal for "trace
 * everything", and one comparison for the target itself: a load generator
 * makes its calls from that very process, and a comparison is far cheaper
 * than a hash lookup. Its descendants are looked up in lab_tracked. */
const volatile __u32 lab_target = 0;

/*
 * Processes being traced: tgid -> the start time of the process
 * (task->start_time of its group leader), or 0 for the process user space
 * seeded. The start time tells two processes with the same pid apart: the
 * kernel frees a task in an RCU callback some time after it was reaped, and
 * by then its pid may already belong to a new traced process.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LAB_MAX_TRACKED);
	__type(key, u32);
	__type(value, u64);
} lab_tracked SEC(".maps");

static __always_inline bool lab_traced_tgid(u32 tgid)
{
	return !lab_target || tgid == lab_target || bpf_map_lookup_elem(&lab_tracked, &tgid);
}

/* Is the current task part of what we trace? */
static __always_inline bool lab_traced(void)
{
	return lab_traced_tgid(bpf_get_current_pid_tgid() >> 32);
}

/* A new process forked by a tracked one is tracked too. A new thread shares
 * its creator's tgid, which is tracked already. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(lab_track_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 parent_tgid = parent->tgid, child_tgid = child->tgid;
	u64 started = child->start_time;

	if (child->pid != child->tgid)
		return 0;
	if (bpf_map_lookup_elem(&lab_tracked, &parent_tgid))
		bpf_map_update_elem(&lab_tracked, &child_tgid, &started, BPF_ANY);
	return 0;
}

/*
 * sched_process_free fires after the task is reaped, so after every
 * tracepoint of its life (exec, exit) has run and been filtered: removing the
 * process earlier, at exit, could hide its own exit event from a program that
 * runs after this one. Only the thread-group leader stands for the process
 * (a thread that execs takes over the leader's pid and start time, and the
 * old leader is freed with the thread's pid). The entry goes only if it is
 * still this process's: a new process that took the pid in the meantime has
 * its own start time there.
 */
SEC("tp_btf/sched_process_free")
int BPF_PROG(lab_untrack, struct task_struct *task)
{
	u32 tgid = task->tgid;
	u64 *started;

	if (task->pid != task->tgid)
		return 0;
	started = bpf_map_lookup_elem(&lab_tracked, &tgid);
	if (started && (*started == 0 || *started == task->start_time))
		bpf_map_delete_elem(&lab_tracked, &tgid);
	return 0;
}

#endif /* LAB_BPF_H */
