// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 03, kernel side: one timestamped record per fork, exec and exit of a
 * traced process, sent through a perf buffer (one ring per CPU) or through
 * the BPF ring buffer (one ring shared by all CPUs). */
#include "lab.bpf.h"
#include "lifecycle.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --buffer ring, set by user space before load: the verifier then drops the
 * path not taken, so each run uses exactly one of the two maps below. */
const volatile bool use_ring = false;

/* Records the ring buffer had no room for. A perf buffer counts its own
 * losses and reports them in PERF_RECORD_LOST; the ring buffer does not. */
__u64 ring_lost = 0;

/* One ring per CPU, as in lab 01. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* One ring for every CPU, as in lab 02; user space sets its size before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ring SEC(".maps");

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

	/* TODO(03.1): stamp the record. e->ts = bpf_ktime_get_ns(): the
	 * CLOCK_MONOTONIC time in ns, read from one clock that every CPU
	 * shares, so stamps taken on different CPUs compare; it is the only
	 * thing user space can sort by. e->cpu = bpf_get_smp_processor_id():
	 * the CPU this runs on, which with BPF_F_CURRENT_CPU is also the perf
	 * ring the record goes to. */
	e->ts = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	/* END TODO(03.1) */
}

/* Send the record through whichever buffer user space chose. */
static __always_inline void emit(void *ctx, struct event *e)
{
	/* TODO(03.4): with use_ring, copy `e` into the shared ring with
	 * bpf_ringbuf_output(&ring, e, sizeof(*e), 0). It returns an error when
	 * the ring has no room: count that in `ring_lost` with
	 * __sync_fetch_and_add (every CPU runs this at once), since nobody else
	 * will. Without use_ring, the perf buffer of lab 01:
	 * bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e)). */
	if (use_ring) {
		if (bpf_ringbuf_output(&ring, e, sizeof(*e), 0))
			__sync_fetch_and_add(&ring_lost, 1);
	} else {
		bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
	}
	/* END TODO(03.4) */
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

	/* TODO(03.2): sched_process_fork fires for every clone(), so for every
	 * new thread too (pthread_create() is clone(CLONE_THREAD)). Keep whole
	 * processes only: a new process leads its own thread group, so return
	 * unless child->pid == child->tgid. */
	if (child->pid != child->tgid)
		return 0;
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

/* Runs in every exiting thread. Only its first argument is read, the one
 * every kernel passes (newer ones add a second, group_dead). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct event e = {};

	if (!lab_traced())
		return 0;

	/* TODO(03.3): every thread's exit fires sched_process_exit. Report the
	 * process's exit once, from its leader: return unless p->pid == p->tgid. */
	if (p->pid != p->tgid)
		return 0;
	/* END TODO(03.3) */

	fill(&e, EVENT_EXIT, p);
	emit(ctx, &e);
	return 0;
}
