/* SPDX-License-Identifier: MIT */
/* fuzz.h - what every harness of tests/fuzz shares: libFuzzer's entry point, which replay.c
 * also drives in the ordinary builds, and a check that stops the run on a broken promise. */
#ifndef DOBJ_TEST_FUZZ_H
#define DOBJ_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* LLVMFuzzerTestOneInput runs one input; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_CHECK aborts when cond is false, so that libFuzzer (or the replay) reports the input. */
#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#endif /* DOBJ_TEST_FUZZ_H */
