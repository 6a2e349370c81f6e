// SPDX-License-Identifier: MIT
// pgarr.c - one-dimensional PostgreSQL arrays in binary form, built for statement parameters
// (a whole batch of keys or objects in one unnest()).

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "pgarr.h"

static void
pgarr_put(dobj__pgarr *a, const void *p, size_t n)
{
	if (a->oom)
		return;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *b;
		while (cap < a->len + n)
			cap *= 2;
		if ((b = realloc(a->buf, cap)) == NULL) {
			a->oom = true;
			return;
		}
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void
pgarr_u32(dobj__pgarr *a, uint32_t v)
{
	v = htonl(v);
	pgarr_put(a, &v, 4);
}

/* the header dobj__pgarr_begin writes: ndim, flags, element type, length, lower bound */
#define PGARR_HEADER 20

void
dobj__pgarr_begin(dobj__pgarr *a, Oid elem)
{
	a->len = 0;
	a->count = 0;
	a->oom = false;
	/* ndim, flags, element type, length (set by pgarr_end), lower bound */
	pgarr_u32(a, 1);
	pgarr_u32(a, 0);
	pgarr_u32(a, elem);
	pgarr_u32(a, 0);
	pgarr_u32(a, 1);
}

void
dobj__pgarr_add(dobj__pgarr *a, const void *p, size_t n)
{
	if (n > INT32_MAX) {
		a->oom = true;
		return;
	}
	pgarr_u32(a, (uint32_t)n);
	pgarr_put(a, p, n);
	a->count++;
}

void
dobj__pgarr_end(dobj__pgarr *a)
{
	uint32_t n = htonl(a->count);

	if (!a->oom)
		memcpy(a->buf + 12, &n, 4);
}

void
dobj__pgarr_append(dobj__pgarr *a, const dobj__pgarr *src)
{
	if (src->oom) {
		a->oom = true;
		return;
	}
	if (src->count == 0)
		return;
	pgarr_put(a, src->buf + PGARR_HEADER, src->len - PGARR_HEADER);
	a->count += src->count;
}
