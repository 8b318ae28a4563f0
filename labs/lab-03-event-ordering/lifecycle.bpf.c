// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 03, kernel side: one timestamped record per fork, exec and exit of a
 * traced process, sent through a perf buffer (one ring per CPU) or through
 * the BPF ring buffer (one ring shared by all CPUs). */
#include "lab.bpf.h"
#include "lifecycle.h"

#define ENOSPC 28 /* vmlinux.h has no errno values */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --buffer ring, set by user space before load: the verifier then drops the
 * path not taken, so each run uses exactly one of the two maps below. */
const volatile bool use_ring = false;

/* Set by user space before load: does this kernel's sched_process_exit pass
 * group_dead (Linux 6.16 and later)? */
const volatile bool exit_has_group_dead = true;

/* Records the program could not hand over and the kernel does not report:
 * every ring buffer output that failed, and every perf output that failed
 * with another error than -ENOSPC (a full perf ring: the kernel counts that
 * one itself and reports it in a PERF_RECORD_LOST). */
__u64 dropped = 0;

/* The buffer map of --buffer perf: one ring per CPU, as in lab 01. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* The buffer map of --buffer ring: one ring for every CPU, as in lab 02;
 * user space sets its size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events_ring SEC(".maps");

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

/* The fields every event has, read from the task it is about. */
static __always_inline void fill(struct event *e, int kind, struct task_struct *task)
{
	e->kind = kind;
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), task->comm);

	/* TODO(03.1): stamp the record with bpf_ktime_get_ns() and the CPU it
	 * runs on with bpf_get_smp_processor_id(). README task 1. */
	/* END TODO(03.1) */
}

/* Send the record through whichever buffer user space chose. */
static __always_inline void emit(void *ctx, struct event *e)
{
	/* TODO(03.4): send `e` with bpf_ringbuf_output() or bpf_perf_event_output(),
	 * and count in `dropped` (atomically) what the kernel will not report.
	 * README task 4. */
	/* END TODO(03.4) */
}

/* Never attached, and loaded only with --probe (a checker's option, see the
 * README): user space runs it on a given CPU (BPF_PROG_TEST_RUN) while it
 * reads the rings, to write a record stamped after its clock was read into
 * a ring it has already read. */
SEC("raw_tp")
int lab_probe(void *ctx)
{
	struct event e = {};

	fill(&e, EVENT_PROBE, bpf_get_current_task_btf());
	emit(ctx, &e);
	return 0;
}

/* Runs in the parent, after the child is built and before it is woken up:
 * the child cannot exec (or do anything) before this has run. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct event e = {};

	/* the parent is the current task: a traced parent's children count */
	if (!lab_traced())
		return 0;

	/* TODO(03.2): keep whole processes only: return when the new task is a
	 * thread (child->pid != child->tgid). README task 2. */
	/* END TODO(03.2) */

	fill(&e, EVENT_FORK, child);
	emit(ctx, &e);
	return 0;
}

/* Runs in the process itself once the new program is loaded. By then the
 * exec has made the calling thread the leader: its pid is the tgid. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct event e = {};

	if (!lab_traced())
		return 0;

	fill(&e, EVENT_EXEC, p);
	bpf_probe_read_kernel_str(e.filename, sizeof(e.filename), bprm->filename);
	emit(ctx, &e);
	return 0;
}

/* Runs in every exiting thread, p being the current task. Since Linux 6.16
 * the tracepoint also passes group_dead: true for the thread whose exit ends
 * its thread group, the process. Older kernels pass only p: ctx[1] is then
 * out of bounds, and the verifier (which skips the branch that the constant
 * exit_has_group_dead rules out) never sees it read. There, the process is
 * dead once its signal struct counts no live thread, which the exiting
 * thread has just decremented. That fallback is racy: two threads that exit
 * at once can both read 0 and both report the exit. */
SEC("tp_btf/sched_process_exit")
int handle_exit(u64 *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx[0];
	struct event e = {};
	bool group_dead;

	if (!lab_traced())
		return 0;
	if (exit_has_group_dead)
		group_dead = ctx[1];
	else
		group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;

	/* TODO(03.3): report the process's exit once: return unless this
	 * thread's exit ends its thread group (group_dead). README task 3. */
	/* END TODO(03.3) */

	fill(&e, EVENT_EXIT, p);
	emit(ctx, &e);
	return 0;
}
