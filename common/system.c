// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Checks of the machine, each failing with one line that says the fix. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include "lab.h"

#define KERNEL_BTF "/sys/kernel/btf/vmlinux"
#define TRACEFS    "/sys/kernel/tracing"
#define DEBUGFS_TRACING "/sys/kernel/debug/tracing"
#define BPFFS      "/sys/fs/bpf"

static bool has_capability(int cap)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capget, &header, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

/* Root, or the capabilities a tracer needs since 5.8 (CAP_BPF + CAP_PERFMON). */
static bool may_trace(void)
{
	return geteuid() == 0 || has_capability(CAP_SYS_ADMIN) ||
	       (has_capability(CAP_BPF) && has_capability(CAP_PERFMON));
}

/* libbpf 1.1 looks for tracepoints under debugfs when that path exists. */
static bool tracefs_mounted(void)
{
	const char *dir = access(DEBUGFS_TRACING, F_OK) == 0 ? DEBUGFS_TRACING : TRACEFS;
	char events[64];

	snprintf(events, sizeof(events), "%s/events", dir);
	return access(events, F_OK) == 0;
}

static bool bpffs_mounted(void)
{
	struct statfs fs;

	return statfs(BPFFS, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

static bool kernel_has_map(enum bpf_map_type type)
{
	return libbpf_probe_bpf_map_type(type, NULL) == 1;
}

/* tp_btf programs attach to a tracepoint through its btf_trace_* typedef in
 * the kernel's BTF, which kernels before 5.5 (and their backports) lack.
 * Looked up as a name in the BTF's string section: libbpf parses the whole
 * BTF (about 60 ms here) for CO-RE anyway, and a probe that parsed it again
 * would double that at every start. */
static bool kernel_has_tp_btf(void)
{
	static const char name[] = "\0btf_trace_sched_process_fork"; /* with its NULs */
	struct btf_header hdr;
	bool found = false;
	char *strs;
	FILE *f = fopen("/sys/kernel/btf/vmlinux", "re");

	if (!f)
		return false;
	if (fread(&hdr, sizeof(hdr), 1, f) == 1 && hdr.magic == BTF_MAGIC &&
	    !fseek(f, hdr.hdr_len + hdr.str_off, SEEK_SET) && (strs = malloc(hdr.str_len))) {
		if (fread(strs, 1, hdr.str_len, f) == hdr.str_len)
			found = memmem(strs, hdr.str_len, name, sizeof(name)) != NULL;
		free(strs);
	}
	fclose(f);
	return found;
}

/* Load a two-instruction-or-so raw_tp program; -1 if the kernel refuses. */
static int load_probe(const struct bpf_insn *insns, size_t count)
{
	return bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "lab_probe", "GPL", insns, count,
			     NULL);
}

/* BPF_F_TEST_RUN_ON_CPU, which lab_perf_flush_lost relies on. */
static bool kernel_runs_on_cpu(void)
{
	const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = 0);
	int fd = load_probe(ret0, 2), err;

	if (fd < 0)
		return false;
	err = bpf_prog_test_run_opts(fd, &opts);
	close(fd);
	return err == 0;
}

/* r1 = 1; r2 = 0; *(u64 *)(r10 - 8) = r2; r1 = atomic_fetch_add(r10 - 8, r1) */
static bool kernel_has_atomic_fetch(void)
{
	const struct bpf_insn fetch_add[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_1, .imm = 1 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_STX | BPF_DW | BPF_MEM, .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_2, .off = -8 },
		{ .code = BPF_STX | BPF_DW | BPF_ATOMIC, .dst_reg = BPF_REG_10,
		  .src_reg = BPF_REG_1, .off = -8, .imm = BPF_ADD | BPF_FETCH },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = load_probe(fetch_add, sizeof(fetch_add) / sizeof(fetch_add[0]));

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int missing(const char *feature, const char *version)
{
	struct utsname u;

	uname(&u);
	lab_error("this kernel (%s) lacks %s: the lab needs Linux >= %s", u.release, feature,
		  version);
	return -1;
}

static int probe_features(unsigned int needs)
{
	if ((needs & LAB_NEED_TP_BTF) && !kernel_has_tp_btf())
		return missing("BTF-typed tracepoints (tp_btf)", "5.5");
	if ((needs & LAB_NEED_PERFBUF) && !kernel_has_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY))
		return missing("the BPF perf event array", "4.3");
	if ((needs & LAB_NEED_RINGBUF) && !kernel_has_map(BPF_MAP_TYPE_RINGBUF))
		return missing("the BPF ring buffer", "5.8");
	if ((needs & LAB_NEED_LRU) && !kernel_has_map(BPF_MAP_TYPE_LRU_HASH))
		return missing("the BPF LRU hash map", "4.10");
	if ((needs & LAB_NEED_RUN_ON_CPU) && !kernel_runs_on_cpu())
		return missing("BPF_F_TEST_RUN_ON_CPU (the final lost-record flush)", "5.10");
	if ((needs & LAB_NEED_ATOMIC_FETCH) && !kernel_has_atomic_fetch())
		return missing("BPF atomic fetch-and-add", "5.12");
	return 0;
}

int lab_preflight(const struct lab *lab, unsigned int needs)
{
	if (!may_trace()) {
		lab_error("needs root (CAP_BPF and CAP_PERFMON): run it with sudo");
		return -1;
	}
	if (access(KERNEL_BTF, R_OK)) {
		lab_error("the kernel has no BTF at %s: the labs need CONFIG_DEBUG_INFO_BTF=y",
			  KERNEL_BTF);
		return -1;
	}
	if (!tracefs_mounted()) {
		lab_error("tracefs is not mounted at %s: run make setup "
			  "(or: mount -t tracefs tracefs %s)", TRACEFS, TRACEFS);
		return -1;
	}
	if ((needs & LAB_NEED_BPFFS) && !bpffs_mounted()) {
		lab_error("bpffs is not mounted at %s: run make setup (or: mount -t bpf bpf %s)",
			  BPFFS, BPFFS);
		return -1;
	}
	return probe_features(needs | LAB_NEED_TP_BTF);
}

int lab_expect_map_type(const struct bpf_map *map, enum bpf_map_type type, const char *task)
{
	const char *want = libbpf_bpf_map_type_str(type);
	const char *have = libbpf_bpf_map_type_str(bpf_map__type(map));

	if (bpf_map__type(map) == type)
		return 0;
	lab_error("map '%s' is %s, not %s yet: see TODO(%s)", bpf_map__name(map),
		  have ? have : "of no known type", want, task);
	return -1;
}

int lab_perf_flush_lost(const struct bpf_program *flush_prog)
{
	int fd = bpf_program__fd(flush_prog), ncpus = libbpf_num_possible_cpus();

	for (int cpu = 0; cpu < ncpus; cpu++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = cpu);

		/* ENXIO: a possible CPU that is offline has no buffer to flush */
		if (bpf_prog_test_run_opts(fd, &opts) && errno != ENXIO) {
			lab_error_errno(errno, "cannot flush the lost count of CPU %d", cpu);
			return -1;
		}
	}
	return 0;
}
