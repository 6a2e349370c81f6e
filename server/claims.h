/* SPDX-License-Identifier: MIT */
/* claims.h - the alarm calls a poller has claimed and not yet recorded, as a hash set on
 * (class, id, due time), so that a claim that finds one of its own alarms again (its lease ran
 * out while the call waited in a busy shard) renews the lease instead of running the alarm a
 * second time. Owned by the poller thread; not thread-safe. */
#ifndef DOBJ_SERVER_CLAIMS_H
#define DOBJ_SERVER_CLAIMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"

typedef struct dobj__claims {
	dobj__call **buckets; /* chained through claim_next; a power of two of them */
	size_t nbuckets, n;
} dobj__claims;

/* dobj__claims_add adds c (its cls, id and alarm_due_ms set). It only grows the table when
 * memory allows: a full table gets slower, not wrong. */
void dobj__claims_add(dobj__claims *s, dobj__call *c);

/* dobj__claims_find returns the alarm call for (cls, id, due_ms) in s, or NULL. */
dobj__call *dobj__claims_find(const dobj__claims *s, const struct dobj__class_reg *cls,
                              const dobj_id *id, int64_t due_ms);

/* dobj__claims_each calls fn(c, arg) for every call in s, in no order; fn must not change s. */
void dobj__claims_each(const dobj__claims *s, void (*fn)(dobj__call *c, void *arg), void *arg);

/* dobj__claims_remove takes c out of s; nothing happens if it is not there. */
void dobj__claims_remove(dobj__claims *s, dobj__call *c);

/* dobj__claims_fini frees the table (not the calls). */
void dobj__claims_fini(dobj__claims *s);

#endif /* DOBJ_SERVER_CLAIMS_H */
