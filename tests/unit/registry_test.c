// SPDX-License-Identifier: MIT
// registry_test.c - what dobj__registry_add refuses: names a client could not call (empty,
// longer than a stub holds, not UTF-8), methods without a function, repeated names.

#include <string.h>

#include <criterion/criterion.h>

#include <dobj/client.h>

#include "registry.h"

static dobj_err
noop(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	(void)ctx;
	*result = *arg;
	return DOBJ_OK;
}

static dobj_err
add(dobj__registry *r, const char *name, const char *method)
{
	dobj_method m = {.name = method, .fn = noop};
	dobj_class c = {.name = name, .methods = &m, .nmethods = 1};

	return dobj__registry_add(r, &c);
}

Test(registry, refuses_names_a_client_could_not_call)
{
	dobj__registry r = {0};
	char longest[DOBJ_CLASS_NAME_MAX + 2];

	memset(longest, 'c', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	cr_assert_eq(add(&r, longest, "m"), DOBJ_INVALID_ARGUMENT, "a name over 127 bytes");
	longest[DOBJ_CLASS_NAME_MAX] = '\0';
	cr_assert_eq(add(&r, longest, "m"), DOBJ_OK, "a name of 127 bytes");
	cr_assert_not_null(dobj__registry_find(&r, longest, DOBJ_CLASS_NAME_MAX));
	cr_assert_eq(add(&r, "", "m"), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(add(&r, "Bad\xff", "m"), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(add(&r, "Caf\xc3\xa9", "m"), DOBJ_OK);
	cr_assert_eq(add(&r, "Other", "bad\xc3"), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(add(&r, "Other", ""), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(add(&r, "Caf\xc3\xa9", "m"), DOBJ_ALREADY_EXISTS);
	dobj__registry_fini(&r);
}

Test(registry, refuses_a_method_without_a_function_or_twice)
{
	dobj__registry r = {0};
	dobj_method twice[] = {{.name = "m", .fn = noop}, {.name = "m", .fn = noop}};
	dobj_method nofn = {.name = "m", .fn = NULL};
	dobj_class c = {.name = "C", .methods = twice, .nmethods = 2};

	cr_assert_eq(dobj__registry_add(&r, &c), DOBJ_INVALID_ARGUMENT);
	c.methods = &nofn;
	c.nmethods = 1;
	cr_assert_eq(dobj__registry_add(&r, &c), DOBJ_INVALID_ARGUMENT);
	c.methods = twice;
	cr_assert_eq(dobj__registry_add(&r, &c), DOBJ_OK);
	dobj__registry_fini(&r);
}
