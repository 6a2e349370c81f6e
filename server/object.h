/* SPDX-License-Identifier: MIT */
/*
 * object.h - a live object's cached storage, and the undo log that makes a turn atomic.
 *
 * An object holds its keys in one array sorted by key bytes. An entry is either a value or a
 * tombstone (a key known to have no value). `complete` says whether the array holds every
 * key (then a missing key has no value) or only those fetched so far (then a missing key
 * must be read from PostgreSQL). Writes replace entries in place and mark them dirty; the
 * shard writes dirty entries at its next commit. Each write also records the entry it
 * replaced in the turn's undo log, so a failed turn or transaction puts everything back.
 */
#ifndef DOBJ_SERVER_OBJECT_H
#define DOBJ_SERVER_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/id.h>

#include "arena.h"

struct dobj__class_reg;

/* dobj__entry: one key. key and val share one allocation owned by the entry. */
typedef struct dobj__entry {
	char *key;    /* NUL-terminated; klen bytes before the NUL */
	uint8_t *val; /* vlen bytes; meaningless for a tombstone */
	uint32_t klen;
	uint32_t vlen;
	bool present; /* false: tombstone */
	bool dirty;   /* changed since the last commit */
} dobj__entry;

typedef struct dobj__object {
	const struct dobj__class_reg *cls;
	dobj_id id;
	dobj__entry *entries; /* sorted by key bytes */
	size_t n, cap;
	size_t bytes;   /* memory held by entries, for the cache's accounting */
	bool complete;  /* every key is in entries */
	bool cleared;   /* delete_all since the last commit: delete every stored row first */
	bool persisted; /* the dobj_objects row is known to exist */
	bool in_batch;  /* on the shard's list of objects to commit */
	unsigned pins;  /* commits on their way that write it: it stays live until they end */
	bool doomed;    /* a commit it took part in failed: evict after the current batch */
	size_t ndirty;  /* dirty entries (plus 1 while cleared) */
	/* the object's alarm (dobj/alarm.h) */
	bool alarm_known; /* has_alarm and alarm_ms reflect PostgreSQL plus this object's writes */
	bool has_alarm;
	bool alarm_dirty; /* set or deleted since the last commit */
	int64_t alarm_ms;
	/* the shard's pending batch carrying the last alarm change sent, until it commits; while
	 * it is NULL and alarm_dirty false, the row in PostgreSQL is the alarm's truth */
	const void *alarm_batch;
	int64_t last_used_ms;
	/* links owned by the shard */
	struct dobj__object *hnext;
	struct dobj__object *lru_prev, *lru_next;
	struct dobj__object *batch_next;
} dobj__object;

/* dobj__undo: the turn's undo log. One object per turn; reused across turns. */
typedef struct dobj__undo_rec dobj__undo_rec;
typedef struct dobj__undo {
	dobj__undo_rec *recs;
	size_t n, cap;
	/* buffers a rollback took out of the object: the handler may still hold pointers into
	 * them (storage.h: valid until the handler returns), so they are freed at the turn's
	 * end, by dobj__undo_discard */
	void **dead;
	size_t ndead, dead_cap;
	/* what the turn's writes add to its batch's statements, in bytes (storage.c; writes
	 * undone since stay counted); dobj__undo_discard resets it */
	size_t write_bytes;
} dobj__undo;

/* The most one turn may write (keys, values and each row's share of the statement): its batch,
 * handed over at DOBJ__BATCH_BYTES (shard.h) once past it, then stays far below PostgreSQL's
 * 1 GiB message limit. */
#define DOBJ__TURN_WRITE_BYTES ((size_t)256 << 20)

/* dobj__object_new returns an empty, incomplete object; NULL when out of memory. */
dobj__object *dobj__object_new(const struct dobj__class_reg *cls, const dobj_id *id);

/* dobj__object_free frees o and all its entries. NULL is allowed. */
void dobj__object_free(dobj__object *o);

/* dobj__object_find looks key up: true and *idx = its index when present in entries
 * (value or tombstone), else false and *idx = where it would be inserted. */
bool dobj__object_find(const dobj__object *o, const char *key, size_t *idx);

/* dobj__object_lower_bound returns the index of the first key >= key (strictly > with
 * after=true). */
size_t dobj__object_lower_bound(const dobj__object *o, const char *key, bool after);

/* dobj__object_cache inserts a clean entry read from PostgreSQL (val NULL: tombstone) at idx
 * (from dobj__object_find). Not undone by rollback: it reflects committed state. */
int dobj__object_cache(dobj__object *o, size_t idx, const char *key, size_t klen, const void *val,
                       size_t vlen, bool present);

/* dobj__object_put sets key to val (a tombstone when present is false), recording the old
 * entry in undo. Returns 0, or -1 when out of memory (nothing changed). */
int dobj__object_put(dobj__object *o, dobj__undo *undo, const char *key, size_t klen,
                     const void *val, size_t vlen, bool present);

/* dobj__object_clear removes every key (delete_all), recording the old state in undo. */
int dobj__object_clear(dobj__object *o, dobj__undo *undo);

/* dobj__object_set_alarm sets (or with has=false clears) the object's alarm, recording the old
 * state in undo; dirty says whether the commit must write it (an alarm that fired is removed
 * by the commit that records its turn, so clearing it then is not dirty). */
int dobj__object_set_alarm(dobj__object *o, dobj__undo *undo, bool has, int64_t at_ms, bool dirty);

/* dobj__object_sent: the dirty state was handed to a commit. Clears dirty marks (later turns
 * mark what they change again) but keeps tombstones until dobj__object_compact. */
void dobj__object_sent(dobj__object *o);

/* dobj__object_compact: the commit succeeded; a complete object drops the tombstones no turn
 * has written since. */
void dobj__object_compact(dobj__object *o);

/* dobj__object_committed: the dirty entries are now durable (dobj__object_sent then
 * dobj__object_compact). Clears dirty marks and drops
 * tombstones that a complete object no longer needs. */
void dobj__object_committed(dobj__object *o);

/* dobj__undo_mark returns the current position, for dobj__undo_rollback. */
size_t dobj__undo_mark(const dobj__undo *undo);

/* dobj__undo_rollback undoes every change recorded after mark, newest first. */
void dobj__undo_rollback(dobj__undo *undo, dobj__object *o, size_t mark);

/* dobj__undo_discard keeps the changes and frees what they replaced, and what rollbacks took
 * out: the end of a turn that succeeded. */
void dobj__undo_discard(dobj__undo *undo);

/* dobj__undo_abort undoes every change of the turn on o and frees what rollbacks took out: the
 * end of a turn that failed. */
void dobj__undo_abort(dobj__undo *undo, dobj__object *o);

/* dobj__undo_fini frees the log itself. */
void dobj__undo_fini(dobj__undo *undo);

#endif /* DOBJ_SERVER_OBJECT_H */
