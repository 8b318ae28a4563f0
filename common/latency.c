// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* How long records waited between the kernel and user space: a log-linear
 * histogram of (now - the record's bpf_ktime_get_ns() stamp). Both sides read
 * CLOCK_MONOTONIC, so the difference needs no conversion. */
#include <stdio.h>

#include "lab.h"

/* Bucket of v ns: below 16 one bucket per value, above 16 per power of two,
 * so a percentile is read to within 1/16 (6 %) of its value. */
#define LAT_BUCKETS (61 * 16)
static unsigned long long lat_hist[LAT_BUCKETS], lat_count, lat_max;

static unsigned int lat_bucket(unsigned long long v)
{
	unsigned int msb;

	if (v < 16)
		return v;
	msb = 63 - __builtin_clzll(v);
	return (msb - 3) * 16 + ((v >> (msb - 4)) & 15);
}

static unsigned long long lat_bucket_low(unsigned int i)
{
	if (i < 16)
		return i;
	return (16ull + i % 16) << (i / 16 + 3 - 4);
}

static unsigned long long lat_percentile(double p)
{
	unsigned long long want = (unsigned long long)(p * lat_count), seen = 0;

	if (want == 0)
		want = 1;
	for (unsigned int i = 0; i < LAT_BUCKETS; i++) {
		seen += lat_hist[i];
		if (seen >= want)
			return lat_bucket_low(i);
	}
	return lat_max;
}

/* Several threads may note at once (lab 05's workers): each count is an
 * atomic add and the maximum a compare-and-swap, all relaxed, since the
 * figures are read only after the threads are joined. */
void lab_latency_note(unsigned long long ts_ns)
{
	long long latency = lab_now_ns() - (long long)ts_ns;
	unsigned long long max;

	if (latency < 0) /* two CPUs' clocks may disagree by a few ns */
		latency = 0;
	__atomic_fetch_add(&lat_hist[lat_bucket(latency)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&lat_count, 1, __ATOMIC_RELAXED);
	max = __atomic_load_n(&lat_max, __ATOMIC_RELAXED);
	while ((unsigned long long)latency > max &&
	       !__atomic_compare_exchange_n(&lat_max, &max, latency, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		; /* max now holds the newer maximum: compare again */
}

const char *lab_latency_keys(void)
{
	static char keys[96];

	keys[0] = '\0';
	if (lat_count)
		snprintf(keys, sizeof(keys), " lat_p50_us=%llu lat_p99_us=%llu lat_max_us=%llu",
			 lat_percentile(0.50) / 1000, lat_percentile(0.99) / 1000, lat_max / 1000);
	return keys;
}
