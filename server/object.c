// SPDX-License-Identifier: MIT
// object.c - the sorted entry array of a live object and the undo log of its turn.
// Ownership rule: every key/value buffer is owned by exactly one place at a time, either an
// entry of the object or a record of the undo log, which hands it back on rollback and frees
// it on discard. So a value returned to a handler stays valid until its turn ends.

#include <stdlib.h>
#include <string.h>

#include "object.h"

enum undo_kind { UNDO_KEY, UNDO_CLEAR, UNDO_ALARM };

struct dobj__undo_rec {
	enum undo_kind kind;
	/* UNDO_KEY: the entry that stood at `key` before, if any. key is borrowed, not copied:
	 * it is old.key when the key existed, else the key of the entry the put made. Either is
	 * alive whenever a rollback reaches this record, since every later change has been undone
	 * by then and has handed its buffers back to the object or to this record. */
	const char *key;
	bool existed;
	dobj__entry old;
	/* UNDO_CLEAR: the whole array before delete_all */
	dobj__entry *old_entries;
	size_t old_n, old_cap, old_bytes, old_ndirty;
	bool old_complete, old_cleared;
	/* UNDO_ALARM: the alarm state before */
	bool old_alarm_known, old_has_alarm, old_alarm_dirty;
	int64_t old_alarm_ms;
};

#define ENTRY_OVERHEAD (sizeof(dobj__entry) + 16)

static size_t
entry_bytes(const dobj__entry *e)
{
	return ENTRY_OVERHEAD + e->klen + e->vlen;
}

static int
entry_make(dobj__entry *e, const char *key, size_t klen, const void *val, size_t vlen, bool present)
{
	char *buf;

	if (!present)
		vlen = 0;
	if ((buf = malloc(klen + 1 + (vlen ? vlen : 1))) == NULL)
		return -1;
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	if (vlen)
		memcpy(buf + klen + 1, val, vlen);
	e->key = buf;
	e->val = (uint8_t *)buf + klen + 1;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	e->present = present;
	e->dirty = false;
	return 0;
}

static void
entries_free(dobj__entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].key);
	free(entries);
}

dobj__object *
dobj__object_new(const struct dobj__class_reg *cls, const dobj_id *id)
{
	dobj__object *o = calloc(1, sizeof(*o));

	if (o != NULL) {
		o->cls = cls;
		o->id = *id;
	}
	return o;
}

void
dobj__object_free(dobj__object *o)
{
	if (o == NULL)
		return;
	entries_free(o->entries, o->n);
	free(o);
}

bool
dobj__object_find(const dobj__object *o, const char *key, size_t *idx)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->entries[mid].key, key);
		if (c == 0) {
			*idx = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*idx = lo;
	return false;
}

size_t
dobj__object_lower_bound(const dobj__object *o, const char *key, bool after)
{
	size_t idx;

	if (dobj__object_find(o, key, &idx) && after)
		idx++;
	return idx;
}

static int
entries_insert(dobj__object *o, size_t idx, const dobj__entry *e)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		dobj__entry *p = realloc(o->entries, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		o->entries = p;
		o->cap = cap;
	}
	memmove(&o->entries[idx + 1], &o->entries[idx], (o->n - idx) * sizeof(*e));
	o->entries[idx] = *e;
	o->n++;
	o->bytes += entry_bytes(e);
	return 0;
}

static void
entries_remove(dobj__object *o, size_t idx)
{
	o->bytes -= entry_bytes(&o->entries[idx]);
	memmove(&o->entries[idx], &o->entries[idx + 1], (o->n - idx - 1) * sizeof(dobj__entry));
	o->n--;
}

int
dobj__object_cache(dobj__object *o, size_t idx, const char *key, size_t klen, const void *val,
                   size_t vlen, bool present)
{
	dobj__entry e;

	if (entry_make(&e, key, klen, val, vlen, present) != 0)
		return -1;
	if (entries_insert(o, idx, &e) != 0) {
		free(e.key);
		return -1;
	}
	return 0;
}

