// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Messages, escaping, the summary line, and where libbpf's log goes. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "lab.h"

const char *lab_progname = "lab";

static void vreport(int err, const char *fmt, va_list ap)
{
	fflush(stdout); /* keep event lines before the message */
	fprintf(stderr, "%s: ", lab_progname);
	vfprintf(stderr, fmt, ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
}

void lab_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(0, fmt, ap);
	va_end(ap);
}

void lab_error_errno(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(err ? err : EIO, fmt, ap);
	va_end(ap);
}

void lab_set_name(const char *name)
{
	lab_progname = name;
}

void lab_todo(const char *task, const char *what)
{
	lab_error("TODO(%s) is not done yet: %s (see the lab's README, task %s)", task, what,
		  strchr(task, '.') ? strchr(task, '.') + 1 : task);
}

void lab_put_quoted(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			/* octal, not \x: a \x escape would swallow following hex digits */
			if (c < 0x20 || c > 0x7e)
				fprintf(out, "\\%03o", c);
			else
				fputc(c, out);
		}
	}
	fputc('"', out);
}

void lab_summary(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("summary: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * libbpf's log. With -v everything goes to stderr. Otherwise debug lines are
 * dropped and warnings (which include the verifier's log when a load fails)
 * are kept, and shown only if a libbpf call then fails: quiet when all is
 * well, the whole reason when it is not.
 */
static bool log_verbose;
static char log_kept[64 * 1024];
static size_t log_len;

static int route_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (log_verbose)
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG || log_len >= sizeof(log_kept) - 1)
		return 0;
	n = vsnprintf(log_kept + log_len, sizeof(log_kept) - log_len, fmt, ap);
	if (n > 0)
		log_len += (size_t)n < sizeof(log_kept) - log_len ? (size_t)n
								  : sizeof(log_kept) - 1 - log_len;
	return n;
}

void lab_route_libbpf_log(bool verbose)
{
	log_verbose = verbose;
	libbpf_set_print(route_libbpf_log);
}

void lab_bpf_error(int err, const char *what)
{
	fflush(stdout);
	fputs(log_kept, stderr); /* what libbpf said: the verifier's log, for instance */
	log_len = 0;
	log_kept[0] = '\0';
	lab_error_errno(err, "%s", what);
}
