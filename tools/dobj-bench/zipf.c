// SPDX-License-Identifier: MIT
// zipf.c - random object choice for dobj-bench: xorshift64* and a zipfian sampler by
// rejection-inversion (Hoermann and Derflinger, "Rejection-inversion to generate variates from
// monotone discrete distributions", 1996): O(1) time and memory per draw for any n and s > 0,
// so 100 million objects need no table.

#include <math.h>

#include "zipf.h"

uint64_t
bench_rng_seed(uint64_t seed)
{
	/* splitmix64 spreads nearby seeds apart */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

uint64_t
bench_rng_next(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t
bench_rng_below(uint64_t *state, uint64_t n)
{
	/* Lemire's multiply-shift; the bias is below n / 2^64 */
	return (uint64_t)(((unsigned __int128)bench_rng_next(state) * n) >> 64);
}

/* rng_unit returns a uniform double in [0, 1). */
static double
rng_unit(uint64_t *state)
{
	return (double)(bench_rng_next(state) >> 11) * 0x1.0p-53;
}

/* log1p(x)/x and expm1(x)/x, continuous at 0. */
static double
helper1(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double
helper2(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

/* h(x) = x^-s, the density the discrete weights are cut from. */
static double
zipf_h(const bench_zipf *z, double x)
{
	return exp(-z->s * log(x));
}

/* zipf_H is an antiderivative of h: (x^(1-s) - 1) / (1 - s), or log(x) when s = 1. */
static double
zipf_H(const bench_zipf *z, double x)
{
	double lx = log(x);

	return helper2((1.0 - z->s) * lx) * lx;
}

/* zipf_H_inv inverts zipf_H. */
static double
zipf_H_inv(const bench_zipf *z, double x)
{
	double t = x * (1.0 - z->s);

	if (t < -1.0) /* rounding; keeps log1p's argument above -1 */
		t = -1.0;
	return exp(helper1(t) * x);
}

int
bench_zipf_init(bench_zipf *z, uint64_t n, double s)
{
	if (n == 0 || !(s > 0.0) || !isfinite(s))
		return -1;
	z->n = n;
	z->s = s;
	z->h_x1 = zipf_H(z, 1.5) - 1.0;
	z->h_n = zipf_H(z, (double)n + 0.5);
	z->cut = 2.0 - zipf_H_inv(z, zipf_H(z, 2.5) - zipf_h(z, 2.0));
	return 0;
}

uint64_t
bench_zipf_sample(const bench_zipf *z, uint64_t *state)
{
	for (;;) {
		double u = z->h_n + rng_unit(state) * (z->h_x1 - z->h_n);
		double x = zipf_H_inv(z, u);
		double k = floor(x + 0.5);

		if (k < 1.0)
			k = 1.0;
		else if (k > (double)z->n)
			k = (double)z->n;
		if (k - x <= z->cut || u >= zipf_H(z, k + 0.5) - zipf_h(z, k))
			return (uint64_t)k - 1;
	}
}
