/* SPDX-License-Identifier: MIT */
/* check.h - FX_CHECK, a check that aborts: for code where criterion's cr_assert cannot report
 * (threads other than the test's own, libFuzzer harnesses and their replay). */
#ifndef DOBJ_TEST_CHECK_H
#define DOBJ_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* FX_CHECK aborts, naming the file, line and condition, when cond is false. */
#define FX_CHECK(cond)                                                                           \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)

#endif /* DOBJ_TEST_CHECK_H */
