// SPDX-License-Identifier: MIT
// objmap.c - a shard's live objects by (class, id): chained hash buckets that double when full,
// and an LRU list for the cache limit and the idle timeout.

#include <stdlib.h>
#include <string.h>

#include "objmap.h"
#include "registry.h"

static size_t
obj_hash(const dobj__class_reg *cls, const dobj_id *id)
{
	uint64_t v;

	/* bytes 0..7 chose the shard; 8..15 are as random and independent of it */
	memcpy(&v, id->bytes + 8, sizeof(v));
	return (size_t)(v ^ (cls->index * 0x9e3779b97f4a7c15ULL));
}

dobj__object *
dobj__objmap_find(const dobj__objmap *m, const dobj__class_reg *cls, const dobj_id *id)
{
	dobj__object *o;

	if (m->nbuckets == 0)
		return NULL;
	for (o = m->buckets[obj_hash(cls, id) & (m->nbuckets - 1)]; o != NULL; o = o->hnext)
		if (o->cls == cls && dobj_id_equal(&o->id, id))
			return o;
	return NULL;
}

static int
map_grow(dobj__objmap *m)
{
	size_t n = m->nbuckets ? m->nbuckets * 2 : 1024;
	dobj__object **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < m->nbuckets; i++) {
		dobj__object *o = m->buckets[i], *next;
		for (; o != NULL; o = next) {
			size_t h = obj_hash(o->cls, &o->id) & (n - 1);
			next = o->hnext;
			o->hnext = b[h];
			b[h] = o;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
	return 0;
}

static void
lru_unlink(dobj__objmap *m, dobj__object *o)
{
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else
		m->lru_head = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else
		m->lru_tail = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
}

static void
lru_push_front(dobj__objmap *m, dobj__object *o)
{
	o->lru_prev = NULL;
	o->lru_next = m->lru_head;
	if (m->lru_head)
		m->lru_head->lru_prev = o;
	m->lru_head = o;
	if (m->lru_tail == NULL)
		m->lru_tail = o;
}

int
dobj__objmap_insert(dobj__objmap *m, dobj__object *o)
{
	size_t h;

	if (m->n >= m->nbuckets && map_grow(m) != 0)
		return -1;
	h = obj_hash(o->cls, &o->id) & (m->nbuckets - 1);
	o->hnext = m->buckets[h];
	m->buckets[h] = o;
	m->n++;
	lru_push_front(m, o);
	return 0;
}

void
dobj__objmap_touch(dobj__objmap *m, dobj__object *o)
{
	lru_unlink(m, o);
	lru_push_front(m, o);
}

void
dobj__objmap_evict(dobj__objmap *m, dobj__object *o)
{
	dobj__object **pp = &m->buckets[obj_hash(o->cls, &o->id) & (m->nbuckets - 1)];

	while (*pp != o)
		pp = &(*pp)->hnext;
	*pp = o->hnext;
	lru_unlink(m, o);
	m->n--;
	dobj__object_free(o);
}

/* how many objects that must stay one eviction pass moves out of the way, at most */
#define EVICT_MOVE_MAX 64

void
dobj__objmap_evict_cold(dobj__objmap *m, size_t max, int64_t idle_before_ms)
{
	dobj__object *o;
	unsigned moved = 0;

	while ((o = m->lru_tail) != NULL && (m->n > max || o->last_used_ms < idle_before_ms)) {
		/* One that must stay (on a batch, written by a pending commit, or doomed: the
		 * shard's evict_doomed drops those) goes to the other end, out of the way of the
		 * objects behind it; a few at a time, so that a pass stays short. */
		if (o->in_batch || o->pins > 0 || o->doomed) {
			if (++moved > EVICT_MOVE_MAX)
				break;
			dobj__objmap_touch(m, o);
			continue;
		}
		dobj__objmap_evict(m, o);
	}
}

void
dobj__objmap_fini(dobj__objmap *m)
{
	while (m->lru_head != NULL)
		dobj__objmap_evict(m, m->lru_head);
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}
