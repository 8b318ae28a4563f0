// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 01's support code: options and printing. Not the lesson: you can skip it. */
#include <errno.h>
#include <stdio.h>
#include <bpf/bpf.h>

#include "support.h"

static struct options opts = {
	.pages = 64,
};

enum { OPT_EMPTY_SLOT = 0x200 };

static const struct argp_option option_list[] = {
	{ "pages", 'P', "N", 0, "pages per CPU in the perf buffer, a power of two (default 64)", 0 },
	{ "empty-slot", OPT_EMPTY_SLOT, "CPU", 0,
	  "remove CPU's ring from the map events once the buffer is open: that CPU's "
	  "records fail with -ENOENT and are counted as dropped", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	int ncpus = libbpf_num_possible_cpus();

	switch (key) {
	case 'P':
		opts.pages = lab_parse_pages(state, arg);
		return 0;
	case OPT_EMPTY_SLOT:
		opts.empty_slot = lab_parse_uint(state, "--empty-slot", arg, 0,
						 ncpus > 0 ? ncpus - 1 : 0);
		opts.empty_slot_given = true;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static const struct argp argp = {
	.options = option_list,
	.parser = parse_option,
	.doc = "Lab 01: trace execve() through a perf buffer.",
};

const struct options *parse_options(struct lab *lab, int argc, char **argv)
{
	lab_parse_args(lab, "lab-01", &argp, argc, argv);
	return &opts;
}

int apply_empty_slot(const struct bpf_map *events)
{
	__u32 cpu = opts.empty_slot;

	if (!opts.empty_slot_given)
		return 0;
	/* ENOENT: an offline CPU, whose slot libbpf never filled */
	if (bpf_map_delete_elem(bpf_map__fd(events), &cpu) && errno != ENOENT) {
		lab_error_errno(errno, "--empty-slot: cannot remove CPU %u's ring from events", cpu);
		return -1;
	}
	return 0;
}

void print_event(const struct event *e)
{
	printf("execve pid=%d tid=%d comm=", e->pid, e->tid);
	lab_put_quoted(stdout, e->comm, sizeof(e->comm));
	fputs(" file=", stdout);
	lab_put_quoted(stdout, e->filename, sizeof(e->filename));
	putchar('\n');
}
