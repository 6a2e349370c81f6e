/* SPDX-License-Identifier: MIT */
/* objmap.h - a shard's live objects: a hash map by (class, id) with an LRU list for eviction.
 * Owned by one shard thread; not thread-safe. */
#ifndef DOBJ_SERVER_OBJMAP_H
#define DOBJ_SERVER_OBJMAP_H

#include <stddef.h>
#include <stdint.h>

#include "object.h"

typedef struct dobj__objmap {
	dobj__object **buckets; /* chained; a power of two of them */
	size_t nbuckets, n;
	dobj__object *lru_head, *lru_tail; /* most recently used first */
} dobj__objmap;

/* dobj__objmap_find returns the live object, or NULL. */
dobj__object *dobj__objmap_find(const dobj__objmap *m, const struct dobj__class_reg *cls,
                                const dobj_id *id);

/* dobj__objmap_insert adds o as the most recently used. -1 when out of memory. */
int dobj__objmap_insert(dobj__objmap *m, dobj__object *o);

/* dobj__objmap_touch makes o the most recently used. */
void dobj__objmap_touch(dobj__objmap *m, dobj__object *o);

/* dobj__objmap_evict removes o and frees it. */
void dobj__objmap_evict(dobj__objmap *m, dobj__object *o);

/* dobj__objmap_evict_cold evicts least recently used objects while there are more than max or
 * the oldest was last used before idle_before_ms. An object that must stay (on a batch being
 * built, written by a pending commit, or doomed) is moved to the most recently used end instead,
 * up to a few a pass, so that it does not hold back the ones behind it. */
void dobj__objmap_evict_cold(dobj__objmap *m, size_t max, int64_t idle_before_ms);

/* dobj__objmap_fini evicts everything. */
void dobj__objmap_fini(dobj__objmap *m);

#endif /* DOBJ_SERVER_OBJMAP_H */
