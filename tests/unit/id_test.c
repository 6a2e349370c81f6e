// SPDX-License-Identifier: MIT
// id_test.c - object ids: names hash to stable ids, hex round trips, bad hex is rejected,
// random ids differ, shards are in range.

#include <string.h>

#include <criterion/criterion.h>

#include <dobj/id.h>

/* printf 'Counter\0global' | sha256sum */
#define COUNTER_GLOBAL_HEX "50acc872015e4f0052bc614ea2168057004165518c7263ee42ee592106661961"

Test(id, same_name_gives_same_id)
{
	dobj_id a, b;

	cr_assert_eq(dobj_id_from_name("Counter", "global", &a), DOBJ_OK);
	cr_assert_eq(dobj_id_from_name("Counter", "global", &b), DOBJ_OK);
	cr_assert(dobj_id_equal(&a, &b));
}

Test(id, different_class_or_name_gives_different_id)
{
	dobj_id a, b, c, d;

	cr_assert_eq(dobj_id_from_name("Counter", "global", &a), DOBJ_OK);
	cr_assert_eq(dobj_id_from_name("Order", "global", &b), DOBJ_OK);
	cr_assert_eq(dobj_id_from_name("Counter", "other", &c), DOBJ_OK);
	/* the 0 byte separates class and name: ("Counte", "rglobal") is another object */
	cr_assert_eq(dobj_id_from_name("Counte", "rglobal", &d), DOBJ_OK);
	cr_assert_not(dobj_id_equal(&a, &b));
	cr_assert_not(dobj_id_equal(&a, &c));
	cr_assert_not(dobj_id_equal(&a, &d));
}

Test(id, from_name_is_sha256_of_class_zero_name)
{
	char hex[DOBJ_ID_HEX_SIZE];
	dobj_id id;

	cr_assert_eq(dobj_id_from_name("Counter", "global", &id), DOBJ_OK);
	dobj_id_to_string(&id, hex);
	cr_assert_str_eq(hex, COUNTER_GLOBAL_HEX);
}

Test(id, from_name_rejects_null)
{
	dobj_id id;

	cr_assert_eq(dobj_id_from_name(NULL, "global", &id), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_id_from_name("Counter", NULL, &id), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_id_from_name("Counter", "global", NULL), DOBJ_INVALID_ARGUMENT);
}

Test(id, hex_round_trip)
{
	char hex[DOBJ_ID_HEX_SIZE];
	dobj_id a, b;

	cr_assert_eq(dobj_id_unique(&a), DOBJ_OK);
	dobj_id_to_string(&a, hex);
	cr_assert_eq(strlen(hex), 64);
	for (size_t i = 0; i < 64; i++)
		cr_assert(strchr("0123456789abcdef", hex[i]) != NULL, "char %zu is '%c'", i,
		          hex[i]);
	cr_assert_eq(dobj_id_from_string(hex, &b), DOBJ_OK);
	cr_assert(dobj_id_equal(&a, &b));
}

Test(id, uppercase_hex_is_accepted)
{
	char upper[DOBJ_ID_HEX_SIZE];
	dobj_id a, b;

	for (size_t i = 0; i < 64; i++)
		upper[i] = (char)(COUNTER_GLOBAL_HEX[i] >= 'a' ? COUNTER_GLOBAL_HEX[i] - 32
		                                               : COUNTER_GLOBAL_HEX[i]);
	upper[64] = '\0';
	cr_assert_eq(dobj_id_from_string(upper, &a), DOBJ_OK);
	cr_assert_eq(dobj_id_from_string(COUNTER_GLOBAL_HEX, &b), DOBJ_OK);
	cr_assert(dobj_id_equal(&a, &b));
}

Test(id, bad_hex_is_rejected_and_leaves_output_untouched)
{
	static const char *const bad[] = {
	    "",
	    "00",
	    COUNTER_GLOBAL_HEX "0",                                             /* 65 chars */
	    "50acc872015e4f0052bc614ea2168057004165518c7263ee42ee59210666196",  /* 63 chars */
	    "50acc872015e4f0052bc614ea2168057004165518c7263ee42ee59210666196g", /* non-hex */
	    "50acc872015e4f0052bc614ea2168057004165518c7263ee42ee59210666196 ", /* space */
	    "0x0cc872015e4f0052bc614ea2168057004165518c7263ee42ee592106661961", /* prefix */
	};
	dobj_id id, before;

	memset(&id, 0xab, sizeof(id));
	before = id;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(dobj_id_from_string(bad[i], &id), DOBJ_INVALID_ARGUMENT,
		             "input \"%s\"", bad[i]);
		cr_assert(dobj_id_equal(&id, &before), "input \"%s\" changed the output", bad[i]);
	}
	cr_assert_eq(dobj_id_from_string(NULL, &id), DOBJ_INVALID_ARGUMENT);
	cr_assert(dobj_id_equal(&id, &before));
}

Test(id, unique_ids_differ)
{
	dobj_id ids[64];

	for (size_t i = 0; i < 64; i++) {
		cr_assert_eq(dobj_id_unique(&ids[i]), DOBJ_OK);
		for (size_t j = 0; j < i; j++)
			cr_assert_not(dobj_id_equal(&ids[i], &ids[j]), "ids %zu and %zu equal", i,
			              j);
	}
}

Test(id, shard_is_in_range_and_stable)
{
	static const unsigned counts[] = {1, 2, 3, 7, 16, 1000};
	dobj_id id;

	for (int n = 0; n < 200; n++) {
		cr_assert_eq(dobj_id_unique(&id), DOBJ_OK);
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
			unsigned s = dobj_id_shard(&id, counts[i]);
			cr_assert_lt(s, counts[i]);
			cr_assert_eq(dobj_id_shard(&id, counts[i]), s);
		}
	}
}

Test(id, shard_uses_first_eight_bytes_big_endian)
{
	dobj_id id;

	memset(&id, 0, sizeof(id));
	id.bytes[7] = 10;   /* value 10 */
	id.bytes[8] = 0xff; /* beyond the first 8 bytes: ignored */
	cr_assert_eq(dobj_id_shard(&id, 4), 2);
	id.bytes[6] = 1; /* value 256 + 10 = 266 */
	cr_assert_eq(dobj_id_shard(&id, 7), 266 % 7);
}
