// SPDX-License-Identifier: MIT
// hist.c - dobj-bench's latency histogram (HdrHistogram's log-linear layout, fixed size): a
// value's bucket is its top BENCH_HIST_SUB_BITS+1 significant bits. Locking and reporting are
// the caller's.

#include <math.h>
#include <string.h>

#include "hist.h"

void
bench_hist_reset(bench_hist *h)
{
	memset(h, 0, sizeof(*h));
}

unsigned
bench_hist_bucket(uint64_t v)
{
	unsigned shift;

	if (v < 2 * BENCH_HIST_SUB)
		return (unsigned)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - BENCH_HIST_SUB_BITS;
	if (shift > BENCH_HIST_MAX_SHIFT)
		return BENCH_HIST_NBUCKETS - 1;
	return (shift + 1) * BENCH_HIST_SUB + (unsigned)((v >> shift) - BENCH_HIST_SUB);
}

uint64_t
bench_hist_lower(unsigned i)
{
	unsigned shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	shift = i / BENCH_HIST_SUB - 1;
	return (uint64_t)(i % BENCH_HIST_SUB + BENCH_HIST_SUB) << shift;
}

uint64_t
bench_hist_upper(unsigned i)
{
	unsigned shift;

	if (i < 2 * BENCH_HIST_SUB)
		return i;
	if (i == BENCH_HIST_NBUCKETS - 1)
		return UINT64_MAX;
	shift = i / BENCH_HIST_SUB - 1;
	return bench_hist_lower(i) + ((uint64_t)1 << shift) - 1;
}

void
bench_hist_add(bench_hist *h, uint64_t v)
{
	h->buckets[bench_hist_bucket(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void
bench_hist_merge(bench_hist *dst, const bench_hist *src)
{
	for (unsigned i = 0; i < BENCH_HIST_NBUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* The answer is the middle of the bucket holding the rank-th smallest value: at most half a
 * bucket (0.4%) from the true value. */
uint64_t
bench_hist_quantile(const bench_hist *h, double q)
{
	uint64_t rank, seen = 0, lo, hi, mid;
	unsigned i;

	if (h->count == 0)
		return 0;
	if (!(q > 0.0))
		q = 0.0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank == 0)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < BENCH_HIST_NBUCKETS - 1; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			break;
	}
	lo = bench_hist_lower(i);
	hi = bench_hist_upper(i);
	if (hi > h->max)
		hi = h->max;
	mid = lo + (hi - lo) / 2;
	return mid;
}
