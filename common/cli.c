// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The command line every lab program shares (DESIGN.md, "Conventions"). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab.h"

extern const char *lab_progname; /* output.c */

enum { OPT_STALL_MS = 0x100, OPT_USAGE };

static const struct argp_option common_options[] = {
	{ NULL, 0, NULL, 0, "Common options:", 1 },
	{ "pid", 'p', "PID", 0, "trace only this process, until it exits", 1 },
	{ "duration", 'd', "SEC", 0, "stop after SEC seconds", 1 },
	{ "quiet", 'q', NULL, 0, "no per-event lines (summary only)", 1 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output", 1 },
	{ "stall-ms", OPT_STALL_MS, "MS", 0,
	  "the consumer reads nothing for MS ms after the ready line (with -- COMMAND: "
	  "nor before the command exits), to make loss deterministic", 1 },
	{ "help", 'h', NULL, 0, "show this help", 1 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "show a short usage line", 1 },
	{ 0 },
};

void lab_usage_error(const struct argp_state *state, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", lab_progname, message);
	/* ARGP_HELP_EXIT_ERR exits with argp_err_exit_status, which is 2 */
	argp_state_help(state, stderr, ARGP_HELP_USAGE | ARGP_HELP_SEE | ARGP_HELP_EXIT_ERR);
	exit(2);
}

unsigned long long lab_parse_uint(const struct argp_state *state, const char *option,
				  const char *arg, unsigned long long min,
				  unsigned long long max)
{
	unsigned long long value;
	char *end;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-')
		lab_usage_error(state, "%s takes a whole number, got '%s'", option, arg);
	if (value < min || value > max)
		lab_usage_error(state, "%s must be between %llu and %llu, got %llu", option,
				min, max, value);
	return value;
}

unsigned long lab_parse_ring_size(const struct argp_state *state, const char *arg)
{
	/* the kernel maps a ring buffer's data area twice, back to back, so that
	 * a record that wraps around is still contiguous: the size must be a
	 * power of two and a multiple of the page size */
	unsigned long page = sysconf(_SC_PAGESIZE);
	unsigned long long size = lab_parse_uint(state, "--ring-size", arg, 1, 1ULL << 30);

	if (!lab_is_power_of_two(size) || size < page)
		lab_usage_error(state, "--ring-size must be a power of two of at least one page "
				"(%lu bytes), got %llu", page, size);
	return size;
}

unsigned int lab_parse_pages(const struct argp_state *state, const char *arg)
{
	/* perf maps 2^n data pages per CPU and refuses any other count */
	unsigned int pages = lab_parse_uint(state, "--pages", arg, 1, 1 << 16);

	if (!lab_is_power_of_two(pages))
		lab_usage_error(state, "--pages must be a power of two, got %u", pages);
	return pages;
}

static error_t parse_common(int key, char *arg, struct argp_state *state)
{
	struct lab *lab = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		/* the lab's own parser (our child) keeps its state in statics */
		state->child_inputs[0] = lab;
		return 0;
	case 'p':
		lab->opt.pid = lab_parse_uint(state, "--pid", arg, 1, 4194304);
		return 0;
	case 'd':
		lab->opt.duration = lab_parse_uint(state, "--duration", arg, 1, 86400);
		return 0;
	case 'q':
		lab->opt.quiet = true;
		return 0;
	case 'v':
		lab->opt.verbose = true;
		return 0;
	case OPT_STALL_MS:
		lab->opt.stall_ms = lab_parse_uint(state, "--stall-ms", arg, 0, 3600000);
		return 0;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		return 0; /* not reached */
	case OPT_USAGE:
		argp_state_help(state, stdout, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK);
		return 0; /* not reached */
	case ARGP_KEY_ARGS:
		lab->opt.command = state->argv + state->next;
		return 0;
	case ARGP_KEY_END:
		if (lab->opt.command && lab->opt.pid)
			lab_usage_error(state, "use either --pid or -- COMMAND, not both");
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

void lab_parse_args(struct lab *lab, const char *name, const struct argp *lab_argp,
		    int argc, char **argv)
{
	struct argp_child children[] = {
		{ lab_argp, 0, NULL, 0 },
		{ 0 },
	};
	struct argp argp = {
		.options = common_options,
		.parser = parse_common,
		.args_doc = "[-- COMMAND [ARGS...]]",
		.doc = lab_argp ? lab_argp->doc : NULL,
		.children = lab_argp ? children : NULL,
	};

	memset(lab, 0, sizeof(*lab));
	lab->name = lab_progname = name;
	lab->release_fd = lab->exec_err_fd = -1;

	argv[0] = (char *)name; /* getopt names the program by argv[0] in its errors */
	argp_err_exit_status = 2;
	/* ARGP_NO_HELP: our -h/--help and --usage replace argp's -?, --help, --usage */
	argp_parse(&argp, argc, argv, ARGP_NO_HELP, NULL, lab);
	lab_route_libbpf_log(lab->opt.verbose);
}
