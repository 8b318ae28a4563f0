// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Lab 10, the summarizer: bench.sh measures every mechanism of labs 04-08 on
 * one workload and writes one raw row per run (build/bench/raw.txt); lab-10
 * reads them on stdin and turns them into the table and the plot data.
 * What it must get right is the arithmetic: medians and ranges of repeated
 * runs, ratios taken within one run, costs per event, loss fractions, and
 * a check that every run accounted for every event it produced. Reading,
 * printing and the record-size tracer are in support.c. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const struct options *opts;
static const struct rows *all; /* every row read: the baseline is looked up here */

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n values and their range; v may be reordered. */
static struct spread spread_of(double *v, size_t n)
{
	struct spread s = { NAN, NAN, NAN, n };

	/* TODO(10.1): sort v (qsort, compare_doubles); min, max, and the median:
	 * the middle value, or the mean of the two middle ones when n is even.
	 * README task 1. */
	if (!n)
		return s;
	qsort(v, n, sizeof(*v), compare_doubles);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	/* END TODO(10.1) */
	return s;
}

/* A metric of each run of the group (NAN where a run has none), then its
 * median and range: per run first, summarized last. */
static struct spread over_runs(const struct group *g, double (*metric)(const struct row *))
{
	double *v = calloc(g->n, sizeof(*v));
	struct spread s = { NAN, NAN, NAN, 0 };
	size_t i, n = 0;

	if (!v)
		return s;
	for (i = 0; i < g->n; i++) {
		double x = metric(g->row[i]);

		if (!isnan(x))
			v[n++] = x;
	}
	s = spread_of(v, n);
	free(v);
	return s;
}

/* Did this run account for every event it produced? */
static bool balanced(const struct row *r)
{
	/* TODO(10.2): true when nothing is delivered (received is NAN); else
	 * received + lost + dropped == produced, a NAN lost or dropped being 0 (or_zero).
	 * README task 2. */
	if (isnan(r->v[K_RECEIVED]))
		return true;
	return r->v[K_RECEIVED] + or_zero(r->v[K_LOST]) + or_zero(r->v[K_DROPPED]) ==
	       r->v[K_PRODUCED];
	/* END TODO(10.2) */
}

/* This run's rate as a % of the baseline's (the empty program's) rate in
 * the same run: both measured minutes apart at most, under the same load. */
static double pct_of_baseline(const struct row *r)
{
	/* TODO(10.3): find_row() the baseline (opts->baseline) of r's sweep, param and
	 * run; NAN if there is none, else 100 * r's rate / the baseline's rate.
	 * README task 3. */
	const struct row *base = find_row(all, r->sweep, opts->baseline, r->param, r->run);

	if (!base || !(base->v[K_RATE] > 0))
		return NAN;
	return 100 * r->v[K_RATE] / base->v[K_RATE];
	/* END TODO(10.3) */
}

/* What one event costs the traced program, and the reader. */
static double producer_ns(const struct row *r)
{
	/* TODO(10.4): the workload's time per event produced, in ns.
	 * README task 4. */
	return r->v[K_SECONDS] * 1e9 / r->v[K_PRODUCED];
	/* END TODO(10.4) */
}

static double reader_ns(const struct row *r)
{
	/* TODO(10.5): the reader's CPU time (reader_cpu_us) per record received, in ns;
	 * NAN when nothing was received. README task 5. */
	if (!(r->v[K_RECEIVED] > 0))
		return NAN;
	return r->v[K_READER_CPU] * 1e3 / r->v[K_RECEIVED];
	/* END TODO(10.5) */
}

/* Records that never reached the reader, and their share of the events. */
static double loss_of(const struct row *r)
{
	/* TODO(10.6): lost + dropped (or_zero each); NAN when nothing is delivered.
	 * README task 6. */
	if (isnan(r->v[K_RECEIVED]))
		return NAN;
	return or_zero(r->v[K_LOST]) + or_zero(r->v[K_DROPPED]);
	/* END TODO(10.6) */
}

static double loss_fraction_of(const struct row *r)
{
	/* TODO(10.7): loss_of() as a fraction of the events produced.
	 * README task 7. */
	return loss_of(r) / r->v[K_PRODUCED];
	/* END TODO(10.7) */
}

static void summarize(const struct group *g, struct line *l)
{
	size_t i;

	l->first = g->row[0];
	l->runs = g->n;
	for (i = 0; i < g->n; i++)
		l->broken += !balanced(g->row[i]);
	l->rate = over_runs(g, rate_of);
	l->pct = over_runs(g, pct_of_baseline);
	l->prod_ns = over_runs(g, producer_ns);
	l->read_ns = over_runs(g, reader_ns);
	l->wakeups = over_runs(g, wakeups_of);
	l->mem = over_runs(g, mem_of);
	l->loss = over_runs(g, loss_of);
	l->loss_fraction = over_runs(g, loss_fraction_of);
	l->p50 = over_runs(g, p50_of);
	l->p99 = over_runs(g, p99_of);
	l->max = over_runs(g, max_of);
}

int main(int argc, char **argv)
{
	static struct rows rows;
	struct group *groups = NULL;
	struct line *lines;
	size_t i, n, broken = 0;
	int err;

	if (argc > 1 && !strcmp(argv[1], "record-size"))
		return record_size_main(argc - 1, argv + 1);
	opts = parse_options(argc, argv);
	if (read_rows(stdin, &rows))
		return 1;
	all = &rows;
	/* 1. every run accounts for every event it produced, or is flagged */
	for (i = 0; i < rows.n; i++) {
		if (!balanced(&rows.row[i])) {
			report_broken(&rows.row[i]);
			broken++;
		}
	}
	/* 2. the repeats of each measurement: medians and ranges over runs */
	n = group_rows(&rows, &groups);
	lines = calloc(n ? n : 1, sizeof(*lines));
	if (!lines) {
		lab_error("out of memory");
		return 1;
	}
	for (i = 0; i < n; i++)
		summarize(&groups[i], &lines[i]);
	/* 3. the table (stdout, summary.md) and the plots' data (.dat) */
	err = write_outputs(opts, lines, n);
	free(lines);
	free(groups);
	return err || broken ? 1 : 0;
}
