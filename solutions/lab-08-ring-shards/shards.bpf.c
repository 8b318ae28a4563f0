// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 08, kernel side: one record per getpgid() of a traced process, into
 * the ring of the CPU it runs on. `events` holds nr_rings ring buffers; CPU
 * c writes to ring c % nr_rings, so CPUs that share no ring share no lock. */
#include "lab.bpf.h"
#include "shards.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* --rings, set by user space before load: 1 .. MAX_RINGS */
const volatile __u32 nr_rings = 1;

/* Exact counters per ring, read by user space once the programs are detached. */
__u64 next_seq[MAX_RINGS]; /* records put in ring r so far: the seq of the next one */
__u64 dropped[MAX_RINGS];  /* records ring r had no room for (or no ring in its slot) */

/* TODO(08.1): `events`, a BPF_MAP_TYPE_ARRAY_OF_MAPS of MAX_RINGS slots whose
 * inner map is `struct ring`, a BPF_MAP_TYPE_RINGBUF with no size. README task 1. */
struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_RINGS);
	__type(key, u32);
	__array(values, struct ring);
} events SEC(".maps");
/* END TODO(08.1) */

/* Ring r's counter in `counters` (dropped or next_seq). r < nr_rings <=
 * MAX_RINGS always; the mask (MAX_RINGS is a power of two) shows the verifier
 * that the access stays inside the array. */
static __always_inline __u64 *ring_counter(__u64 *counters, u32 r)
{
	return &counters[r & (MAX_RINGS - 1)];
}

SEC("tp/syscalls/sys_enter_getpgid")
int handle_getpgid(void *ctx)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	u32 ring = 0;          /* this CPU's ring: its slot in `events` */
	void *rb = NULL;       /* the ring in that slot */
	struct event *e = NULL;

	if (!lab_traced())
		return 0;

	/* TODO(08.2): this CPU's ring: bpf_get_smp_processor_id() modulo nr_rings,
	 * and its map, bpf_map_lookup_elem(&events, &ring). README task 2. */
	ring = bpf_get_smp_processor_id() % nr_rings;
	rb = bpf_map_lookup_elem(&events, &ring);
	/* END TODO(08.2) */

	/* TODO(08.3): reserve one struct event in rb, if there is a ring; when
	 * that fails, add 1 to ring_counter(dropped, ring) with
	 * __sync_fetch_and_add() and return. README task 3. */
	if (rb)
		e = bpf_ringbuf_reserve(rb, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(ring_counter(dropped, ring), 1);
		return 0;
	}
	/* END TODO(08.3) */

	/* TODO(08.4): fill *e: ts, seq (__sync_fetch_and_add() on
	 * ring_counter(next_seq, ring)), cpu, pid, tid; then submit it. README task 4. */
	e->ts = bpf_ktime_get_ns();
	e->seq = __sync_fetch_and_add(ring_counter(next_seq, ring), 1);
	e->cpu = bpf_get_smp_processor_id();
	e->pid = pid_tgid >> 32;
	e->tid = (u32)pid_tgid;
	bpf_ringbuf_submit(e, 0);
	/* END TODO(08.4) */
	return 0;
}
