// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 10's support code (README: "Support code: you can skip it"): the
 * options, reading and grouping the raw rows, the table and the plot data,
 * and the record-size sweep's tracer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"
#include "picture.h"
#include "picture.skel.h"

static struct options opts = {
	.out_dir = "build/bench",
	.baseline = "empty",
};

/* ---- the summarizer's options ----------------------------------------- */

enum { OPT_BASELINE = 0x200 };

static const struct argp_option options[] = {
	{ "out", 'o', "DIR", 0, "write summary.md and the .dat files here (default build/bench)", 0 },
	{ "baseline", OPT_BASELINE, "MECHANISM",
	  0, "the mechanism whose rate is 100 % (default empty)", 0 },
	{ 0 },
};

static error_t parse_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'o':
		opts.out_dir = arg;
		break;
	case OPT_BASELINE:
		opts.baseline = arg;
		break;
	case ARGP_KEY_ARG:
		lab_usage_error(state, "no arguments: the raw rows come on stdin");
	case ARGP_KEY_END:
		if (!*opts.out_dir || !*opts.baseline)
			lab_usage_error(state, "-o and --baseline take a non-empty value");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_child help_child[] = { { &lab_help_argp, 0, NULL, 0 }, { 0 } };

const struct options *parse_options(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_option,
		.args_doc = "< RAW",
		.doc = "Lab 10: summarize the benchmark's raw rows (bench.sh, build/bench/raw.txt): "
		       "the table on stdout and in DIR/summary.md, the plot data in DIR/*.dat. "
		       "Exit status 1 if a row breaks received + lost + dropped == produced."
		       "\vlab-10 record-size --help: the record-size sweep's tracer.",
		.children = help_child,
	};

	lab_set_name("lab-10");
	lab_argp_parse("lab-10", &argp, argc, argv, NULL);
	return &opts;
}

/* ---- reading the raw rows ---------------------------------------------- */

static const char *const key_names[K_COUNT] = {
	[K_PRODUCED] = "produced", [K_RECEIVED] = "received", [K_LOST] = "lost",
	[K_DROPPED] = "dropped",   [K_SECONDS] = "seconds",   [K_RATE] = "rate",
	[K_MEM] = "mem_bytes",     [K_WAKEUPS] = "wakeups",   [K_READER_CPU] = "reader_cpu_us",
	[K_P50] = "lat_p50_us",    [K_P99] = "lat_p99_us",    [K_MAX] = "lat_max_us",
};

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"

/* A number, or NAN for "-"; false if it is neither. */
static bool parse_value(const char *s, double *out)
{
	char *end;

	if (!strcmp(s, "-")) {
		*out = NAN;
		return true;
	}
	errno = 0;
	*out = strtod(s, &end);
	return *s && !*end && !errno && !isnan(*out) && !isinf(*out);
}

static int bad_line(unsigned int line, const char *what, const char *token)
{
	lab_error("line %u: %s%s%s%s", line, what, token ? " '" : "", token ? token : "",
		  token ? "'" : "");
	return -1;
}

