// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The run of a lab program: signals, the -- COMMAND workload, and when to stop.
 *
 * -- COMMAND is forked before anything is loaded, and held: the child blocks
 * reading a pipe. Once the programs are attached and the child's pid is in
 * lab_tracked, lab_seed_ready_release() writes one byte and the child execs
 * the command, so not one event of it is missed, its own exec included. A
 * second pipe, closed on exec, carries errno back if the exec fails.
 *
 * The command's path is resolved here, before the fork, as a shell would:
 * execvp() in the child would try every PATH entry in turn, and each failed
 * try is an execve() the tracer would report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "lab.h"

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t forward_pid;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
	/* like perf record: the command we started is stopped with us */
	if (forward_pid > 0)
		kill(forward_pid, sig);
}

static void on_child(int sig)
{
	/* only here to interrupt poll(): lab_should_stop() looks at the child */
}

/*
 * SA_RESTART, so that a signal never cuts short a write() of event lines to a
 * full pipe (stdio would drop what it had buffered). It does not restart
 * epoll_wait(), poll() or nanosleep(): those return EINTR whatever the flag
 * (signal(7)), which is what ends a blocking poll at Ctrl-C or the command's
 * exit. A signal that lands just before a poll blocks is noticed when that
 * poll times out: LAB_POLL_MS bounds the delay.
 */
void lab_install_signal_handlers(void)
{
	struct sigaction stop = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	struct sigaction child = { .sa_handler = on_child, .sa_flags = SA_RESTART | SA_NOCLDSTOP };

	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGCHLD, &child, NULL);
}

long long lab_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

bool lab_interrupted(void)
{
	return stop_signal != 0;
}

