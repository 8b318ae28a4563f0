// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The command line every lab program shares (CONTRIBUTING.md, "The
 * command-line contract"). */
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
	{ 0 },
};

/* argp_state_help() prints nothing under ARGP_NO_ERRS: print the root's help */
static void show_help(const struct argp_state *state, FILE *out, unsigned int flags)
{
	argp_help(state->root_argp, out, flags, (char *)lab_progname);
}

/* -h, --help and --usage, for every lab program and lab 06's subcommands. */
static const struct argp_option help_options[] = {
	{ "help", 'h', NULL, 0, "show this help", -1 },
	{ "usage", OPT_USAGE, NULL, OPTION_HIDDEN, "show a short usage line", -1 },
	{ 0 },
};

static error_t parse_help(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'h':
		show_help(state, stdout, ARGP_HELP_STD_HELP);
		exit(0);
	case OPT_USAGE:
		show_help(state, stdout, ARGP_HELP_USAGE);
		exit(0);
	case ARGP_KEY_ERROR:
		/* an unknown option (argp's own message is off, ARGP_NO_ERRS) */
		if (state->next > 0 && state->next <= state->argc)
			lab_usage_error(state, "unknown option '%s'", state->argv[state->next - 1]);
		lab_usage_error(state, "bad usage");
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

const struct argp lab_help_argp = { .options = help_options, .parser = parse_help };

void lab_argp_parse(const char *name, const struct argp *argp, int argc, char **argv,
		    void *input)
{
	lab_set_name(name);
	argv[0] = (char *)name; /* argp names the program by argv[0] in its usage */
	argp_err_exit_status = 2;
	/* ARGP_NO_HELP: lab_help_argp's -h/--usage replace argp's -?, --help,
	 * --usage. ARGP_NO_ERRS: an unknown option reaches parse_help, which
	 * prints the usage text (argp alone would only say "Try --help"). */
	argp_parse(argp, argc, argv, ARGP_NO_HELP | ARGP_NO_ERRS, NULL, input);
}

void lab_usage_error(const struct argp_state *state, const char *fmt, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", lab_progname, message);
	show_help(state, stderr, ARGP_HELP_USAGE | ARGP_HELP_SEE);
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
	/* The kernel wants a power of two because the producer and consumer
	 * positions run free and are masked with size - 1 to index the data
	 * area; the data area is mapped twice, back to back (so a record that
	 * wraps is still contiguous), which needs only whole pages. libbpf 1.1
	 * rounds a size up to a power-of-two number of pages before the kernel
	 * sees it, so this check is ours: it keeps --ring-size from being
	 * rounded up silently, and the ring from being larger than asked. */
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
		/* the lab's own parser (our first child) may want the lab too */
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
	case ARGP_KEY_ARGS:
		lab->opt.command = state->argv + state->next;
		return 0;
	case ARGP_KEY_END:
		if (!lab->opt.command && state->argc > 1 && !strcmp(state->argv[state->argc - 1], "--"))
			lab_usage_error(state, "-- must be followed by a COMMAND to run");
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
		{ &lab_help_argp, 0, NULL, 0 },
		{ 0 },
	};
	struct argp argp = {
		.options = common_options,
		.parser = parse_common,
		.args_doc = "[-- COMMAND [ARGS...]]",
		.doc = lab_argp ? lab_argp->doc : NULL,
		.children = lab_argp ? children : children + 1,
	};

	memset(lab, 0, sizeof(*lab));
	lab->name = name;
	lab->release_fd = lab->exec_err_fd = -1;
	lab_argp_parse(name, &argp, argc, argv, lab);
	lab_route_libbpf_log(lab->opt.verbose);
}