static int parse_row(char *text, unsigned int line, struct row *r)
{
	char *save, *tok, *eq;
	bool have_run = false;
	int k;

	memset(r, 0, sizeof(*r));
	for (k = 0; k < K_COUNT; k++)
		r->v[k] = NAN;
	r->param = NAN;
	r->line = line;
	snprintf(r->sweep, sizeof(r->sweep), "main");
	for (tok = strtok_r(text, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		eq = strchr(tok, '=');
		if (!eq)
			return bad_line(line, "not key=value:", tok);
		*eq++ = '\0';
		if (!strcmp(tok, "mechanism") || !strcmp(tok, "sweep")) {
			char *dst = *tok == 'm' ? r->mechanism : r->sweep;
			size_t size = *tok == 'm' ? sizeof(r->mechanism) : sizeof(r->sweep);

			/* a name lands in a file name (SWEEP.dat) and a table */
			if (!*eq || strlen(eq) >= size || strspn(eq, NAME_CHARS) != strlen(eq))
				return bad_line(line, "a name of letters, digits, '-' and '_' "
						"(at most 47) in", tok);
			memcpy(dst, eq, strlen(eq) + 1);
			continue;
		}
		if (!strcmp(tok, "run")) {
			char *end;
			long run = strtol(eq, &end, 10);

			if (!*eq || *end || run < 1 || run > 1000000)
				return bad_line(line, "run= is a number from 1:", eq);
			r->run = (int)run;
			have_run = true;
			continue;
		}
		if (!strcmp(tok, "param")) {
			if (!parse_value(eq, &r->param))
				return bad_line(line, "not a number or '-':", eq);
			continue;
		}
		for (k = 0; k < K_COUNT; k++)
			if (!strcmp(tok, key_names[k]))
				break;
		if (k == K_COUNT)
			continue; /* a figure the summary does not use */
		if (!parse_value(eq, &r->v[k]))
			return bad_line(line, "not a number or '-':", eq);
	}
	if (!*r->mechanism || !have_run || isnan(r->v[K_PRODUCED]))
		return bad_line(line, "mechanism=, run= and produced= (a number) are required", NULL);
	return 0;
}

int read_rows(FILE *in, struct rows *rows)
{
	char *text = NULL;
	size_t cap = 0, size = 0;
	unsigned int line = 0;

	rows->row = NULL;
	rows->n = 0;
	while (getline(&text, &cap, in) > 0) {
		line++;
		if (text[strspn(text, " \t\n")] == '\0' || text[strspn(text, " \t")] == '#')
			continue;
		if (rows->n == size) {
			struct row *more;

			size = size ? 2 * size : 64;
			more = realloc(rows->row, size * sizeof(*more));
			if (!more) {
				free(text);
				lab_error("out of memory");
				return -1;
			}
			rows->row = more;
		}
		if (parse_row(text, line, &rows->row[rows->n])) {
			free(text);
			return -1;
		}
		rows->n++;
	}
	free(text);
	if (!rows->n) {
		lab_error("no rows on stdin (bench.sh writes them to build/bench/raw.txt)");
		return -1;
	}
	return 0;
}

static bool same_param(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static bool same_group(const struct row *a, const struct row *b)
{
	return !strcmp(a->sweep, b->sweep) && !strcmp(a->mechanism, b->mechanism) &&
	       same_param(a->param, b->param);
}

const struct row *find_row(const struct rows *rows, const char *sweep, const char *mechanism,
			   double param, int run)
{
	size_t i;

	for (i = 0; i < rows->n; i++) {
		const struct row *r = &rows->row[i];

		if (r->run == run && !strcmp(r->sweep, sweep) && !strcmp(r->mechanism, mechanism) &&
		    same_param(r->param, param))
			return r;
	}
	return NULL;
}

size_t group_rows(const struct rows *rows, struct group **groups)
{
	const struct row **keys = calloc(rows->n, sizeof(*keys));
	const struct row **slots = calloc(rows->n, sizeof(*slots));
	struct group *g = calloc(rows->n, sizeof(*g));
	size_t i, j, k, used = 0, n = 0;

	*groups = NULL;
	if (!keys || !slots || !g) {
		free(keys);
		free(slots);
		free(g);
		lab_error("out of memory");
		return 0;
	}
	/* the groups in order of first appearance, each with its rows in input
	 * order, side by side in one array of pointers (slots) */
	for (i = 0; i < rows->n; i++) {
		for (j = 0; j < n && !same_group(keys[j], &rows->row[i]); j++)
			;
		if (j < n)
			continue;
		keys[n] = &rows->row[i];
		g[n].row = &slots[used];
		for (k = i; k < rows->n; k++)
			if (same_group(keys[n], &rows->row[k]))
				g[n].row[g[n].n++] = &rows->row[k];
		used += g[n].n;
		n++;
	}
	free(keys);
	*groups = g;
	return n;
}

void report_broken(const struct row *r)
{
	lab_error("%s (sweep %s) run %d, line %u: received + lost + dropped != produced: "
		  "%.0f + %.0f + %.0f = %.0f, produced %.0f", r->mechanism, r->sweep, r->run,
		  r->line, r->v[K_RECEIVED], or_zero(r->v[K_LOST]), or_zero(r->v[K_DROPPED]),
		  r->v[K_RECEIVED] + or_zero(r->v[K_LOST]) + or_zero(r->v[K_DROPPED]),
		  r->v[K_PRODUCED]);
}

/* ---- the table and the plot data --------------------------------------- */

/* "median [min-max]", or "-" for no value */
static const char *show(char *buf, size_t size, const struct spread *s, int decimals)
{
	if (!s->n)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f [%.*f-%.*f]", decimals, s->median, decimals, s->min,
			 decimals, s->max);
	return buf;
}

static const char *show_latency(char *buf, size_t size, const struct line *l)
{
	if (!l->p50.n)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.0f / %.0f / %.0f", l->p50.median, l->p99.median,
			 l->max.median);
	return buf;
}

