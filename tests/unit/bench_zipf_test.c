// SPDX-License-Identifier: MIT
// bench_zipf_test.c - dobj-bench's random object choice (tools/dobj-bench/zipf.c): argument
// checks, ranges, and the frequencies of the uniform and zipfian samplers against their
// distributions (chi-square with fixed seeds, so the outcome is the same on every run).

#include <math.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "zipf.h"

#define NBINS 50
#define DRAWS 500000
/* chi-square with 49 degrees of freedom exceeds 100 with probability below 2e-5 */
#define CHI2_LIMIT 100.0

/* chi2_zipf draws DRAWS ranks over NBINS with exponent s and returns the chi-square
 * statistic against the zipf probabilities. */
static double
chi2_zipf(double s, uint64_t seed)
{
	static uint64_t seen[NBINS];
	double w[NBINS], total = 0, chi2 = 0;
	bench_zipf z;
	uint64_t rng = bench_rng_seed(seed);

	cr_assert_eq(bench_zipf_init(&z, NBINS, s), 0);
	for (int k = 0; k < NBINS; k++) {
		seen[k] = 0;
		w[k] = pow(k + 1, -s);
		total += w[k];
	}
	for (int i = 0; i < DRAWS; i++) {
		uint64_t r = bench_zipf_sample(&z, &rng);

		cr_assert_lt(r, NBINS);
		seen[r]++;
	}
	for (int k = 0; k < NBINS; k++) {
		double want = DRAWS * w[k] / total, d = (double)seen[k] - want;

		chi2 += d * d / want;
	}
	return chi2;
}

Test(bench_zipf, init_refuses_bad_arguments)
{
	bench_zipf z;

	cr_assert_eq(bench_zipf_init(&z, 0, 1.0), -1);
	cr_assert_eq(bench_zipf_init(&z, 10, 0.0), -1);
	cr_assert_eq(bench_zipf_init(&z, 10, -1.0), -1);
	cr_assert_eq(bench_zipf_init(&z, 10, NAN), -1);
	cr_assert_eq(bench_zipf_init(&z, 10, INFINITY), -1);
	cr_assert_eq(bench_zipf_init(&z, 10, 0.99), 0);
}

Test(bench_zipf, one_object_is_always_chosen)
{
	bench_zipf z;
	uint64_t rng = bench_rng_seed(1);

	cr_assert_eq(bench_zipf_init(&z, 1, 1.2), 0);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(bench_zipf_sample(&z, &rng), 0);
}

Test(bench_zipf, ranks_stay_in_range_for_many_objects)
{
	bench_zipf z;
	uint64_t rng = bench_rng_seed(2), hits0 = 0, max = 0;

	cr_assert_eq(bench_zipf_init(&z, 100000000, 0.99), 0);
	for (int i = 0; i < 200000; i++) {
		uint64_t r = bench_zipf_sample(&z, &rng);

		cr_assert_lt(r, 100000000);
		hits0 += r == 0;
		max = r > max ? r : max;
	}
	cr_assert_gt(hits0, 2000, "rank 0 should be the hottest: %llu", (unsigned long long)hits0);
	cr_assert_gt(max, 1000000, "the tail should be reached");
}

Test(bench_zipf, frequencies_follow_the_distribution)
{
	static const double exponents[] = {0.5, 0.99, 1.0, 1.2, 2.0, 3.5};

	for (size_t i = 0; i < sizeof(exponents) / sizeof(exponents[0]); i++) {
		double chi2 = chi2_zipf(exponents[i], 100 + i);

		cr_assert_lt(chi2, CHI2_LIMIT, "s = %g: chi-square %.1f", exponents[i], chi2);
	}
}

Test(bench_zipf, uniform_choice_is_uniform)
{
	static uint64_t seen[NBINS];
	uint64_t rng = bench_rng_seed(7);
	double want = (double)DRAWS / NBINS, chi2 = 0;

	for (int i = 0; i < DRAWS; i++) {
		uint64_t r = bench_rng_below(&rng, NBINS);

		cr_assert_lt(r, NBINS);
		seen[r]++;
	}
	for (int k = 0; k < NBINS; k++)
		chi2 += ((double)seen[k] - want) * ((double)seen[k] - want) / want;
	cr_assert_lt(chi2, CHI2_LIMIT, "chi-square %.1f", chi2);
}

Test(bench_zipf, seeds_give_distinct_streams)
{
	uint64_t a = bench_rng_seed(1), b = bench_rng_seed(2);

	cr_assert_neq(bench_rng_next(&a), bench_rng_next(&b));
	cr_assert_neq(bench_rng_seed(0), 0);
}
