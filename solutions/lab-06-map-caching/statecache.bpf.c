// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 06, kernel side: per-process state kept in two LRU hash maps and
 * updated in place. Nothing is sent to user space: it reads the maps when it
 * wants to know (lab-06 query, lab-06 top). */
#include "lab.bpf.h"
#include "statecache.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* TODO(06.1): declare the two maps, both BPF_MAP_TYPE_LRU_HASH, so that a
 * full map evicts its least recently used entries instead of refusing new
 * ones: `counts`, key struct count_key, value u64 (a call counter),
 * max_entries DEFAULT_COUNTERS; and `procs`, key u32 (a tgid), value
 * struct proc, max_entries DEFAULT_PROCS. User space may change max_entries
 * before load (--max-entries, task 5). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
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
/* END TODO(06.1) */

/* Syscalls that could not be counted: their counter was evicted between two
 * lookups, or the map had no free entry. Read by user space (skel->bss). */
__u64 missed;

/*
 * One more call for `key`. The fast path, taken by all but the first call,
 * is one lookup and one add into the map's memory. Returns 1 if this call
 * created the counter, so the caller can do the rare first-time work.
 */
static __always_inline int count_call(struct count_key *key)
{
	/* TODO(06.2): count the call in place. bpf_map_lookup_elem() returns a
	 * pointer into the map's value: add 1 there with
	 * __sync_fetch_and_add(), an atomic add, because the threads of one
	 * process run on several CPUs at once and a plain ++ loses increments.
	 * No counter yet: create it at 1 with bpf_map_update_elem(...,
	 * BPF_NOEXIST) and return 1. If that fails, another CPU created it in
	 * between: look it up again and add 1; if it is still not there, count
	 * the call in `missed` (atomically too). Return 0 when not created.
	 * Never update an existing counter with bpf_map_update_elem(): on a
	 * full LRU map every update takes a free entry first, evicting one. */
	u64 one = 1, *calls = bpf_map_lookup_elem(&counts, key);

	if (calls) {
		__sync_fetch_and_add(calls, 1);
		return 0;
	}
	if (!bpf_map_update_elem(&counts, key, &one, BPF_NOEXIST))
		return 1;
	calls = bpf_map_lookup_elem(&counts, key);
	if (calls)
		__sync_fetch_and_add(calls, 1);
	else
		__sync_fetch_and_add(&missed, 1);
	return 0;
	/* END TODO(06.2) */
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

/* TODO(06.3): keep a process's record up to date, in place. In
 * record_exec(), look the record up (bpf_map_lookup_elem() on procs; the
 * caller has made sure it exists, skip if it was evicted since) and write
 * into it directly: comm (bpf_get_current_comm(), which the exec has
 * just set), file (bpf_probe_read_kernel_str() of bprm->filename, the path
 * that was executed), execs + 1, last_ns = now. In record_exit(), mark the
 * record exited and set last_ns. Only one thread of a process can exec or
 * exit last, so plain writes are enough here. */
static __always_inline void record_exec(u32 tgid, struct linux_binprm *bprm, u64 now)
{
	struct proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return;
	bpf_get_current_comm(p->comm, sizeof(p->comm));
	bpf_probe_read_kernel_str(p->file, sizeof(p->file), bprm->filename);
	p->execs++;
	p->last_ns = now;
}

static __always_inline void record_exit(u32 tgid, u64 now)
{
	struct proc *p = bpf_map_lookup_elem(&procs, &tgid);

	if (!p)
		return;
	p->exited = 1;
	p->last_ns = now;
}
/* END TODO(06.3) */

/* TODO(06.4): a new process gets a whole new record. Build it on the stack:
 * first_ns = last_ns = now, ppid, comm (the child's is still its
 * parent's: bpf_get_current_comm(), we run in the parent), and file copied
 * from the parent's record if it has one (the child runs the same program
 * until it execs; __builtin_memcpy() from the map value). Store it with
 * bpf_map_update_elem(..., BPF_ANY): a record already under this pid
 * belonged to an earlier process, since pids are reused. */
static __always_inline void record_fork(u32 ppid, u32 tgid, u64 now)
{
	struct proc fresh = { .first_ns = now, .last_ns = now, .ppid = ppid };
	struct proc *parent = bpf_map_lookup_elem(&procs, &ppid);

	bpf_get_current_comm(fresh.comm, sizeof(fresh.comm));
	if (parent)
		__builtin_memcpy(fresh.file, parent->file, sizeof(fresh.file));
	bpf_map_update_elem(&procs, &tgid, &fresh, BPF_ANY);
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

/* Runs for every thread that exits. do_exit() has just decremented
 * signal->live: it is 0 only for the last thread of the process. */
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
