// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Checks of the machine, each failing with one line that says the fix. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>

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

static int missing_map(const char *what, const char *version)
{
	struct utsname u;

	uname(&u);
	lab_error("needs kernel >= %s for %s (this is %s)", version, what, u.release);
	return -1;
}

int lab_preflight(const struct lab *lab, unsigned int needs)
{
	(void)lab;
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
	if ((needs & LAB_NEED_PERFBUF) && !kernel_has_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY))
		return missing_map("the BPF perf event array", "4.3");
	if ((needs & LAB_NEED_RINGBUF) && !kernel_has_map(BPF_MAP_TYPE_RINGBUF))
		return missing_map("the BPF ring buffer", "5.8");
	if ((needs & LAB_NEED_LRU) && !kernel_has_map(BPF_MAP_TYPE_LRU_HASH))
		return missing_map("the BPF LRU hash map", "4.10");
	return 0;
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
