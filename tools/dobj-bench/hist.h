/* SPDX-License-Identifier: MIT */
/* hist.h - dobj-bench's latency histogram: log-linear buckets (exact below 256 ns, then 128
 * per power of two, under 0.8% relative error), counts and max, percentiles read back. Not
 * thread-safe: the caller serialises access. */
#ifndef DOBJ_BENCH_HIST_H
#define DOBJ_BENCH_HIST_H

#include <stdint.h>

#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_MAX_SHIFT 44 /* values up to ~2^51 ns (26 days); larger ones clamp */
#define BENCH_HIST_NBUCKETS ((BENCH_HIST_MAX_SHIFT + 2) * BENCH_HIST_SUB)

/* bench_hist: a histogram of nanosecond values; zero it (or bench_hist_reset) to start. */
typedef struct bench_hist {
	uint64_t count;
	uint64_t max;
	uint64_t buckets[BENCH_HIST_NBUCKETS];
} bench_hist;

/* bench_hist_reset empties h. */
void bench_hist_reset(bench_hist *h);

/* bench_hist_add records one value v (ns). */
void bench_hist_add(bench_hist *h, uint64_t v);

/* bench_hist_merge adds every value of src to dst. */
void bench_hist_merge(bench_hist *dst, const bench_hist *src);

/* bench_hist_quantile returns the value at quantile q (0 < q <= 1; the smallest value v such
 * that at least q of the values are <= v), within the bucket's resolution and never above
 * the max; 0 for an empty histogram. */
uint64_t bench_hist_quantile(const bench_hist *h, double q);

/* bench_hist_bucket maps v to its bucket index; bench_hist_lower and bench_hist_upper give
 * the range of values [lower, upper] a bucket holds. Exposed for the tests. */
unsigned bench_hist_bucket(uint64_t v);
uint64_t bench_hist_lower(unsigned i);
uint64_t bench_hist_upper(unsigned i);

#endif /* DOBJ_BENCH_HIST_H */
