// SPDX-License-Identifier: MIT
// storage_test.c - the storage API's checks and semantics on a fully loaded object, without
// a database (server/storage.c over server/object.c): limits, UTF-8, list edge cases,
// transactions.

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <dobj/storage.h>

#include "turn.h"

static const dobj_limits limits = {.key_max = 8, .value_max = 4, .many_max = 2};

static fx_turn f;

static void
setup(void)
{
	fx_turn_open(&f, "T", "m", &limits);
}

static void
teardown(void)
{
	fx_turn_close(&f);
}

TestSuite(storage, .init = setup, .fini = teardown);

Test(storage, limits_are_checked_before_anything_changes)
{
	dobj_kv two[] = {{"a", {(const uint8_t *)"1", 1}},
	                 {"toolongkey", {(const uint8_t *)"1", 1}}};
	const char *three[] = {"a", "b", "c"};
	dobj_bytes out[3];

	cr_assert_eq(dobj_storage_put(&f.ctx, "12345678", "v", 1), DOBJ_OK, "8 bytes is the limit");
	cr_assert_eq(dobj_storage_put(&f.ctx, "123456789", "v", 1), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx),
	                 "put: key of 9 bytes exceeds the limit of 8 bytes");
	cr_assert_eq(dobj_storage_put(&f.ctx, "k", "12345", 5), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_storage_put(&f.ctx, NULL, "1", 1), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_storage_put(&f.ctx, "k", NULL, 1), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_storage_get_many(&f.ctx, three, 3, out, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert(strstr(dobj_ctx_errmsg(&f.ctx), "3 keys exceed the limit of 2") != NULL);
	/* put_many is all or nothing */
	cr_assert_eq(dobj_storage_put_many(&f.ctx, two, 2), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_storage_get(&f.ctx, "a", &out[0]), DOBJ_NOT_FOUND);
	cr_assert_eq(f.ctx.obj->n, 1);
}

Test(storage, a_null_output_is_invalid_argument)
{
	const char *keys[] = {"a"};
	dobj_kv *kv;
	size_t n;

	cr_assert_eq(dobj_storage_get(&f.ctx, "a", NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "get: out is NULL");
	cr_assert_eq(dobj_storage_get_many(&f.ctx, keys, 1, NULL, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "get_many: out is NULL");
	cr_assert_eq(dobj_storage_list(&f.ctx, NULL, NULL, &n), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "list: out is NULL");
	cr_assert_eq(dobj_storage_list(&f.ctx, NULL, &kv, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "list: n is NULL");
}

Test(storage, keys_must_be_well_formed_utf8)
{
	static const char *const bad[] = {"\xff",         "\xc0\xaf",         "\xe0\x80\xaf",
	                                  "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xc3"};
	static const char *const good[] = {"", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(dobj_storage_put(&f.ctx, bad[i], "v", 1), DOBJ_INVALID_ARGUMENT,
		             "bad %zu", i);
		cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "put: key is not valid UTF-8");
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(dobj_storage_put(&f.ctx, good[i], "v", 1), DOBJ_OK, "good %zu", i);
}

static const char *
list_keys(const dobj_list_opts *o)
{
	static char buf[256];
	dobj_kv *kv;
	size_t n, off = 0;

	cr_assert_eq(dobj_storage_list(&f.ctx, o, &kv, &n), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.ctx));
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off +=
		    (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "", kv[i].key);
	return buf;
}

Test(storage, list_skips_deleted_keys_and_honours_every_option)
{
	static const char *const keys[] = {"a", "ab", "b", "ba", "c"};
	bool existed;

	for (int i = 0; i < 5; i++)
		cr_assert_eq(dobj_storage_put(&f.ctx, keys[i], "v", 1), DOBJ_OK);
	cr_assert_eq(dobj_storage_delete(&f.ctx, "b", &existed), DOBJ_OK);
	cr_assert(existed);
	cr_assert_eq(dobj_storage_delete(&f.ctx, "b", &existed), DOBJ_OK);
	cr_assert(!existed);
	cr_assert_str_eq(list_keys(NULL), "a,ab,ba,c");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.prefix = "b"}), "ba");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.start = "ab", .end = "c"}), "ab,ba");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.start_after = "ab", .limit = 1}), "ba");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.reverse = true, .limit = 2}), "c,ba");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.prefix = "a", .start = "b"}), "");
	cr_assert_str_eq(list_keys(&(dobj_list_opts){.start = "c", .end = "a"}), "");
}

static dobj_err
txn_put_then_fail(dobj_ctx *ctx, void *arg)
{
	(void)arg;
	dobj_storage_put(ctx, "in", "1", 1);
	dobj_storage_delete(ctx, "out", NULL);
	return dobj_ctx_errorf(ctx, DOBJ_ABORTED, "no");
}

Test(storage, failed_transaction_discards_only_its_writes)
{
	dobj_bytes v;

	cr_assert_eq(dobj_storage_put(&f.ctx, "out", "1", 1), DOBJ_OK);
	cr_assert_eq(dobj_storage_transaction(&f.ctx, txn_put_then_fail, NULL), DOBJ_ABORTED);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "no");
	cr_assert_eq(dobj_storage_get(&f.ctx, "in", &v), DOBJ_NOT_FOUND);
	cr_assert_eq(dobj_storage_get(&f.ctx, "out", &v), DOBJ_OK);
	cr_assert_eq(dobj_storage_transaction(&f.ctx, NULL, NULL), DOBJ_INVALID_ARGUMENT);
}
