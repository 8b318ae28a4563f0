// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 06, kernel side: per-process state kept in two LRU hash maps and
 * updated in place. Nothing is sent to user space: it reads the maps when it
 * wants to know (lab-06 query, lab-06 top). */
#include "lab.bpf.h"
#include "statecache.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The two maps. Both are LRU hash maps: when full they evict their least
 * recently used entries instead of refusing new ones. */
struct {
	/* TODO(06.1): the counters' map type: an LRU hash with one value per
	 * CPU, so that no two CPUs ever write the same counter. README task 1. */
	__uint(type, BPF_MAP_TYPE_HASH); /* stands in for the right type until task 1 */
	/* END TODO(06.1) */
	__uint(max_entries, DEFAULT_COUNTERS);
	__type(key, struct count_key);
	__type(value, u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DEFAULT_PROCS);
	__type(key, u32);
	__type(value, struct proc);
} procs SEC(".maps");

/* Syscalls that could not be counted: their counter was evicted between two
 * lookups, or the map had no free entry. Read by user space (skel->bss). */
__u64 dropped;

/*
 * One more call for `key`. The fast path, taken by all but the first call,
 * is one lookup and one add, into this CPU's own copy of the counter: no
 * other CPU writes it, so a plain add is exact and no cache line bounces.
 * Returns 1 if this call created the counter (the rare first-time work).
 */
static __always_inline int count_call(struct count_key *key)
{
	/* TODO(06.2): add 1 in place through bpf_map_lookup_elem(); no counter
	 * yet: create it at 1 with BPF_NOEXIST and return 1. README task 2. */
	/* END TODO(06.2) */
	return 0;
}

/* Make sure tgid has a record: a process may have none yet (it was running
 * before we started, or its record was evicted). A new one is named by the
 * current comm. The lookup first matters: an update, even one that fails
 * with EEXIST, may evict another entry of a full LRU map. */
static __always_inline void note_process(u32 tgid)
{
	struct proc fresh = {};

	if (bpf_map_lookup_elem(&procs, &tgid))
		return;
	fresh.first_ns = fresh.last_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	bpf_map_update_elem(&procs, &tgid, &fresh, BPF_NOEXIST);
}

/* Every syscall entry, on every CPU: nr is the syscall number. */
SEC("tp_btf/sys_enter")
int BPF_PROG(count_syscall, struct pt_regs *regs, long nr)
{
	struct count_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .nr = nr };

	if (nr < 0 || nr >= MAX_SYSCALL_NR || !lab_traced_tgid(key.tgid))
		return 0;
	if (count_call(&key))
		note_process(key.tgid);
	return 0;
}

/* TODO(06.3): in the record (bpf_map_lookup_elem() on procs), at exec set
 * comm, file, execs + 1, last_ns; at exit set exited, last_ns. README task 3. */
static __always_inline void record_exec(u32 tgid, struct linux_binprm *bprm, u64 now)
{
}

static __always_inline void record_exit(u32 tgid, u64 now)
{
}
/* END TODO(06.3) */

/* TODO(06.4): a new process's record, built on the stack (file copied from
 * the parent's), stored with bpf_map_update_elem(..., BPF_ANY). README task 4. */
static __always_inline void record_fork(u32 ppid, u32 tgid, u64 now)
{
}
/* END TODO(06.4) */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!lab_traced_tgid(tgid))
		return 0;
	note_process(tgid);
	record_exec(tgid, bprm, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 ppid = parent->tgid, tgid = child->tgid;

	/* a new thread shares its parent's tgid: not a new process */
	if (tgid != ppid && lab_traced_tgid(ppid))
		record_fork(ppid, tgid, bpf_ktime_get_ns());
	return 0;
}

/* Runs for every thread that exits, after do_exit() has decremented
 * signal->live: it reads 0 in the last thread of the process. Two threads
 * exiting at once can both read 0; both then mark the same dying process
 * exited, so that is harmless (last_ns may be the earlier of the two times).
 * Newer kernels (6.18 among them) also pass `group_dead`, once per process,
 * but reading it would stop the program from loading on older kernels. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	u32 tgid = task->tgid;

	if (task->signal->live.counter || !lab_traced_tgid(tgid))
		return 0;
	note_process(tgid);
	record_exit(tgid, bpf_ktime_get_ns());
	return 0;
}

/* The benchmark's baseline (lab-06 run --empty): the same hook as
 * count_syscall, doing nothing. "?" keeps it from loading unless asked. */
SEC("?tp_btf/sys_enter")
int BPF_PROG(empty_sys_enter)
{
	return 0;
}