static dobj__undo_rec *
undo_push(dobj__undo *undo)
{
	if (undo->n == undo->cap) {
		size_t cap = undo->cap ? undo->cap * 2 : 16;
		dobj__undo_rec *p = realloc(undo->recs, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		undo->recs = p;
		undo->cap = cap;
	}
	memset(&undo->recs[undo->n], 0, sizeof(dobj__undo_rec));
	return &undo->recs[undo->n++];
}

int
dobj__object_put(dobj__object *o, dobj__undo *undo, const char *key, size_t klen, const void *val,
                 size_t vlen, bool present)
{
	dobj__undo_rec *r;
	dobj__entry e;
	size_t idx;
	bool found = dobj__object_find(o, key, &idx);

	if (entry_make(&e, key, klen, val, vlen, present) != 0)
		return -1;
	e.dirty = true;
	if ((r = undo_push(undo)) == NULL) {
		free(e.key);
		return -1;
	}
	r->kind = UNDO_KEY;
	r->existed = found;
	r->key = found ? o->entries[idx].key : e.key;
	if (found) {
		r->old = o->entries[idx];
		o->bytes -= entry_bytes(&r->old);
		if (r->old.dirty)
			o->ndirty--;
		o->entries[idx] = e;
		o->bytes += entry_bytes(&e);
	} else if (entries_insert(o, idx, &e) != 0) {
		undo->n--;
		free(e.key);
		return -1;
	}
	o->ndirty++;
	return 0;
}

int
dobj__object_clear(dobj__object *o, dobj__undo *undo)
{
	dobj__undo_rec *r = undo_push(undo);

	if (r == NULL)
		return -1;
	r->kind = UNDO_CLEAR;
	r->old_entries = o->entries;
	r->old_n = o->n;
	r->old_cap = o->cap;
	r->old_bytes = o->bytes;
	r->old_ndirty = o->ndirty;
	r->old_complete = o->complete;
	r->old_cleared = o->cleared;
	o->entries = NULL;
	o->n = o->cap = o->bytes = 0;
	o->complete = true;
	o->cleared = true;
	/* the clear itself must be committed, and a pending alarm change still counts */
	o->ndirty = 1 + (o->alarm_dirty ? 1 : 0);
	return 0;
}

int
dobj__object_set_alarm(dobj__object *o, dobj__undo *undo, bool has, int64_t at_ms, bool dirty)
{
	dobj__undo_rec *r = undo_push(undo);

	if (r == NULL)
		return -1;
	r->kind = UNDO_ALARM;
	r->old_alarm_known = o->alarm_known;
	r->old_has_alarm = o->has_alarm;
	r->old_alarm_dirty = o->alarm_dirty;
	r->old_alarm_ms = o->alarm_ms;
	o->alarm_known = true;
	o->has_alarm = has;
	o->alarm_ms = has ? at_ms : 0;
	if (dirty && !o->alarm_dirty) {
		o->alarm_dirty = true;
		o->ndirty++;
	}
	return 0;
}

void
dobj__object_sent(dobj__object *o)
{
	for (size_t i = 0; i < o->n; i++)
		o->entries[i].dirty = false;
	o->cleared = false;
	o->alarm_dirty = false;
	o->ndirty = 0;
	o->persisted = true;
}

void
dobj__object_compact(dobj__object *o)
{
	size_t j = 0;

	if (!o->complete)
		return;
	for (size_t i = 0; i < o->n; i++) {
		dobj__entry *e = &o->entries[i];
		if (!e->present && !e->dirty) {
			o->bytes -= entry_bytes(e);
			free(e->key);
			continue;
		}
		o->entries[j++] = *e;
	}
	o->n = j;
}

void
dobj__object_committed(dobj__object *o)
{
	dobj__object_sent(o);
	dobj__object_compact(o);
}

/* bury keeps p until the turn ends (dobj__undo_discard). Out of memory, it frees p now: a
 * handler still holding a pointer into it is the lesser harm than a leak per rollback. */
static void
bury(dobj__undo *undo, void *p)
{
	if (p == NULL)
		return;
	if (undo->ndead == undo->dead_cap) {
		size_t cap = undo->dead_cap ? undo->dead_cap * 2 : 16;
		void **d = realloc(undo->dead, cap * sizeof(*d));
		if (d == NULL) {
			free(p);
			return;
		}
		undo->dead = d;
		undo->dead_cap = cap;
	}
	undo->dead[undo->ndead++] = p;
}

size_t
dobj__undo_mark(const dobj__undo *undo)
{
	return undo->n;
}

void
dobj__undo_rollback(dobj__undo *undo, dobj__object *o, size_t mark)
{
	while (undo->n > mark) {
		dobj__undo_rec *r = &undo->recs[--undo->n];
		size_t idx;

		if (r->kind == UNDO_ALARM) {
			if (o->alarm_dirty && !r->old_alarm_dirty)
				o->ndirty--;
			o->alarm_known = r->old_alarm_known;
			o->has_alarm = r->old_has_alarm;
			o->alarm_dirty = r->old_alarm_dirty;
			o->alarm_ms = r->old_alarm_ms;
			continue;
		}
		if (r->kind == UNDO_CLEAR) {
			for (size_t i = 0; i < o->n; i++)
				bury(undo, o->entries[i].key);
			bury(undo, o->entries);
			o->entries = r->old_entries;
			o->n = r->old_n;
			o->cap = r->old_cap;
			o->bytes = r->old_bytes;
			o->ndirty = r->old_ndirty;
			o->complete = r->old_complete;
			o->cleared = r->old_cleared;
			continue;
		}
		/* The key must be there: it was written after the record was made, and every later
		 * change to it has already been undone. */
		dobj__object_find(o, r->key, &idx);
		if (o->entries[idx].dirty)
			o->ndirty--;
		bury(undo, o->entries[idx].key);
		if (r->existed) {
			o->bytes -= entry_bytes(&o->entries[idx]);
			o->entries[idx] = r->old;
			o->bytes += entry_bytes(&r->old);
			if (r->old.dirty)
				o->ndirty++;
		} else {
			/* entries_remove subtracts the bytes of what it removes; that buffer is gone
			 * already, but its sizes are still in the entry. */
			entries_remove(o, idx);
		}
	}
}

void
dobj__undo_discard(dobj__undo *undo)
{
	for (size_t i = 0; i < undo->n; i++) {
		dobj__undo_rec *r = &undo->recs[i];
		if (r->kind == UNDO_CLEAR) {
			entries_free(r->old_entries, r->old_n);
		} else if (r->kind == UNDO_KEY) {
			if (r->existed)
				free(r->old.key);
		}
	}
	undo->n = 0;
	for (size_t i = 0; i < undo->ndead; i++)
		free(undo->dead[i]);
	undo->ndead = 0;
	undo->write_bytes = 0;
}

void
dobj__undo_abort(dobj__undo *undo, dobj__object *o)
{
	dobj__undo_rollback(undo, o, 0);
	dobj__undo_discard(undo); /* nothing left to keep: only the buried buffers go */
}

void
dobj__undo_fini(dobj__undo *undo)
{
	dobj__undo_discard(undo);
	free(undo->dead);
	free(undo->recs);
	memset(undo, 0, sizeof(*undo));
}
