// SPDX-License-Identifier: MIT
// listener_test.c - dobj__call_answer (server/listener.c) when the call's arena cannot grow:
// every reply stays well formed, an OK reply never carries an out-of-memory message, and a
// result that cannot be copied turns the reply into RESOURCE_EXHAUSTED, never an OK without
// its result. The arena's limit makes it refuse exactly as malloc failing would (NULL).

#include <string.h>

#include <criterion/criterion.h>

#include "call.h"

static dobj__call c;

/* full leaves room for `room` bytes in the arena's one chunk and refuses any other chunk. */
static void
full(size_t room)
{
	memset(&c, 0, sizeof(c));
	dobj__arena_init(&c.arena);
	if (room > 0) {
		cr_assert_not_null(dobj__arena_alloc(&c.arena, 1));
		c.arena.used = c.arena.total - room;
	}
	c.arena.limit = room > 0 ? c.arena.total : 1;
}

static void
fini(void)
{
	dobj__arena_fini(&c.arena);
}

TestSuite(listener, .fini = fini);

Test(listener, ok_reply_without_memory_has_no_message)
{
	full(0);
	cr_assert_eq(dobj__call_answer(&c, DOBJ_OK, "", NULL), DOBJ_OK);
	cr_assert_eq(c.status, DOBJ_OK);
	cr_assert_str_eq(c.message, "");
	cr_assert_null(c.result.data);
	cr_assert_eq(c.result.len, 0);
}

Test(listener, error_reply_without_memory_keeps_its_status)
{
	full(0);
	cr_assert_eq(dobj__call_answer(&c, DOBJ_NOT_FOUND, "unknown class \"Nope\"", NULL), DOBJ_OK,
	             "the status is recorded as given");
	cr_assert_eq(c.status, DOBJ_NOT_FOUND);
	cr_assert_str_eq(c.message, "out of memory copying this reply's message");
	cr_assert_eq(c.result.len, 0);
}

Test(listener, result_that_cannot_be_copied_is_resource_exhausted)
{
	static uint8_t big[8192];
	dobj_bytes result = {big, sizeof(big)};

	full(1024); /* the message fits, the result does not */
	cr_assert_eq(dobj__call_answer(&c, DOBJ_OK, "", &result), DOBJ_RESOURCE_EXHAUSTED);
	cr_assert_eq(c.status, DOBJ_RESOURCE_EXHAUSTED);
	cr_assert_str_eq(c.message, "out of memory copying the result");
	cr_assert_null(c.result.data);
	cr_assert_eq(c.result.len, 0);

	full(0); /* neither fits */
	cr_assert_eq(dobj__call_answer(&c, DOBJ_OK, "", &result), DOBJ_RESOURCE_EXHAUSTED);
	cr_assert_eq(c.status, DOBJ_RESOURCE_EXHAUSTED);
	cr_assert_str_eq(c.message, "out of memory copying the result");
	cr_assert_eq(c.result.len, 0);
}

Test(listener, answers_with_memory_are_copied)
{
	static const uint8_t res[] = {1, 2, 3};
	dobj_bytes result = {res, sizeof(res)};
	char msg[] = "state is \"done\"";

	memset(&c, 0, sizeof(c));
	cr_assert_eq(dobj__call_answer(&c, DOBJ_OK, "", &result), DOBJ_OK);
	cr_assert_eq(c.status, DOBJ_OK);
	cr_assert_str_eq(c.message, "");
	cr_assert_eq(c.result.len, sizeof(res));
	cr_assert_neq(c.result.data, res);
	cr_assert_arr_eq(c.result.data, res, sizeof(res));

	dobj__call_answer(&c, DOBJ_FAILED_PRECONDITION, msg, NULL); /* replaces the outcome */
	msg[0] = 'X';
	cr_assert_eq(c.status, DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(c.message, "state is \"done\"");
	cr_assert_eq(c.result.len, 0);
}

Test(listener, message_bytes_that_are_not_utf8_become_replacement_characters)
{
	/* a lone continuation byte, a truncated 3-byte form, an overlong '/', a surrogate */
	const char *bad = "a\x80 b\xe2\x82 c\xc0\xaf d\xed\xa0\x80 \xc3\xa9";

	memset(&c, 0, sizeof(c));
	cr_assert_eq(dobj__call_answer(&c, DOBJ_ABORTED, bad, NULL), DOBJ_OK);
	cr_assert_eq(c.status, DOBJ_ABORTED);
	cr_assert_str_eq(c.message,
	                 "a\xef\xbf\xbd b\xef\xbf\xbd\xef\xbf\xbd c\xef\xbf\xbd\xef\xbf\xbd "
	                 "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9");

	full(0); /* no room for the repaired copy either */
	cr_assert_eq(dobj__call_answer(&c, DOBJ_ABORTED, bad, NULL), DOBJ_OK);
	cr_assert_str_eq(c.message, "out of memory copying this reply's message");
}
