// SPDX-License-Identifier: MIT
// pgarr_test.c - binary PostgreSQL arrays (server/pgarr.c): the layout, and appending one
// array to another, which is how the commit thread joins the shards' parts.

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "pgarr.h"

#define OID_BYTEA 17

static uint32_t
word(const dobj__pgarr *a, size_t at)
{
	uint32_t v;

	memcpy(&v, a->buf + at, 4);
	return ntohl(v);
}

static void
build(dobj__pgarr *a, const char *const *els, size_t n)
{
	dobj__pgarr_begin(a, OID_BYTEA);
	for (size_t i = 0; i < n; i++)
		dobj__pgarr_add(a, els[i], strlen(els[i]));
}

Test(pgarr, layout_is_array_send)
{
	static const char *const els[] = {"ab", ""};
	dobj__pgarr a = {0};

	build(&a, els, 2);
	dobj__pgarr_end(&a);
	cr_assert_eq(a.count, 2);
	cr_assert_eq(word(&a, 0), 1);         /* ndim */
	cr_assert_eq(word(&a, 4), 0);         /* no nulls */
	cr_assert_eq(word(&a, 8), OID_BYTEA); /* element type */
	cr_assert_eq(word(&a, 12), 2);        /* length */
	cr_assert_eq(word(&a, 16), 1);        /* lower bound */
	cr_assert_eq(word(&a, 20), 2);
	cr_assert_eq(memcmp(a.buf + 24, "ab", 2), 0);
	cr_assert_eq(word(&a, 26), 0);
	cr_assert_eq(a.len, 30);
	free(a.buf);
}

Test(pgarr, appended_arrays_equal_one_built_whole)
{
	static const char *const all[] = {"one", "two", "three", "four"};
	dobj__pgarr whole = {0}, head = {0}, tail = {0}, empty = {0};

	build(&whole, all, 4);
	dobj__pgarr_end(&whole);
	build(&head, all, 1);
	dobj__pgarr_end(&head);
	build(&tail, all + 1, 3);
	dobj__pgarr_end(&tail);
	build(&empty, NULL, 0);
	dobj__pgarr_end(&empty);

	dobj__pgarr joined = {0};
	dobj__pgarr_begin(&joined, OID_BYTEA);
	dobj__pgarr_append(&joined, &head);
	dobj__pgarr_append(&joined, &empty);
	dobj__pgarr_append(&joined, &tail);
	dobj__pgarr_end(&joined);
	cr_assert_eq(joined.count, 4);
	cr_assert_eq(joined.len, whole.len);
	cr_assert_eq(memcmp(joined.buf, whole.buf, whole.len), 0);

	/* begin reuses the buffer: a second join starts from nothing */
	dobj__pgarr_begin(&joined, OID_BYTEA);
	dobj__pgarr_append(&joined, &tail);
	dobj__pgarr_end(&joined);
	cr_assert_eq(joined.count, 3);
	cr_assert_eq(joined.len, tail.len);
	cr_assert_eq(memcmp(joined.buf, tail.buf, tail.len), 0);

	free(whole.buf);
	free(head.buf);
	free(tail.buf);
	free(empty.buf);
	free(joined.buf);
}

Test(pgarr, appending_a_failed_array_fails_the_join)
{
	static const char *const els[] = {"x"};
	dobj__pgarr src = {0}, joined = {0};

	build(&src, els, 1);
	src.oom = true;
	dobj__pgarr_begin(&joined, OID_BYTEA);
	dobj__pgarr_append(&joined, &src);
	cr_assert(joined.oom);
	free(src.buf);
	free(joined.buf);
}
