/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every lab program shares: the command line (see CONTRIBUTING.md,
 * "The command-line contract"), the "-- COMMAND" workload runner, the stop
 * conditions, the ready and summary lines, string escaping, one-line errors,
 * and the system checks. Nothing in here is part of an exercise.
 *
 * A lab's main() follows the same shape every time:
 *
 *   lab_parse_args(&lab, "lab-NN", &argp, argc, argv);  exits 2 on bad usage
 *   lab_preflight(&lab, LAB_NEED_...);     root, BTF, tracefs, kernel features
 *   lab_install_signal_handlers();         Ctrl-C, SIGTERM, SIGCHLD
 *   lab_fork_held_command(&lab);           fork -- COMMAND, held before exec
 *   skel = x_bpf__open();
 *   lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
 *   x_bpf__load(skel);  open the buffer;  x_bpf__attach(skel);
 *   lab_seed_ready_release(&lab, skel->obj, "execve");
 *   lab_stall(&lab);                       only with --stall-ms
 *   while (!lab_should_stop(&lab)) poll...;
 *   x_bpf__detach(skel);  lab_wait_for_running_programs();  final drain
 *   lab_summary("received=%llu ...", ...);
 *   lab_end_command(&lab);                 reap the command, report its status
 */
#ifndef LAB_H
#define LAB_H

#include <argp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <bpf/libbpf.h>

#include "lab_abi.h"

/* How long one poll may block: bounds how late we notice Ctrl-C, the end
 * of --duration or the end of the command. */
#define LAB_POLL_MS 100

struct lab_options {
	pid_t pid;             /* -p: only this process (0: every process) */
	unsigned int duration; /* -d: seconds, 0 = until stopped */
	bool quiet;            /* -q: no per-event lines */
	bool verbose;          /* -v: all of libbpf's output */
	unsigned int stall_ms; /* --stall-ms: the consumer reads nothing at first */
	char **command;        /* after "--", NULL-terminated; NULL if none */
};

struct lab {
	const char *name;      /* "lab-01": the prefix of every message */
	struct lab_options opt;

	/* the -- COMMAND workload, see workload.c */
	pid_t child;
	int release_fd;        /* the held child waits for a byte on this pipe */
	int exec_err_fd;       /* carries errno back if the child's exec fails */
	bool child_done;
	int child_status;

	long long start_ns;    /* CLOCK_MONOTONIC at the ready line */
};

/* ---- command line (cli.c) ------------------------------------------- */

/*
 * Parse argv: the lab's own options (lab_argp, may be NULL) plus the common
 * ones. Exits 0 after --help and 2 after a usage error. lab_argp->doc is the
 * one-line description shown by --help.
 */
void lab_parse_args(struct lab *lab, const char *name, const struct argp *lab_argp,
		    int argc, char **argv);

/* -h, --help and --usage (and the usage text after an unknown option), as
 * a child of a program's own argp: lab_parse_args adds it itself; lab 06's
 * subcommands, which parse their own options, add it as a child. */
extern const struct argp lab_help_argp;

/* argp_parse with the labs' conventions: messages start with NAME, usage
 * errors exit 2 with the usage text, -h exits 0. */
void lab_argp_parse(const char *name, const struct argp *argp, int argc, char **argv,
		    void *input);

