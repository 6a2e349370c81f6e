// SPDX-License-Identifier: MIT
// object_test.c - the live object's sorted entries and the turn's undo log (server/object.c).

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "object.h"
#include "registry.h"

static const dobj_class cls = {.name = "T"};
static const dobj__class_reg reg = {.cls = &cls, .index = 0};

/* Each test gets a fresh, fully loaded object o and an empty undo log u. */
static dobj__object *o;
static dobj__undo u;

static void
setup(void)
{
	dobj_id id = {{0}};

	memset(&u, 0, sizeof(u));
	o = dobj__object_new(&reg, &id);
	cr_assert_not_null(o);
	o->complete = true;
}

static void
teardown(void)
{
}

TestSuite(object, .init = setup, .fini = teardown);

/* put sets k to v on o (v NULL: deletes it), recording the old value in u. */
static void
put(const char *k, const char *v)
{
	cr_assert_eq(dobj__object_put(o, &u, k, strlen(k), v, v ? strlen(v) : 0, v != NULL), 0);
}

/* dump renders o's present entries as "k=v,k=v". */
static const char *
dump(void)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < o->n; i++)
		if (o->entries[i].present)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%.*s",
			                        off ? "," : "", o->entries[i].key,
			                        (int)o->entries[i].vlen,
			                        (const char *)o->entries[i].val);
	return buf;
}

Test(object, entries_stay_sorted_by_key_bytes)
{
	put("b", "1");
	put("\xc3\xa9", "2");
	put("B", "3");
	put("a", "4");
	put("b", "5");
	cr_assert_str_eq(dump(), "B=3,a=4,b=5,\xc3\xa9=2");
	cr_assert_eq(o->ndirty, 4);
}

Test(object, rollback_restores_values_and_removes_new_keys)
{
	size_t bytes;

	put("a", "1");
	put("b", "2");
	dobj__undo_discard(&u);
	dobj__object_committed(o);
	bytes = o->bytes;

	put("a", "changed");
	put("c", "new");
	put("b", NULL); /* tombstone */
	put("c", "newer");
	cr_assert_str_eq(dump(), "a=changed,c=newer");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_str_eq(dump(), "a=1,b=2");
	cr_assert_eq(o->n, 2);
	cr_assert_eq(o->ndirty, 0);
	cr_assert_eq(o->bytes, bytes);
}

Test(object, nested_marks_undo_only_their_part)
{
	size_t outer, inner;

	put("x", "0");
	outer = dobj__undo_mark(&u);
	put("x", "1");
	inner = dobj__undo_mark(&u);
	put("x", "2");
	put("y", "2");
	dobj__undo_rollback(&u, o, inner);
	cr_assert_str_eq(dump(), "x=1");
	dobj__undo_rollback(&u, o, outer);
	cr_assert_str_eq(dump(), "x=0");
	cr_assert_eq(o->ndirty, 1);
}

/* The undo log borrows each record's key from an entry instead of copying it: the entry a put
 * made, or the one it replaced. Every such entry must still be alive when a rollback reaches
 * the record, through replacements, a clear and partial rollbacks (ASan would see a read of a
 * freed key). */