static void run_held_child(int release_rd, int exec_err_wr, const char *path, char **command)
{
	char go;
	int err;

	if (read(release_rd, &go, 1) != 1)
		_exit(0); /* the tracer gave up before tracing started */
	execv(path, command);
	err = errno;
	if (write(exec_err_wr, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* NAME with a slash is a path; otherwise the first executable NAME in $PATH. */
static int resolve_command(const char *name, char *path, size_t size)
{
	const char *dirs = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(path, size, "%s", name);
		return 0;
	}
	for (const char *dir = dirs ? dirs : "/usr/bin:/bin"; ; dir++) {
		size_t len = strcspn(dir, ":");

		snprintf(path, size, "%.*s%s%s", (int)len, dir, len ? "/" : "", name);
		if (is_executable(path))
			return 0;
		dir += len;
		if (!*dir)
			break;
	}
	lab_error("cannot run '%s': not found in PATH", name);
	return -1;
}

int lab_fork_held_command(struct lab *lab)
{
	char path[PATH_MAX];
	int release[2], exec_err[2];

	if (!lab->opt.command)
		return 0;
	if (resolve_command(lab->opt.command[0], path, sizeof(path)))
		return -1;

	if (pipe2(release, O_CLOEXEC) || pipe2(exec_err, O_CLOEXEC)) {
		lab_error_errno(errno, "cannot create the pipes for the command");
		return -1;
	}
	lab->child = fork();
	if (lab->child < 0) {
		lab_error_errno(errno, "cannot fork the command");
		return -1;
	}
	if (lab->child == 0) {
		close(release[1]);
		close(exec_err[0]);
		run_held_child(release[0], exec_err[1], path, lab->opt.command);
	}
	close(release[0]);
	close(exec_err[1]);
	lab->release_fd = release[1];
	lab->exec_err_fd = exec_err[0];
	forward_pid = lab->child;
	return 0;
}

/* The process the run is about: -p's, or the -- COMMAND's; 0 for every process. */
static pid_t target_pid(const struct lab *lab)
{
	return lab->opt.pid ? lab->opt.pid : lab->child;
}

void lab_bpf_prepare(const struct lab *lab, struct bpf_object *obj, volatile __u32 *lab_target)
{
	struct bpf_program *track_fork = bpf_object__find_program_by_name(obj, "lab_track_fork");
	struct bpf_program *untrack = bpf_object__find_program_by_name(obj, "lab_untrack");
	pid_t target = target_pid(lab);

	*lab_target = target;
	/* -p follows one process; -- COMMAND follows its descendants too */
	if (track_fork)
		bpf_program__set_autoload(track_fork, lab->opt.command != NULL);
	if (untrack)
		bpf_program__set_autoload(untrack, target != 0);
}

static int track(struct bpf_object *obj, pid_t pid)
{
	struct bpf_map *tracked = bpf_object__find_map_by_name(obj, "lab_tracked");
	__u32 tgid = pid;
	__u64 any_start = 0; /* see lab_tracked in lab.bpf.h */

	if (!tracked) {
		lab_error("the BPF object has no lab_tracked map: include lab.bpf.h");
		return -1;
	}
	if (bpf_map_update_elem(bpf_map__fd(tracked), &tgid, &any_start, BPF_ANY)) {
		lab_error_errno(errno, "cannot track pid %d", pid);
		return -1;
	}
	return 0;
}

/* Release the held child and wait until its exec has either happened (the
 * close-on-exec pipe reads EOF) or failed (it carries errno). */
static int release_command(struct lab *lab)
{
	int err = 0;
	ssize_t n;

	if (write(lab->release_fd, "", 1) != 1) {
		lab_error_errno(errno, "cannot release the command");
		return -1;
	}
	do
		n = read(lab->exec_err_fd, &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(lab->exec_err_fd);
	lab->exec_err_fd = -1;
	if (n > 0) {
		lab_error_errno(err, "cannot run '%s'", lab->opt.command[0]);
		return -1;
	}
	return 0;
}

int lab_seed_ready_release(struct lab *lab, struct bpf_object *obj, const char *what)
{
	pid_t pid = target_pid(lab);

	if (pid && track(obj, pid))
		return -1;

	if (lab->opt.command)
		fprintf(stderr, "%s: tracing %s of pid %d (%s) and its descendants (Ctrl-C to stop)\n",
			lab->name, what, pid, lab->opt.command[0]);
	else if (pid)
		fprintf(stderr, "%s: tracing %s of pid %d (Ctrl-C to stop)\n", lab->name, what, pid);
	else
		fprintf(stderr, "%s: tracing %s of every process (Ctrl-C to stop)\n", lab->name, what);

	lab->start_ns = lab_now_ns();
	return lab->opt.command ? release_command(lab) : 0;
}

static bool past_duration(const struct lab *lab)
{
	return lab->opt.duration &&
	       lab_now_ns() - lab->start_ns >= lab->opt.duration * 1000000000LL;
}

static void reap_child(struct lab *lab, int flags)
{
	int status;

	if (lab->child <= 0 || lab->child_done)
		return;
	if (waitpid(lab->child, &status, flags) == lab->child) {
		lab->child_done = true;
		lab->child_status = status;
		forward_pid = 0;
	}
}

/* The -p process has exited and been reaped. Stopping then also keeps a
 * reused pid from ever matching lab_target. */
static bool target_gone(const struct lab *lab)
{
	return lab->opt.pid && kill(lab->opt.pid, 0) && errno == ESRCH;
}

/* The command has exited. WNOWAIT leaves it a zombie: lab_end_command()
 * reaps it and reports its status. */
static bool command_exited(const struct lab *lab)
{
	siginfo_t info = { 0 };

	if (lab->child <= 0 || lab->child_done)
		return lab->child_done;
	return waitid(P_PID, lab->child, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       info.si_pid == lab->child;
}

bool lab_should_stop(const struct lab *lab)
{
	return stop_signal || past_duration(lab) || target_gone(lab) || command_exited(lab);
}

/*
 * Detaching a program does not wait for its runs already in progress on other
 * CPUs. Tracepoint programs run inside an RCU read-side section (preemption
 * off), and membarrier(MEMBARRIER_CMD_GLOBAL) waits for an RCU grace period
 * (synchronize_rcu()): once it returns, every run that started before the
 * detach has finished, so a drain after it sees every record and the
 * counters are final.
 */
void lab_wait_for_running_programs(void)
{
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		lab_error_errno(errno, "note: cannot wait for programs still running "
				"(membarrier), the counts may miss their last records");
}

void lab_stall(struct lab *lab)
{
	long long until = lab->start_ns + lab->opt.stall_ms * 1000000LL;

	if (!lab->opt.stall_ms)
		return;
	for (;;) {
		long long left = until - lab_now_ns();
		struct timespec nap = { 0, 10 * 1000000L };

		if (stop_signal || past_duration(lab))
			return;
		if (left <= 0 && (!lab->child || command_exited(lab)))
			return;
		if (left > 0 && left < 10 * 1000000LL)
			nap.tv_nsec = left;
		nanosleep(&nap, NULL); /* SIGCHLD cuts it short */
	}
}

void lab_end_command(struct lab *lab)
{
	if (lab->release_fd >= 0) {
		close(lab->release_fd); /* a still-held child reads EOF and leaves */
		lab->release_fd = -1;
	}
	if (lab->exec_err_fd >= 0) {
		close(lab->exec_err_fd);
		lab->exec_err_fd = -1;
	}
	/* the command does not outlive its tracer (after --duration, say) */
	reap_child(lab, WNOHANG);
	if (lab->child > 0 && !lab->child_done) {
		kill(lab->child, SIGTERM);
		reap_child(lab, WNOHANG);
	}
	if (lab->child_done && WIFEXITED(lab->child_status) && WEXITSTATUS(lab->child_status))
		lab_error("note: the command exited with status %d", WEXITSTATUS(lab->child_status));
}