/* From a lab's argp parser: print "lab-NN: <message>" and the usage, exit 2. */
void lab_usage_error(const struct argp_state *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Parse an unsigned decimal in [min, max] or call lab_usage_error. */
unsigned long long lab_parse_uint(const struct argp_state *state, const char *option,
				  const char *arg, unsigned long long min,
				  unsigned long long max);

static inline bool lab_is_power_of_two(unsigned long long x)
{
	return x && !(x & (x - 1));
}

/* --ring-size BYTES for a BPF ring buffer: a power of two, at least a page
 * (see cli.c for why the check is ours and not the kernel's). */
unsigned long lab_parse_ring_size(const struct argp_state *state, const char *arg);

/* --pages N for a perf buffer, per CPU: a power of two. */
unsigned int lab_parse_pages(const struct argp_state *state, const char *arg);

/* ---- messages (output.c) --------------------------------------------- */

/* "lab-NN: <message>" on stderr. */
void lab_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, ending with ": <strerror(err)>"; err may be negative (libbpf). */
void lab_error_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A libbpf call failed: show the libbpf/verifier log kept so far, then the reason. */
void lab_bpf_error(int err, const char *what);
/* libbpf's log: everything with verbose, else warnings kept for lab_bpf_error. */
void lab_route_libbpf_log(bool verbose);
/* Used by exercise stubs: say which task is missing and where it is explained. */
void lab_todo(const char *task, const char *what);
/* The "lab-NN" that starts every message, for a program (or a subcommand)
 * that parses its own options instead of calling lab_parse_args(). */
void lab_set_name(const char *name);

/* Print s (at most max bytes, stops at NUL) in double quotes with C escapes:
 * \" \\ \n \t \r, and \ooo (octal) for every other byte outside 0x20..0x7e. */
void lab_put_quoted(FILE *out, const char *s, size_t max);

/* Flush the event lines, then print "summary: <fmt>" on stderr. */
void lab_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- system checks (system.c) ---------------------------------------- */

/*
 * Kernel features a lab needs, each probed (not guessed from the version
 * number). The version is where the feature first appeared, for the message.
 * Every lab needs LAB_NEED_TP_BTF: bpf-headers/lab.bpf.h tracks processes
 * with tp_btf programs.
 */
enum lab_need {
	LAB_NEED_PERFBUF     = 1 << 0, /* BPF_MAP_TYPE_PERF_EVENT_ARRAY (4.3) */
	LAB_NEED_RINGBUF     = 1 << 1, /* BPF_MAP_TYPE_RINGBUF (5.8) */
	LAB_NEED_BPFFS       = 1 << 2, /* bpffs at /sys/fs/bpf, for pinning */
	LAB_NEED_LRU         = 1 << 3, /* BPF_MAP_TYPE_LRU_HASH (4.10) */
	LAB_NEED_TP_BTF      = 1 << 4, /* BTF-typed raw tracepoints, tp_btf/ (5.5) */
	LAB_NEED_RUN_ON_CPU  = 1 << 5, /* BPF_PROG_TEST_RUN with BPF_F_TEST_RUN_ON_CPU (5.10) */
	LAB_NEED_ATOMIC_FETCH = 1 << 6, /* atomic fetch-and-add, a __sync_fetch_and_add
					 * whose result is used (5.12) */
};

/* Root, kernel BTF, tracefs, and the kernel features in `needs`. On a
 * missing piece: one line that names it and says how to fix it, and
 * returns -1. */
int lab_preflight(const struct lab *lab, unsigned int needs);

/* Fail with a hint naming the task when the map is not of the expected type
 * (catches an exercise whose map declaration is still missing). */
int lab_expect_map_type(const struct bpf_map *map, enum bpf_map_type type, const char *task);

/*
 * A perf buffer reports lost samples lazily: the kernel writes the
 * PERF_RECORD_LOST record only when the next sample arrives and finds room.
 * After a final drain, run the lab's lab_perf_flush program (in its .bpf.c:
 * it writes one struct lab_flush_marker to the perf buffer) once on every
 * CPU: each run writes a flush marker, and with it any pending lost record.
 * Drain again afterwards. Record callbacks skip the markers with
 * lab_is_flush_marker(). Needs LAB_NEED_RUN_ON_CPU.
 */
int lab_perf_flush_lost(const struct bpf_program *flush_prog);

static inline bool lab_is_flush_marker(const void *data, unsigned int size)
{
	struct lab_flush_marker m;

	/* libbpf hands a perf sample at an address that is 4 mod 8 (after the
	 * record header and the u32 size): copy before reading a u64. The size
	 * may be larger than what was written: perf pads samples to 8 bytes. */
	if (size < sizeof(m))
		return false;
	memcpy(&m, data, sizeof(m));
	return m.magic == LAB_FLUSH_MAGIC;
}

/* ---- the workload and the run (workload.c) ---------------------------- */

/* SIGINT and SIGTERM ask the run to stop (and are passed on to the command);
 * SIGCHLD interrupts a blocking poll when the command exits. */
void lab_install_signal_handlers(void);

/* With -- COMMAND: find it in PATH, fork, and hold the child before its exec
 * until lab_seed_ready_release(). Without a command: nothing. */
int lab_fork_held_command(struct lab *lab);

/* Before load: tell the BPF side (bpf-headers/lab.bpf.h) which process to
 * trace (0: every process), and load the fork/free trackers only when they
 * are needed. */
void lab_bpf_prepare(const struct lab *lab, struct bpf_object *obj, volatile __u32 *lab_target);

/* After attach: seed lab_tracked with the traced process, print the ready
 * line ("lab-NN: tracing <what> ... (Ctrl-C to stop)") and release the held
 * command. */
int lab_seed_ready_release(struct lab *lab, struct bpf_object *obj, const char *what);

/* With --stall-ms: read nothing for that long, and with -- COMMAND also not
 * before the command has exited, so a burst meets a full buffer for sure. */
void lab_stall(struct lab *lab);

/* True once Ctrl-C/SIGTERM arrived, --duration passed, the command exited,
 * or the -p process is gone. Looks only: it reaps nothing. */
bool lab_should_stop(const struct lab *lab);

/* True if the stop came from a signal (the summary is still printed). */
bool lab_interrupted(void);

/* After a step that stops new writes (a detach; lab 09: pausing its rings):
 * wait until no run of a program that started before it is still going, so
 * the read that follows sees every record. */
void lab_wait_for_running_programs(void);

/* Release or reap the command (SIGTERM if it still runs) and close its
 * pipes; says if it exited with a failure. Safe to call twice. */
void lab_end_command(struct lab *lab);

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
long long lab_now_ns(void);

/* Latency (common/latency.c): how long a record waited between its kernel
 * timestamp (bpf_ktime_get_ns) and user space handling it. Note one record: */
void lab_latency_note(unsigned long long ts_ns);
/* " lat_p50_us=N lat_p99_us=N lat_max_us=N" for the summary line, or ""
 * when no record was noted (a static buffer). Any thread may note; ask for
 * the keys once they are done. */
const char *lab_latency_keys(void);

#endif /* LAB_H */
