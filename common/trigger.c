// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * trigger: a load generator that says exactly what it produced.
 *
 *   trigger [-P PROCS] exec N PATH [ARGS...]  exec PATH N times, PROCS at once
 *   trigger [-t THREADS] getpgid N            N getpgid() syscalls over THREADS threads
 *   trigger [-P PROCS] lifecycle N [PATH]     N fork -> exec PATH -> exit lifecycles,
 *                                             each child on another CPU than its parent
 *   -c CPU   run everything on CPU           -q  no report    -h  usage
 *
 * The report goes to stderr, one line, so it never mixes with a tracer's
 * event lines on stdout:
 *   trigger: mode=exec produced=100 failed=0 elapsed_ns=81234567
 * Exit status 0 only if every operation succeeded.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_WORKERS 256

struct job {
	const char *mode;
	unsigned long long total;
	char **argv;            /* exec and lifecycle: what the children run */
	int ncpus;
	atomic_ullong produced;
	atomic_ullong failed;
};

struct worker {
	struct job *job;
	int index;
	unsigned long long count;
	pthread_t thread;
};

/* -h: the usage on stdout, exit 0; a bad usage: on stderr, exit 2 */
static void usage_to(FILE *out, int status)
{
	fputs("usage: trigger [-P PROCS] exec N PATH [ARGS...]  exec PATH N times, PROCS at once\n"
	      "       trigger [-t THREADS] getpgid N            N getpgid() syscalls over THREADS threads\n"
	      "       trigger [-P PROCS] lifecycle N [PATH]     N fork -> exec PATH (/bin/true) -> exit\n"
	      "options: -c CPU  run on CPU only;  -q  no report;  -h  this help\n"
	      "report (stderr): trigger: mode=M produced=N failed=N elapsed_ns=N\n"
	      "exit status: 0 if every operation succeeded, 1 if one failed, 2 on bad usage\n", out);
	exit(status);
}

static void usage(void)
{
	usage_to(stderr, 2);
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: a CPU may be offline */
}

/* One exec: posix_spawn reports a failed exec as its return value. */
static bool spawn_and_wait(char **argv)
{
	pid_t pid;
	int status;

	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ))
		return false;
	return waitpid(pid, &status, 0) == pid;
}

static void run_execs(struct worker *w)
{
	for (unsigned long long i = 0; i < w->count; i++) {
		if (spawn_and_wait(w->job->argv))
			atomic_fetch_add(&w->job->produced, 1);
		else
			atomic_fetch_add(&w->job->failed, 1);
	}
}

/* The child is put on the next CPU, so its exec and exit happen on another
 * CPU than the fork: the per-CPU streams of lab 03 must then be merged. */
static void run_lifecycles(struct worker *w)
{
	int child_cpu = (w->index + 1) % w->job->ncpus;
	cpu_set_t set;

	for (unsigned long long i = 0; i < w->count; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			CPU_ZERO(&set);
			CPU_SET(child_cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
			execv(w->job->argv[0], w->job->argv);
			_exit(127);
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			atomic_fetch_add(&w->job->produced, 1);
		else
			atomic_fetch_add(&w->job->failed, 1);
	}
}

static void run_getpgid(struct worker *w)
{
	for (unsigned long long i = 0; i < w->count; i++)
		syscall(SYS_getpgid, 0); /* the raw syscall: libc could cache it */
	atomic_fetch_add(&w->job->produced, w->count);
}

static void *work(void *arg)
{
	struct worker *w = arg;

	if (w->job->ncpus > 1)
		pin_to_cpu(w->index % w->job->ncpus);
	if (!strcmp(w->job->mode, "exec"))
		run_execs(w);
	else if (!strcmp(w->job->mode, "lifecycle"))
		run_lifecycles(w);
	else
		run_getpgid(w);
	return NULL;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static unsigned long long parse_count(const char *s)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		usage();
	return n;
}

int main(int argc, char **argv)
{
	static char *default_child[] = { "/bin/true", NULL };
	static struct worker workers[MAX_WORKERS];
	struct job job = { 0 };
	int opt, nworkers = 1, pinned_cpu = -1;
	bool quiet = false;
	long long start;

	if (argc > 1 && !strcmp(argv[1], "--help"))
		usage_to(stdout, 0);
	while ((opt = getopt(argc, argv, "+P:t:c:qh")) != -1) {
		switch (opt) {
		case 'h':
			usage_to(stdout, 0);
			break;
		case 'P':
		case 't':
			nworkers = atoi(optarg);
			if (nworkers < 1 || nworkers > MAX_WORKERS)
				usage();
			break;
		case 'c':
			pinned_cpu = atoi(optarg);
			break;
		case 'q':
			quiet = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind < 2)
		usage();
	job.mode = argv[optind];
	job.total = parse_count(argv[optind + 1]);
	job.argv = argv + optind + 2;
	if (!strcmp(job.mode, "exec")) {
		if (!job.argv[0])
			usage();
	} else if (!strcmp(job.mode, "lifecycle")) {
		if (!job.argv[0])
			job.argv = default_child;
	} else if (strcmp(job.mode, "getpgid") || job.argv[0]) {
		usage();
	}

	job.ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (pinned_cpu >= 0) {
		pin_to_cpu(pinned_cpu);
		job.ncpus = 1; /* workers stay where we are */
	}
	atomic_init(&job.produced, 0);
	atomic_init(&job.failed, 0);

	start = now_ns();
	for (int i = 0; i < nworkers; i++) {
		workers[i] = (struct worker){ .job = &job, .index = i,
			.count = job.total / nworkers + ((unsigned long long)i < job.total % nworkers) };
		if (pthread_create(&workers[i].thread, NULL, work, &workers[i])) {
			perror("trigger: pthread_create");
			return 1;
		}
	}
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);

	if (!quiet)
		fprintf(stderr, "trigger: mode=%s produced=%llu failed=%llu elapsed_ns=%lld\n",
			job.mode, (unsigned long long)atomic_load(&job.produced),
			(unsigned long long)atomic_load(&job.failed), now_ns() - start);
	return atomic_load(&job.failed) ? 1 : 0;
}
