// SPDX-License-Identifier: MIT
// claims_test.c - the poller's set of claimed alarm calls (server/claims.c): found by class,
// id and due time together, through the table's growth, visited once each, and gone once
// removed.

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "claims.h"

#define N 5000

/* two distinct class registrations: only their addresses matter to the set */
static const struct dobj__class_reg *const cls_a = (const void *)0x1000;
static const struct dobj__class_reg *const cls_b = (const void *)0x2000;

static void
make(dobj__call *c, const struct dobj__class_reg *cls, unsigned i, int64_t due)
{
	memset(c, 0, sizeof(*c));
	c->cls = cls;
	/* ids that share their first bytes, unlike SHA-256 output: a worst case for the hash */
	c->id.bytes[DOBJ_ID_SIZE - 1] = (uint8_t)i;
	c->id.bytes[DOBJ_ID_SIZE - 2] = (uint8_t)(i >> 8);
	c->alarm_due_ms = due;
}

Test(claims, found_by_class_id_and_due_together)
{
	dobj__claims s = {0};
	dobj__call c;
	dobj_id other;

	make(&c, cls_a, 7, 1000);
	cr_assert_null(dobj__claims_find(&s, cls_a, &c.id, 1000), "empty set");
	dobj__claims_add(&s, &c);
	cr_assert_eq(dobj__claims_find(&s, cls_a, &c.id, 1000), &c);
	cr_assert_null(dobj__claims_find(&s, cls_a, &c.id, 1001),
	               "another due time, another alarm");
	cr_assert_null(dobj__claims_find(&s, cls_b, &c.id, 1000), "another class, another object");
	other = c.id;
	other.bytes[0] ^= 1;
	cr_assert_null(dobj__claims_find(&s, cls_a, &other, 1000));
	dobj__claims_remove(&s, &c);
	cr_assert_null(dobj__claims_find(&s, cls_a, &c.id, 1000));
	cr_assert_eq(s.n, 0);
	dobj__claims_remove(&s, &c); /* not there: nothing happens */
	cr_assert_eq(s.n, 0);
	dobj__claims_fini(&s);
}

static size_t each_count;

static void
count_one(dobj__call *c, void *arg)
{
	cr_assert_eq(arg, &each_count);
	cr_assert_eq(c->alarm_due_ms % 2, 1, "a removed call was visited");
	each_count++;
}

Test(claims, many_through_growth_then_half_removed)
{
	dobj__claims s = {0};
	dobj__call *c = calloc(N, sizeof(*c));

	cr_assert_not_null(c);
	for (unsigned i = 0; i < N; i++) {
		make(&c[i], i % 3 ? cls_a : cls_b, i, 1000 + i);
		dobj__claims_add(&s, &c[i]);
	}
	cr_assert_eq(s.n, N);
	cr_assert_geq(s.nbuckets, N, "the table grew with its contents");
	for (unsigned i = 0; i < N; i += 2)
		dobj__claims_remove(&s, &c[i]);
	cr_assert_eq(s.n, N / 2);
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(dobj__claims_find(&s, c[i].cls, &c[i].id, c[i].alarm_due_ms),
		             i % 2 == 1 ? &c[i] : NULL, "call %u", i);
	dobj__claims_each(&s, count_one, &each_count);
	cr_assert_eq(each_count, N / 2, "each visits every call once");
	dobj__claims_fini(&s);
	cr_assert_eq(s.nbuckets, 0);
	free(c);
}
