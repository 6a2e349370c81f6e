// SPDX-License-Identifier: MIT
// bench_hist_test.c - dobj-bench's latency histogram (tools/dobj-bench/hist.c): bucket bounds,
// quantiles and their error bound, max, merge.

#include <stdint.h>

#include <criterion/criterion.h>

#include "hist.h"

static bench_hist h, h2;

/* close_to: |got - want| <= rel * want */
static void
assert_close(uint64_t got, uint64_t want, double rel)
{
	double d = (double)got - (double)want;

	cr_assert(d <= rel * (double)want && -d <= rel * (double)want,
	          "got %llu, want %llu within %.2f%%", (unsigned long long)got,
	          (unsigned long long)want, rel * 100);
}

Test(bench_hist, empty_histogram_answers_zero)
{
	bench_hist_reset(&h);
	cr_assert_eq(bench_hist_quantile(&h, 0.5), 0);
	cr_assert_eq(bench_hist_quantile(&h, 1.0), 0);
	cr_assert_eq(h.max, 0);
}

Test(bench_hist, small_values_are_exact)
{
	bench_hist_reset(&h);
	for (uint64_t v = 1; v <= 100; v++)
		bench_hist_add(&h, v);
	cr_assert_eq(h.count, 100);
	cr_assert_eq(bench_hist_quantile(&h, 0.01), 1);
	cr_assert_eq(bench_hist_quantile(&h, 0.5), 50);
	cr_assert_eq(bench_hist_quantile(&h, 0.99), 99);
	cr_assert_eq(bench_hist_quantile(&h, 1.0), 100);
	cr_assert_eq(h.max, 100);
}

Test(bench_hist, every_value_lies_in_its_bucket_and_buckets_are_narrow)
{
	for (uint64_t v = 0; v < ((uint64_t)1 << 50); v = v < 4096 ? v + 1 : v + v / 7 + 1) {
		unsigned i = bench_hist_bucket(v);
		uint64_t lo = bench_hist_lower(i), hi = bench_hist_upper(i);

		cr_assert(lo <= v && v <= hi, "v %llu outside bucket %u [%llu, %llu]",
		          (unsigned long long)v, i, (unsigned long long)lo, (unsigned long long)hi);
		cr_assert((double)(hi - lo) <= (double)lo / BENCH_HIST_SUB, "bucket %u too wide",
		          i);
		if (i > 0)
			cr_assert_eq(bench_hist_upper(i - 1) + 1, lo, "gap before bucket %u", i);
	}
}

Test(bench_hist, quantiles_of_a_known_distribution_are_within_half_a_percent)
{
	bench_hist_reset(&h);
	for (uint64_t v = 1; v <= 1000000; v++)
		bench_hist_add(&h, v * 1000); /* 1 us to 1 s */
	assert_close(bench_hist_quantile(&h, 0.5), 500000000, 0.005);
	assert_close(bench_hist_quantile(&h, 0.9), 900000000, 0.005);
	assert_close(bench_hist_quantile(&h, 0.99), 990000000, 0.005);
	assert_close(bench_hist_quantile(&h, 0.999), 999000000, 0.005);
	cr_assert_eq(h.max, 1000000000);
}

Test(bench_hist, a_quantile_never_exceeds_the_max)
{
	bench_hist_reset(&h);
	bench_hist_add(&h, 1000001);
	for (double q = 0.1; q <= 1.0; q += 0.1)
		cr_assert_leq(bench_hist_quantile(&h, q), 1000001);
	assert_close(bench_hist_quantile(&h, 1.0), 1000001, 0.005);
}

Test(bench_hist, outliers_are_kept_in_the_tail)
{
	bench_hist_reset(&h);
	for (int i = 0; i < 999; i++)
		bench_hist_add(&h, 1000000); /* 1 ms */
	bench_hist_add(&h, 2000000000);      /* one 2 s stall */
	assert_close(bench_hist_quantile(&h, 0.999), 1000000, 0.005);
	assert_close(bench_hist_quantile(&h, 1.0), 2000000000, 0.005);
	cr_assert_eq(h.max, 2000000000);
}

Test(bench_hist, huge_values_clamp_to_the_last_bucket_but_keep_the_max)
{
	bench_hist_reset(&h);
	bench_hist_add(&h, UINT64_MAX);
	cr_assert_eq(bench_hist_bucket(UINT64_MAX), BENCH_HIST_NBUCKETS - 1);
	cr_assert_eq(h.max, UINT64_MAX);
	cr_assert_geq(bench_hist_quantile(&h, 0.5), bench_hist_lower(BENCH_HIST_NBUCKETS - 1));
}

Test(bench_hist, merge_equals_adding_everything_to_one)
{
	bench_hist_reset(&h);
	bench_hist_reset(&h2);
	static bench_hist all;

	bench_hist_reset(&all);
	for (uint64_t v = 1; v < 200000; v += 7) {
		bench_hist_add(v % 2 ? &h : &h2, v * 13);
		bench_hist_add(&all, v * 13);
	}
	bench_hist_merge(&h, &h2);
	cr_assert_eq(h.count, all.count);
	cr_assert_eq(h.max, all.max);
	for (double q = 0.05; q < 1.0; q += 0.05)
		cr_assert_eq(bench_hist_quantile(&h, q), bench_hist_quantile(&all, q));
}