Test(object, rollback_finds_keys_made_replaced_and_cleared_in_the_turn)
{
	size_t m1, m2;

	put("a", "0");
	dobj__undo_discard(&u);
	dobj__object_committed(o);

	put("n", "1"); /* new in the turn: its record borrows this entry's key */
	m1 = dobj__undo_mark(&u);
	put("n", "2"); /* replaces it: the entry now lives in this record */
	put("a", "1");
	cr_assert_eq(dobj__object_clear(o, &u), 0); /* every entry moves to the clear's record */
	put("n", "3");
	m2 = dobj__undo_mark(&u);
	put("a", NULL);
	put("n", "4");
	dobj__undo_rollback(&u, o, m2);
	cr_assert_str_eq(dump(), "n=3");
	put("z", "5");
	dobj__undo_rollback(&u, o, m1);
	cr_assert_str_eq(dump(), "a=0,n=1");
	cr_assert_eq(o->ndirty, 1);
	put("n", "6");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_str_eq(dump(), "a=0");
	cr_assert_eq(o->ndirty, 0);
	dobj__undo_discard(&u);
	cr_assert_str_eq(dump(), "a=0");
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, clear_and_its_rollback)
{
	put("a", "1");
	put("b", "2");
	dobj__undo_discard(&u);
	dobj__object_committed(o);
	o->complete = false;

	cr_assert_eq(dobj__object_clear(o, &u), 0);
	cr_assert(o->complete && o->cleared);
	put("c", "3");
	cr_assert_str_eq(dump(), "c=3");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_str_eq(dump(), "a=1,b=2");
	cr_assert(!o->complete && !o->cleared);
	cr_assert_eq(o->ndirty, 0);

	/* kept: the clear must still be committed, and tombstones go after the commit */
	cr_assert_eq(dobj__object_clear(o, &u), 0);
	put("d", "4");
	put("d", NULL);
	dobj__undo_discard(&u);
	cr_assert(o->cleared);
	cr_assert_gt(o->ndirty, 0);
	dobj__object_committed(o);
	cr_assert_eq(o->n, 0);
	cr_assert(!o->cleared);
	cr_assert_eq(o->ndirty, 0);
}

Test(object, clear_counts_a_pending_alarm_change)
{
	cr_assert_eq(dobj__object_set_alarm(o, &u, true, 1000, true), 0);
	cr_assert_eq(o->ndirty, 1);
	cr_assert_eq(dobj__object_clear(o, &u), 0);
	cr_assert_eq(o->ndirty, 2, "the clear and the alarm");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_eq(o->ndirty, 0);
	cr_assert_not(o->alarm_dirty);
}

Test(object, values_stay_valid_until_the_turn_ends)
{
	size_t idx;
	const uint8_t *v;

	put("a", "first");
	dobj__undo_discard(&u);
	cr_assert(dobj__object_find(o, "a", &idx));
	v = o->entries[idx].val;
	put("a", "second");
	put("a", NULL);
	/* the replaced buffer lives in the undo log until discard (ASan checks the read) */
	cr_assert_eq(memcmp(v, "first", 5), 0);
}

Test(object, lower_bound)
{
	put("a", "1");
	put("c", "1");
	cr_assert_eq(dobj__object_lower_bound(o, "a", false), 0);
	cr_assert_eq(dobj__object_lower_bound(o, "a", true), 1);
	cr_assert_eq(dobj__object_lower_bound(o, "b", true), 1);
	cr_assert_eq(dobj__object_lower_bound(o, "d", false), 2);
}

/* storage.h: what a get returned stays valid until the handler returns, even when a failed
 * transaction rolls back the write it read (ASan reports a use after free otherwise). */
Test(object, a_rollback_keeps_what_the_turn_read_until_the_turn_ends)
{
	const uint8_t *seen, *seen_all;
	size_t idx, mark;

	put("x", "old");
	dobj__undo_discard(&u);
	mark = dobj__undo_mark(&u);
	put("x", "new");
	cr_assert(dobj__object_find(o, "x", &idx));
	seen = o->entries[idx].val;
	dobj__undo_rollback(&u, o, mark);
	cr_assert_str_eq(dump(), "x=old");
	cr_assert_eq(memcmp(seen, "new", 3), 0, "the value read before the rollback");

	mark = dobj__undo_mark(&u);
	cr_assert_eq(dobj__object_clear(o, &u), 0);
	put("y", "after-clear");
	cr_assert(dobj__object_find(o, "y", &idx));
	seen_all = o->entries[idx].val;
	dobj__undo_rollback(&u, o, mark);
	cr_assert_str_eq(dump(), "x=old");
	cr_assert_eq(memcmp(seen_all, "after-clear", 11), 0);
	dobj__undo_discard(&u); /* the turn ends: now they go */
}
