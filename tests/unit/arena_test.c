// SPDX-License-Identifier: MIT
// arena_test.c - the per-request bump allocator (server/arena.c).

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "arena.h"

Test(arena, allocations_are_aligned_and_distinct)
{
	dobj__arena a;
	char *prev = NULL;

	dobj__arena_init(&a);
	for (int i = 1; i < 2000; i++) {
		char *p = dobj__arena_alloc(&a, (size_t)(i % 37) + 1);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % alignof(max_align_t), 0);
		cr_assert_neq(p, prev);
		memset(p, 0xab, (size_t)(i % 37) + 1);
		prev = p;
	}
	dobj__arena_fini(&a);
}

Test(arena, large_allocations_and_reset_keep_one_chunk)
{
	dobj__arena a;
	char *big;

	dobj__arena_init(&a);
	big = dobj__arena_alloc(&a, 1 << 20);
	cr_assert_not_null(big);
	memset(big, 1, 1 << 20);
	cr_assert_geq(a.total, (size_t)1 << 20);
	dobj__arena_reset(&a);
	cr_assert_lt(a.total, (size_t)1 << 20, "reset should free the big chunk");
	cr_assert_not_null(dobj__arena_alloc(&a, 16));
	cr_assert_str_eq(dobj__arena_strndup(&a, "hello world", 5), "hello");
	dobj__arena_fini(&a);
	cr_assert_null(a.head);
}

Test(arena, a_limit_refuses_chunks_past_it_until_the_reset)
{
	dobj__arena a;

	dobj__arena_init(&a);
	a.limit = 64 << 10;
	cr_assert_not_null(dobj__arena_alloc(&a, 1000));
	cr_assert_null(dobj__arena_alloc(&a, 128 << 10));
	cr_assert(a.refused);
	cr_assert_leq(a.total, (size_t)64 << 10);
	dobj__arena_reset(&a);
	cr_assert_not(a.refused);
	cr_assert_eq(a.limit, 0);
	cr_assert_not_null(dobj__arena_alloc(&a, 128 << 10), "no limit after the reset");
	dobj__arena_fini(&a);
}
