// SPDX-License-Identifier: MIT
// claims.c - the poller's claimed alarm calls by (class, id, due time) (claims.h).

#include <stdlib.h>
#include <string.h>

#include "claims.h"

#define CLAIMS_MIN_BUCKETS 64

static size_t
claim_hash(const struct dobj__class_reg *cls, const dobj_id *id, int64_t due_ms)
{
	uint64_t h;

	/* ids are SHA-256 output: their first bytes are already well mixed */
	memcpy(&h, id->bytes, sizeof(h));
	h ^= (uint64_t)(uintptr_t)cls * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)due_ms * 0xc2b2ae3d27d4eb4fULL;
	return (size_t)(h ^ (h >> 29));
}

static bool
claim_is(const dobj__call *c, const struct dobj__class_reg *cls, const dobj_id *id, int64_t due_ms)
{
	return c->cls == cls && c->alarm_due_ms == due_ms &&
	       memcmp(c->id.bytes, id->bytes, DOBJ_ID_SIZE) == 0;
}

/* grow doubles the buckets (or makes the first ones); false when out of memory. */
static bool
grow(dobj__claims *s)
{
	size_t nb = s->nbuckets ? s->nbuckets * 2 : CLAIMS_MIN_BUCKETS;
	dobj__call **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return false;
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (dobj__call *c = s->buckets[i], *next; c != NULL; c = next) {
			size_t k = claim_hash(c->cls, &c->id, c->alarm_due_ms) & (nb - 1);
			next = c->claim_next;
			c->claim_next = b[k];
			b[k] = c;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	return true;
}

void
dobj__claims_add(dobj__claims *s, dobj__call *c)
{
	size_t k;

	if ((s->nbuckets == 0 || s->n >= s->nbuckets) && !grow(s) && s->nbuckets == 0) {
		c->claim_next = NULL; /* no table at all: the call goes untracked */
		return;
	}
	k = claim_hash(c->cls, &c->id, c->alarm_due_ms) & (s->nbuckets - 1);
	c->claim_next = s->buckets[k];
	s->buckets[k] = c;
	s->n++;
}

dobj__call *
dobj__claims_find(const dobj__claims *s, const struct dobj__class_reg *cls, const dobj_id *id,
                  int64_t due_ms)
{
	if (s->nbuckets == 0)
		return NULL;
	for (dobj__call *c = s->buckets[claim_hash(cls, id, due_ms) & (s->nbuckets - 1)]; c != NULL;
	     c = c->claim_next)
		if (claim_is(c, cls, id, due_ms))
			return c;
	return NULL;
}

void
dobj__claims_each(const dobj__claims *s, void (*fn)(dobj__call *c, void *arg), void *arg)
{
	for (size_t i = 0; i < s->nbuckets; i++)
		for (dobj__call *c = s->buckets[i]; c != NULL; c = c->claim_next)
			fn(c, arg);
}

void
dobj__claims_remove(dobj__claims *s, dobj__call *c)
{
	if (s->nbuckets == 0)
		return;
	for (dobj__call **link =
	         &s->buckets[claim_hash(c->cls, &c->id, c->alarm_due_ms) & (s->nbuckets - 1)];
	     *link != NULL; link = &(*link)->claim_next) {
		if (*link == c) {
			*link = c->claim_next;
			c->claim_next = NULL;
			s->n--;
			return;
		}
	}
}

void
dobj__claims_fini(dobj__claims *s)
{
	free(s->buckets);
	memset(s, 0, sizeof(*s));
}
