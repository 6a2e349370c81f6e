/* SPDX-License-Identifier: MIT */
/* fuzz.h - what every harness of tests/fuzz shares: libFuzzer's entry point, which replay.c
 * also drives in the ordinary builds, and FX_CHECK (check.h), which stops the run on a broken
 * promise so that libFuzzer, or the replay, reports the input. */
#ifndef DOBJ_TEST_FUZZ_H
#define DOBJ_TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

/* LLVMFuzzerTestOneInput runs one input; always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* DOBJ_TEST_FUZZ_H */
