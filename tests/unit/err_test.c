// SPDX-License-Identifier: MIT
// err_test.c - every dobj_err has a distinct name and a description; names parse back.

#include <string.h>

#include <criterion/criterion.h>

#include <dobj/err.h>

Test(err, every_code_has_a_distinct_name_and_a_description)
{
	for (int i = 0; i < DOBJ_ERR_COUNT; i++) {
		const char *name = dobj_err_name((dobj_err)i);
		const char *desc = dobj_err_str((dobj_err)i);

		cr_assert_not_null(name, "code %d", i);
		cr_assert_not_null(desc, "code %d", i);
		cr_assert_gt(strlen(name), 0, "code %d", i);
		cr_assert_gt(strlen(desc), 0, "code %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(name, dobj_err_name((dobj_err)j), "codes %d and %d", i,
			                  j);
	}
}

Test(err, codes_are_grpc_status_codes)
{
	cr_assert_eq(DOBJ_OK, 0);
	cr_assert_eq(DOBJ_INVALID_ARGUMENT, 3);
	cr_assert_eq(DOBJ_FAILED_PRECONDITION, 9);
	cr_assert_eq(DOBJ_UNAVAILABLE, 14);
	cr_assert_eq(DOBJ_UNAUTHENTICATED, DOBJ_ERR_COUNT - 1);
	cr_assert_str_eq(dobj_err_name(DOBJ_DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
}

Test(err, name_round_trip)
{
	for (int i = 0; i < DOBJ_ERR_COUNT; i++) {
		dobj_err out = (dobj_err)-1;

		cr_assert_eq(dobj_err_from_name(dobj_err_name((dobj_err)i), &out), DOBJ_OK);
		cr_assert_eq(out, (dobj_err)i);
	}
}

Test(err, unknown_names_are_rejected)
{
	dobj_err out = DOBJ_ABORTED;

	cr_assert_eq(dobj_err_from_name("NO_SUCH_CODE", &out), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_err_from_name("invalid_argument", &out), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_err_from_name("", &out), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_err_from_name(NULL, &out), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(out, DOBJ_ABORTED);
}

Test(err, out_of_range_values_are_unknown)
{
	cr_assert_str_eq(dobj_err_name((dobj_err)DOBJ_ERR_COUNT), "UNKNOWN");
	cr_assert_str_eq(dobj_err_name((dobj_err)-1), "UNKNOWN");
	cr_assert_str_eq(dobj_err_name((dobj_err)1000), "UNKNOWN");
	cr_assert_gt(strlen(dobj_err_str((dobj_err)DOBJ_ERR_COUNT)), 0);
	cr_assert_gt(strlen(dobj_err_str((dobj_err)-1)), 0);
}