static const char *show_identity(char *buf, size_t size, const struct line *l)
{
	if (l->broken)
		snprintf(buf, size, "BROKEN in %zu of %zu runs", l->broken, l->runs);
	else if (!l->loss.n)
		snprintf(buf, size, "n/a (nothing delivered)");
	else
		snprintf(buf, size, "ok");
	return buf;
}

static const char *param_name(const char *sweep)
{
	if (!strcmp(sweep, "burst"))
		return "buffer bytes";
	if (!strcmp(sweep, "latency"))
		return "records per wakeup";
	if (!strcmp(sweep, "size"))
		return "record bytes";
	return "param";
}

/* A sweep without a param (main, exec) gets the wide table: every figure. */
static void print_wide(FILE *out, const char *sweep, const struct line *lines, size_t n)
{
	char b[9][96];
	size_t i;

	fprintf(out, "## %s: every mechanism, one workload (medians [range] over the runs)\n\n"
		     "| mechanism | runs | events/s | %% of %s | producer ns/event | "
		     "reader CPU ns/event | wakeups | memory bytes | lost+dropped | "
		     "latency us p50 / p99 / max | identity |\n"
		     "|---|---|---|---|---|---|---|---|---|---|---|\n", sweep, opts.baseline);
	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];

		if (strcmp(l->first->sweep, sweep))
			continue;
		fprintf(out, "| %s | %zu | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			l->first->mechanism, l->runs, show(b[0], 96, &l->rate, 0),
			show(b[1], 96, &l->pct, 1), show(b[2], 96, &l->prod_ns, 0),
			show(b[3], 96, &l->read_ns, 0), show(b[4], 96, &l->wakeups, 0),
			show(b[5], 96, &l->mem, 0), show(b[6], 96, &l->loss, 0),
			show_latency(b[7], 96, l), show_identity(b[8], 96, l));
	}
}

/* A sweep: one line per mechanism and param. */
static void print_sweep(FILE *out, const char *sweep, const struct line *lines, size_t n)
{
	char b[4][96];
	size_t i;

	fprintf(out, "## Sweep: %s\n\n| mechanism | %s | runs | events/s | loss fraction | "
		     "latency us p50 / p99 / max | identity |\n|---|---|---|---|---|---|---|\n",
		sweep, param_name(sweep));
	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];

		if (strcmp(l->first->sweep, sweep))
			continue;
		fprintf(out, "| %s | %.0f | %zu | %s | %s | %s | %s |\n", l->first->mechanism,
			l->first->param, l->runs, show(b[0], 96, &l->rate, 0),
			show(b[1], 96, &l->loss_fraction, 4), show_latency(b[2], 96, l),
			show_identity(b[3], 96, l));
	}
}

/* Is lines[i] the first line of its sweep? */
static bool first_of_sweep(const struct line *lines, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(lines[j].first->sweep, lines[i].first->sweep))
			return false;
	return true;
}

static void print_tables(FILE *out, const struct line *lines, size_t n)
{
	size_t i, tables = 0;

	for (i = 0; i < n; i++) {
		if (!first_of_sweep(lines, i))
			continue;
		if (tables++)
			fputc('\n', out);
		if (isnan(lines[i].first->param))
			print_wide(out, lines[i].first->sweep, lines, n);
		else
			print_sweep(out, lines[i].first->sweep, lines, n);
	}
}

/* a value for gnuplot: "-" is missing (plots.gp: set datafile missing "-") */
static void dat(FILE *f, double x)
{
	if (isnan(x))
		fprintf(f, " -");
	else
		fprintf(f, " %.6g", x);
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		lab_error_errno(-errno, "cannot write %s", path);
	return f;
}

/* main.dat: "index mechanism rate rate_min rate_max pct producer_ns reader_ns
 * loss_fraction p50 p99 max", one line per mechanism of the sweeps without a
 * param (main, exec) */
