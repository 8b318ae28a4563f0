// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 02's support code: options and printing. Not the lesson: you can skip it. */
#include <string.h>

#include "support.h"

static struct options opts = {
	.ring_size = 256 * 1024, /* bytes */
	.path_prefix = "",
};

enum { OPT_RING_SIZE = 0x200, OPT_PATH_PREFIX };

static const struct argp_option option_list[] = {
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "ring buffer size: a power of two, at least one page (default 262144)", 0 },
	{ "path-prefix", OPT_PATH_PREFIX, "PREFIX", 0,
	  "keep only execs whose filename starts with PREFIX", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_RING_SIZE:
		opts.ring_size = lab_parse_ring_size(state, arg);
		return 0;
	case OPT_PATH_PREFIX:
		if (strlen(arg) >= PREFIX_MAX)
			lab_usage_error(state, "--path-prefix is limited to %d bytes", PREFIX_MAX - 1);
		opts.path_prefix = arg;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = option_list,
	.parser = parse_option,
	.doc = "Lab 02: trace execve() through the BPF ring buffer.",
};

const struct options *parse_options(struct lab *lab, int argc, char **argv)
{
	lab_parse_args(lab, "lab-02", &argp, argc, argv);
	return &opts;
}

void set_path_prefix(struct execsnoop_bpf *skel, const char *prefix)
{
	/* frozen at load: the verifier sees prefix_len as a constant (and drops
	 * the discard path altogether when it is 0) */
	memcpy((char *)skel->rodata->path_prefix, prefix, strlen(prefix));
	skel->rodata->prefix_len = strlen(prefix);
}

void print_event(const struct event *e)
{
	printf("execve pid=%d tid=%d comm=", e->pid, e->tid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	fputs(" file=", stdout);
	lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	putchar('\n');
	/* out as soon as it is read, even into a file or a pipe: a reader may be
	 * waiting for this line (checks/lab-02.bats holds a command until then) */
	fflush(stdout);
}
