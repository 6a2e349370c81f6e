/* SPDX-License-Identifier: MIT */
/* pgarr.h - a one-dimensional PostgreSQL array in binary form (array_send's layout: ndim,
 * has-nulls flag, element type, then length and lower bound, then each element as a 4-byte
 * length and its bytes), for binary statement parameters. */
#ifndef DOBJ_SERVER_PGARR_H
#define DOBJ_SERVER_PGARR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

typedef struct dobj__pgarr {
	char *buf;
	size_t len, cap;
	uint32_t count;
	bool oom;
} dobj__pgarr;

/* dobj__pgarr_begin starts an empty array of element type elem (an OID), reusing a's buffer. */
void dobj__pgarr_begin(dobj__pgarr *a, Oid elem);

/* dobj__pgarr_add appends one element of n bytes (oom is set on failure). */
void dobj__pgarr_add(dobj__pgarr *a, const void *p, size_t n);

/* dobj__pgarr_end fixes the element count; then buf[0..len) is the parameter. */
void dobj__pgarr_end(dobj__pgarr *a);

/* dobj__pgarr_append adds src's elements after a's (same element type; oom is set on
 * failure). src may be ended or not. */
void dobj__pgarr_append(dobj__pgarr *a, const dobj__pgarr *src);

#endif /* DOBJ_SERVER_PGARR_H */