static int write_main_dat(const struct line *lines, size_t n)
{
	FILE *f = open_in(opts.out_dir, "main.dat");
	size_t i, index = 0;

	if (!f)
		return -1;
	fprintf(f, "# index mechanism rate rate_min rate_max pct_of_%s producer_ns reader_ns "
		   "loss_fraction lat_p50_us lat_p99_us lat_max_us\n", opts.baseline);
	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];

		if (!isnan(l->first->param))
			continue;
		fprintf(f, "%zu \"%s\"", index++, l->first->mechanism);
		dat(f, l->rate.median), dat(f, l->rate.min), dat(f, l->rate.max);
		dat(f, l->pct.median), dat(f, l->prod_ns.median), dat(f, l->read_ns.median);
		dat(f, l->loss_fraction.median);
		dat(f, l->p50.median), dat(f, l->p99.median), dat(f, l->max.median);
		fputc('\n', f);
	}
	return fclose(f) ? -1 : 0;
}

/* SWEEP.dat: one block per mechanism (gnuplot's "index"), its name on the
 * block's first line (gnuplot's "columnheader"), then "param rate rate_min
 * rate_max loss_fraction lf_min lf_max p50 p99 max" by param */
static int write_sweep_dat(const char *sweep, const struct line *lines, size_t n)
{
	char name[64];
	const char *mech = NULL;
	size_t i;
	FILE *f;

	snprintf(name, sizeof(name), "%s.dat", sweep);
	f = open_in(opts.out_dir, name);
	if (!f)
		return -1;
	fprintf(f, "# sweep=%s: param rate rate_min rate_max loss_fraction lf_min lf_max "
		   "lat_p50_us lat_p99_us lat_max_us\n", sweep);
	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];
		size_t j;

		if (strcmp(l->first->sweep, sweep))
			continue;
		mech = l->first->mechanism;
		for (j = 0; j < i; j++)
			if (!strcmp(lines[j].first->sweep, sweep) &&
			    !strcmp(lines[j].first->mechanism, mech))
				break;
		if (j < i)
			continue; /* this mechanism's block is written */
		fprintf(f, "\n\n# mechanism=%s\n\"%s\"\n", mech, mech);
		for (j = i; j < n; j++) {
			const struct line *m = &lines[j];

			if (strcmp(m->first->sweep, sweep) || strcmp(m->first->mechanism, mech))
				continue;
			dat(f, m->first->param);
			dat(f, m->rate.median), dat(f, m->rate.min), dat(f, m->rate.max);
			dat(f, m->loss_fraction.median), dat(f, m->loss_fraction.min);
			dat(f, m->loss_fraction.max);
			dat(f, m->p50.median), dat(f, m->p99.median), dat(f, m->max.median);
			fputc('\n', f);
		}
	}
	return fclose(f) ? -1 : 0;
}

int write_outputs(const struct options *o, const struct line *lines, size_t n)
{
	FILE *md;
	size_t i;
	int err = 0;

	print_tables(stdout, lines, n);
	fflush(stdout);
	if (mkdir(o->out_dir, 0755) && errno != EEXIST) {
		lab_error_errno(-errno, "cannot make %s", o->out_dir);
		return -1;
	}
	md = open_in(o->out_dir, "summary.md");
	if (!md)
		return -1;
	print_tables(md, lines, n);
	if (fclose(md))
		err = -1;
	if (write_main_dat(lines, n))
		err = -1;
	for (i = 0; i < n; i++)
		if (first_of_sweep(lines, i) && !isnan(lines[i].first->param) &&
		    write_sweep_dat(lines[i].first->sweep, lines, n))
			err = -1;
	return err;
}

/* ---- lab-10 record-size: the record-size sweep's tracer ----------------- */

/* Its own options, beside the summarizer's (a subcommand, like lab 06's). */
static struct {
	unsigned int record_size;
	unsigned long ring_size;
	unsigned long long wakeup_bytes;
} size_opts = {
	.record_size = 64,
	.ring_size = 1 << 20,
};

enum { OPT_RECORD_SIZE = 0x300, OPT_RING_SIZE, OPT_WAKEUP_BYTES };

