// SPDX-License-Identifier: MIT
// object_test.c - the live object's sorted entries and the turn's undo log (server/object.c).

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "object.h"
#include "registry.h"

static const dobj_class cls = {.name = "T"};
static const dobj__class_reg reg = {.cls = &cls, .index = 0};

static dobj__object *
new_object(void)
{
	dobj_id id = {{0}};
	dobj__object *o = dobj__object_new(&reg, &id);

	cr_assert_not_null(o);
	o->complete = true;
	return o;
}

static void
put(dobj__object *o, dobj__undo *u, const char *k, const char *v)
{
	cr_assert_eq(dobj__object_put(o, u, k, strlen(k), v, v ? strlen(v) : 0, v != NULL), 0);
}

/* dump renders present entries as "k=v,k=v". */
static const char *
dump(const dobj__object *o)
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
	dobj__object *o = new_object();
	dobj__undo u = {0};

	put(o, &u, "b", "1");
	put(o, &u, "\xc3\xa9", "2");
	put(o, &u, "B", "3");
	put(o, &u, "a", "4");
	put(o, &u, "b", "5");
	cr_assert_str_eq(dump(o), "B=3,a=4,b=5,\xc3\xa9=2");
	cr_assert_eq(o->ndirty, 4);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, rollback_restores_values_and_removes_new_keys)
{
	dobj__object *o = new_object();
	dobj__undo u = {0};
	size_t bytes;

	put(o, &u, "a", "1");
	put(o, &u, "b", "2");
	dobj__undo_discard(&u);
	dobj__object_committed(o);
	bytes = o->bytes;

	put(o, &u, "a", "changed");
	put(o, &u, "c", "new");
	put(o, &u, "b", NULL); /* tombstone */
	put(o, &u, "c", "newer");
	cr_assert_str_eq(dump(o), "a=changed,c=newer");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_str_eq(dump(o), "a=1,b=2");
	cr_assert_eq(o->n, 2);
	cr_assert_eq(o->ndirty, 0);
	cr_assert_eq(o->bytes, bytes);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, nested_marks_undo_only_their_part)
{
	dobj__object *o = new_object();
	dobj__undo u = {0};
	size_t outer, inner;

	put(o, &u, "x", "0");
	outer = dobj__undo_mark(&u);
	put(o, &u, "x", "1");
	inner = dobj__undo_mark(&u);
	put(o, &u, "x", "2");
	put(o, &u, "y", "2");
	dobj__undo_rollback(&u, o, inner);
	cr_assert_str_eq(dump(o), "x=1");
	dobj__undo_rollback(&u, o, outer);
	cr_assert_str_eq(dump(o), "x=0");
	cr_assert_eq(o->ndirty, 1);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, clear_and_its_rollback)
{
	dobj__object *o = new_object();
	dobj__undo u = {0};

	put(o, &u, "a", "1");
	put(o, &u, "b", "2");
	dobj__undo_discard(&u);
	dobj__object_committed(o);
	o->complete = false;

	cr_assert_eq(dobj__object_clear(o, &u), 0);
	cr_assert(o->complete && o->cleared);
	put(o, &u, "c", "3");
	cr_assert_str_eq(dump(o), "c=3");
	dobj__undo_rollback(&u, o, 0);
	cr_assert_str_eq(dump(o), "a=1,b=2");
	cr_assert(!o->complete && !o->cleared);
	cr_assert_eq(o->ndirty, 0);

	/* kept: the clear must still be committed, and tombstones go after the commit */
	cr_assert_eq(dobj__object_clear(o, &u), 0);
	put(o, &u, "d", "4");
	put(o, &u, "d", NULL);
	dobj__undo_discard(&u);
	cr_assert(o->cleared);
	cr_assert_gt(o->ndirty, 0);
	dobj__object_committed(o);
	cr_assert_eq(o->n, 0);
	cr_assert(!o->cleared);
	cr_assert_eq(o->ndirty, 0);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, values_stay_valid_until_the_turn_ends)
{
	dobj__object *o = new_object();
	dobj__undo u = {0};
	size_t idx;
	const uint8_t *v;

	put(o, &u, "a", "first");
	dobj__undo_discard(&u);
	cr_assert(dobj__object_find(o, "a", &idx));
	v = o->entries[idx].val;
	put(o, &u, "a", "second");
	put(o, &u, "a", NULL);
	/* the replaced buffer lives in the undo log until discard (ASan checks the read) */
	cr_assert_eq(memcmp(v, "first", 5), 0);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}

Test(object, lower_bound)
{
	dobj__object *o = new_object();
	dobj__undo u = {0};

	put(o, &u, "a", "1");
	put(o, &u, "c", "1");
	cr_assert_eq(dobj__object_lower_bound(o, "a", false), 0);
	cr_assert_eq(dobj__object_lower_bound(o, "a", true), 1);
	cr_assert_eq(dobj__object_lower_bound(o, "b", true), 1);
	cr_assert_eq(dobj__object_lower_bound(o, "d", false), 2);
	dobj__undo_fini(&u);
	dobj__object_free(o);
}
