/* SPDX-License-Identifier: MIT */
/* zipf.h - dobj-bench's random choices: a xorshift generator per caller and a zipfian sampler
 * over ranks 0..n-1 (rank r drawn with probability proportional to 1/(r+1)^s). The sampler is
 * read-only after init, so threads share one and keep their own generator state. */
#ifndef DOBJ_BENCH_ZIPF_H
#define DOBJ_BENCH_ZIPF_H

#include <stdint.h>

/* bench_rng_seed returns a generator state from seed (never 0). */
uint64_t bench_rng_seed(uint64_t seed);

/* bench_rng_next advances *state (xorshift64*) and returns 64 random bits. */
uint64_t bench_rng_next(uint64_t *state);

/* bench_rng_below returns a uniform integer in [0, n), n >= 1. */
uint64_t bench_rng_below(uint64_t *state, uint64_t n);

/* bench_zipf: the sampler's constants. */
typedef struct bench_zipf {
	uint64_t n;
	double s;
	double h_x1, h_n, cut; /* H(1.5) - 1, H(n + 0.5), and the quick-accept bound */
} bench_zipf;

/* bench_zipf_init prepares sampling over n >= 1 ranks with exponent s > 0 (any s, also 1);
 * -1 for other arguments. */
int bench_zipf_init(bench_zipf *z, uint64_t n, double s);

/* bench_zipf_sample draws one rank in [0, n): 0 the most frequent. */
uint64_t bench_zipf_sample(const bench_zipf *z, uint64_t *state);

#endif /* DOBJ_BENCH_ZIPF_H */