static const struct argp_option size_options[] = {
	{ "record-size", OPT_RECORD_SIZE, "B", 0,
	  "bytes per record, 16 to 4096 (default 64); the ring adds an 8-byte header", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0,
	  "the ring's size, a power of two of at least a page (default 1048576)", 0 },
	{ "wakeup-bytes", OPT_WAKEUP_BYTES, "B", 0,
	  "wake the reader once B bytes wait (default 0: the kernel's adaptive wakeups)", 0 },
	{ 0 },
};

static error_t parse_size_option(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_RECORD_SIZE:
		size_opts.record_size = (unsigned int)lab_parse_uint(state, "--record-size", arg,
								     MIN_RECORD, MAX_RECORD);
		break;
	case OPT_RING_SIZE:
		size_opts.ring_size = lab_parse_ring_size(state, arg);
		break;
	case OPT_WAKEUP_BYTES:
		size_opts.wakeup_bytes = lab_parse_uint(state, "--wakeup-bytes", arg, 0, 1ULL << 32);
		break;
	case ARGP_KEY_END:
		/* the producer stays less than a ring ahead of the reader */
		if (size_opts.wakeup_bytes > size_opts.ring_size / 2)
			lab_usage_error(state, "--wakeup-bytes is at most half the ring (%lu)",
					size_opts.ring_size / 2);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static unsigned long long size_received, size_wrong;

static int handle_size_record(void *ctx, void *data, size_t size)
{
	const struct record *r = data; /* a ring's records are 8-byte aligned */

	size_received++;
	size_wrong += size != size_opts.record_size;
	if (size >= sizeof(r->ts))
		lab_latency_note(r->ts);
	return 0;
}

int record_size_main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = size_options,
		.parser = parse_size_option,
		.doc = "Lab 10: the record-size sweep's tracer: a record of --record-size bytes per "
		       "getpgid() of the traced processes, through one ring buffer "
		       "(bpf_ringbuf_output from a per-CPU scratch record), the reader woken "
		       "adaptively or once --wakeup-bytes wait.",
	};
	static struct lab lab;
	struct picture_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	int err = -1;

	lab_parse_args(&lab, "lab-10", &argp, argc, argv);
	if (lab_preflight(&lab, LAB_NEED_TP_BTF | LAB_NEED_RINGBUF))
		return 1;
	lab_install_signal_handlers();
	if (lab_fork_held_command(&lab))
		goto out;
	skel = picture_bpf__open();
	if (!skel) {
		lab_bpf_error(errno, "cannot open the BPF object");
		goto out;
	}
	lab_bpf_prepare(&lab, skel->obj, &skel->rodata->lab_target);
	skel->rodata->record_size = size_opts.record_size;
	skel->rodata->wakeup_bytes = size_opts.wakeup_bytes;
	if (bpf_map__set_max_entries(skel->maps.events, size_opts.ring_size)) {
		lab_error("cannot set the ring size to %lu", size_opts.ring_size);
		goto out;
	}
	err = picture_bpf__load(skel);
	if (err) {
		lab_bpf_error(err, "cannot load the BPF programs");
		goto out;
	}
	/* the buffer before the program: no record comes before its ring */
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_size_record, NULL, NULL);
	if (!rb) {
		err = -errno;
		lab_error_errno(err, "cannot open the ring buffer");
		goto out;
	}
	err = picture_bpf__attach(skel);
	if (err) {
		lab_bpf_error(err, "cannot attach the BPF program");
		goto out;
	}
	if ((err = lab_seed_ready_release(&lab, skel->obj, "getpgid")))
		goto out;
	lab_stall(&lab);
	while (!lab_should_stop(&lab)) {
		err = ring_buffer__poll(rb, LAB_POLL_MS);
		if (err < 0 && err != -EINTR) {
			lab_error_errno(err, "cannot read the ring buffer");
			break;
		}
		err = 0;
	}
	picture_bpf__detach(skel);
	lab_wait_for_running_programs();
	if (ring_buffer__consume(rb) < 0 && !err)
		err = -1;
	lab_summary("received=%llu dropped=%llu record_size=%u wrong_size=%llu%s", size_received,
		    (unsigned long long)skel->bss->dropped, size_opts.record_size, size_wrong,
		    lab_latency_keys());
out:
	ring_buffer__free(rb);
	picture_bpf__destroy(skel);
	lab_end_command(&lab);
	return err ? 1 : 0;
}
