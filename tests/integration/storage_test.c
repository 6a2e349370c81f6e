// SPDX-License-Identifier: MIT
// storage_test.c - every call of dobj/storage.h through a real dobjd (the TestKV class) and
// PostgreSQL: values and deletes, list options and key byte order, limits, transactions,
// failing handlers, and objects too big to load at once.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "stack.h"

FX_STACK_SUITE(storage, "dobjd-test", 120);

/* run runs ops on object `name`, asserting the call succeeds. */
static Dobj__Test__ScriptResult *
run(const char *name, Dobj__Test__Op **ops, size_t n)
{
	return fx_kv_run_ok(cl, name, ops, n);
}

static Dobj__Test__Op *
op_keys(const char *kind, const char *const *keys, size_t n)
{
	Dobj__Test__Op *op = fx_op(kind, NULL, NULL);

	op->keys = calloc(n ? n : 1, sizeof(char *));
	op->n_keys = n;
	for (size_t i = 0; i < n; i++)
		op->keys[i] = strdup(keys[i]);
	return op;
}

/* put_all stores key=key for every key, in one turn. */
static void
put_all(const char *name, const char *const *keys, size_t n)
{
	Dobj__Test__Op *ops[64];

	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++)
		ops[i] = fx_op("put", keys[i], keys[i]);
	dobj__test__script_result__free_unpacked(run(name, ops, n), NULL);
}

static Dobj__Test__Op *
op_list(const char *prefix, const char *start, const char *start_after, const char *end,
        int reverse, uint64_t limit)
{
	Dobj__Test__Op *op = fx_op("list", NULL, NULL);

	op->prefix = prefix ? strdup(prefix) : NULL;
	op->start = start ? strdup(start) : NULL;
	op->start_after = start_after ? strdup(start_after) : NULL;
	op->end = end ? strdup(end) : NULL;
	op->has_reverse = reverse >= 0;
	op->reverse = reverse > 0;
	op->has_limit = limit > 0;
	op->limit = limit;
	return op;
}

/* keys_of joins a list result's keys with commas. */
static void
keys_of(const Dobj__Test__OpResult *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < r->n_entries; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
		                        r->entries[i]->key);
}

static void
expect_list(const char *name, Dobj__Test__Op *op, const char *want)
{
	Dobj__Test__ScriptResult *r = run(name, &op, 1);
	char got[4096];

	cr_assert_eq(r->results[0]->status, DOBJ_OK, "list failed: %s", r->results[0]->message);
	keys_of(r->results[0], got, sizeof(got));
	cr_assert_str_eq(got, want);
	dobj__test__script_result__free_unpacked(r, NULL);
}

Test(storage, get_put_delete_report_what_they_did)
{
	Dobj__Test__Op *ops[] = {fx_op("get", "a", NULL),    fx_op("put", "a", "1"),
	                         fx_op("get", "a", NULL),    fx_op("delete", "a", NULL),
	                         fx_op("delete", "a", NULL), fx_op("get", "a", NULL),
	                         fx_op("put", "e", "")};
	Dobj__Test__ScriptResult *r = run("o1", ops, 7);

	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND);
	cr_assert_eq(r->results[1]->status, DOBJ_OK);
	cr_assert_eq(r->results[2]->status, DOBJ_OK);
	cr_assert_eq(r->results[2]->value.len, 1);
	cr_assert_eq(memcmp(r->results[2]->value.data, "1", 1), 0);
	cr_assert_eq(r->results[3]->count, 1, "first delete: key existed");
	cr_assert_eq(r->results[4]->count, 0, "second delete: key gone");
	cr_assert_eq(r->results[5]->status, DOBJ_NOT_FOUND);
	dobj__test__script_result__free_unpacked(r, NULL);

	/* an empty value is a value, and it is durable */
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	ops[0] = fx_op("get", "e", NULL);
	r = run("o1", ops, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_OK);
	cr_assert_eq(r->results[0]->value.len, 0);
	dobj__test__script_result__free_unpacked(r, NULL);
}

Test(storage, many_calls)
{
	static const char *const keys[] = {"k1", "k2", "k3"};
	static const char *const some[] = {"k1", "nope", "k3"};
	Dobj__Test__Op *put = op_keys("put_many", keys, 3);
	Dobj__Test__Op *ops[3];
	Dobj__Test__ScriptResult *r;

	put->values = calloc(3, sizeof(ProtobufCBinaryData));
	put->n_values = 3;
	for (int i = 0; i < 3; i++) {
		put->values[i].data = (uint8_t *)strdup(keys[i]);
		put->values[i].len = 2;
	}
	ops[0] = put;
	ops[1] = op_keys("get_many", some, 3);
	ops[2] = op_keys("delete_many", some, 3);
	r = run("m", ops, 3);
	cr_assert_eq(r->results[0]->status, DOBJ_OK);
	cr_assert_eq(r->results[1]->count, 2);
	cr_assert_eq(r->results[1]->n_entries, 2);
	cr_assert_str_eq(r->results[1]->entries[1]->key, "k3");
	cr_assert_eq(r->results[2]->count, 2);
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("m", op_list(NULL, NULL, NULL, NULL, -1, 0), "k2");
}

/* Keys in byte order, including non-ASCII: "B" < "a" < "aa" < "ab" < "b" < "é" < "日本". */
static const char *const order_keys[] = {"b", "aa", "日本", "a", "é", "ab", "B", "a\x7f"};

Test(storage, list_orders_keys_by_bytes)
{
	put_all("l", order_keys, 8);
	expect_list("l", op_list(NULL, NULL, NULL, NULL, -1, 0), "B,a,aa,ab,a\x7f,b,é,日本");
	expect_list("l", op_list(NULL, NULL, NULL, NULL, 1, 0), "日本,é,b,a\x7f,ab,aa,a,B");
}

Test(storage, list_options)
{
	put_all("l", order_keys, 8);
	expect_list("l", op_list("a", NULL, NULL, NULL, -1, 0), "a,aa,ab,a\x7f");
	expect_list("l", op_list("a", NULL, NULL, NULL, 1, 2), "a\x7f,ab");
	expect_list("l", op_list(NULL, "aa", NULL, NULL, -1, 0), "aa,ab,a\x7f,b,é,日本");
	expect_list("l", op_list(NULL, NULL, "aa", NULL, -1, 0), "ab,a\x7f,b,é,日本");
	expect_list("l", op_list(NULL, "a", NULL, "b", -1, 0), "a,aa,ab,a\x7f");
	expect_list("l", op_list(NULL, "a", NULL, "b", 1, 0), "a\x7f,ab,aa,a");
	expect_list("l", op_list(NULL, NULL, NULL, NULL, -1, 3), "B,a,aa");
	expect_list("l", op_list(NULL, NULL, NULL, NULL, 1, 3), "日本,é,b");
	expect_list("l", op_list("a", "ab", NULL, NULL, -1, 0), "ab,a\x7f");
	expect_list("l", op_list("zz", NULL, NULL, NULL, -1, 0), "");
	expect_list("l", op_list(NULL, NULL, "日本", NULL, -1, 0), "");
}

Test(storage, list_rejects_start_with_start_after)
{
	Dobj__Test__Op *op = op_list(NULL, "a", "b", NULL, -1, 0);
	Dobj__Test__ScriptResult *r = run("l", &op, 1);

	cr_assert_eq(r->results[0]->status, DOBJ_INVALID_ARGUMENT);
	cr_assert(strstr(r->results[0]->message, "start_after") != NULL);
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* A result bigger than a reply can carry fails its call (the client would otherwise drop
 * the connection and every call on it) and undoes the call's writes. */
Test(storage, a_result_too_big_for_a_reply_fails_the_call_and_undoes_it)
{
	enum { GETS = 130 }; /* 130 values of 128 KiB: over 16 MiB */
	Dobj__Test__Op *ops[GETS + 1];
	Dobj__Test__ScriptResult *r;
	char *big = malloc(128 * 1024 + 1), msg[512] = "";
	dobj_err rc;

	cr_assert_not_null(big);
	memset(big, 'v', 128 * 1024);
	big[128 * 1024] = '\0';
	ops[0] = fx_op("put", "big", big);
	r = run("huge", ops, 1);
	dobj__test__script_result__free_unpacked(r, NULL);
	free(big);
	ops[0] = fx_op("put", "marker", "1");
	for (int i = 1; i <= GETS; i++)
		ops[i] = fx_op("get", "big", NULL);
	rc = fx_kv_run(cl, "huge", ops, GETS + 1, &r, msg, sizeof(msg));
	cr_assert_eq(rc, DOBJ_RESOURCE_EXHAUSTED, "%s: %s", dobj_err_name(rc), msg);
	cr_assert(strstr(msg, "a reply can carry") != NULL, "%s", msg);
	ops[0] = fx_op("get", "marker", NULL);
	r = run("huge", ops, 1); /* the same client: its connection survived */
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND, "the put was undone");
	dobj__test__script_result__free_unpacked(r, NULL);
}

Test(storage, limits_are_enforced_with_invalid_argument)
{
	char *longkey = malloc(2050), *bigval = malloc(128 * 1024 + 2);
	const char *many[129];
	Dobj__Test__Op *ops[5];
	Dobj__Test__ScriptResult *r;

	memset(longkey, 'k', 2049);
	longkey[2049] = '\0';
	memset(bigval, 'v', 128 * 1024 + 1);
	bigval[128 * 1024 + 1] = '\0';
	for (int i = 0; i < 129; i++)
		many[i] = "x";
	ops[0] = fx_op("put", longkey, "v");
	ops[1] = fx_op("put", "big", bigval);
	ops[2] = op_keys("get_many", many, 129);
	ops[3] = fx_op("put", "bad\xff", "v");
	longkey[2048] = '\0';
	ops[4] = fx_op("put", longkey, "ok at the limit");
	r = run("lim", ops, 5);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(r->results[i]->status, DOBJ_INVALID_ARGUMENT, "op %d", i);
	cr_assert(strstr(r->results[0]->message, "exceeds the limit of 2048 bytes") != NULL, "%s",
	          r->results[0]->message);
	cr_assert(strstr(r->results[1]->message, "131072") != NULL, "%s", r->results[1]->message);
	cr_assert(strstr(r->results[2]->message, "128 keys") != NULL, "%s", r->results[2]->message);
	cr_assert(strstr(r->results[3]->message, "UTF-8") != NULL, "%s", r->results[3]->message);
	cr_assert_eq(r->results[4]->status, DOBJ_OK);
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("lim", op_list(NULL, NULL, NULL, NULL, -1, 0), longkey);
	free(longkey);
	free(bigval);
}

Test(storage, failing_handler_discards_the_turn)
{
	Dobj__Test__Op *ops[] = {fx_op("put", "keep", "1")};
	Dobj__Test__Op *bad[] = {fx_op("put", "gone", "1"), fx_op("delete", "keep", NULL),
	                         fx_op("delete_all", NULL, NULL), fx_op("fail", NULL, NULL)};
	Dobj__Test__ScriptResult *r;
	char msg[256];

	dobj__test__script_result__free_unpacked(run("f", ops, 1), NULL);
	cr_assert_eq(fx_kv_run(cl, "f", bad, 4, &r, msg, sizeof(msg)), DOBJ_ABORTED);
	cr_assert_str_eq(msg, "script failed on purpose");
	expect_list("f", op_list(NULL, NULL, NULL, NULL, -1, 0), "keep");
	/* and nothing of it reached PostgreSQL */
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	expect_list("f", op_list(NULL, NULL, NULL, NULL, -1, 0), "keep");
}

Test(storage, transaction_rollback_discards_exactly_its_writes)
{
	Dobj__Test__Op *txn = fx_op("txn", NULL, NULL), *inner = fx_op("txn", NULL, NULL);
	Dobj__Test__Op *ops[] = {fx_op("put", "before", "1"), txn, fx_op("put", "after", "1")};
	Dobj__Test__ScriptResult *r;

	/* outer txn: put t1, then an inner txn that puts t2 and fails; the outer one keeps t1 */
	inner->ops = calloc(2, sizeof(*inner->ops));
	inner->ops[0] = fx_op("put", "t2", "x");
	inner->ops[1] = fx_op("delete", "before", NULL);
	inner->n_ops = 2;
	inner->has_fail = 1;
	inner->fail = 1;
	txn->ops = calloc(2, sizeof(*txn->ops));
	txn->ops[0] = fx_op("put", "t1", "x");
	txn->ops[1] = inner;
	txn->n_ops = 2;
	r = run("t", ops, 3);
	cr_assert_eq(r->results[1]->status, DOBJ_OK);
	cr_assert_eq(r->results[1]->results[1]->status, DOBJ_ABORTED);
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("t", op_list(NULL, NULL, NULL, NULL, -1, 0), "after,before,t1");

	/* a failing outer transaction discards its nested writes too */
	txn->has_fail = 1;
	txn->fail = 1;
	inner->fail = 0;
	ops[0] = fx_op("put", "p", "1");
	r = run("t2", ops, 3);
	cr_assert_eq(r->results[1]->status, DOBJ_ABORTED);
	dobj__test__script_result__free_unpacked(r, NULL);
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	expect_list("t2", op_list(NULL, NULL, NULL, NULL, -1, 0), "after,p");
}

Test(storage, delete_all_then_put_in_one_turn)
{
	static const char *const keys[] = {"a", "b", "c"};
	Dobj__Test__Op *ops[] = {fx_op("delete_all", NULL, NULL), fx_op("put", "b", "new")};

	put_all("d", keys, 3);
	dobj__test__script_result__free_unpacked(run("d", ops, 2), NULL);
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	expect_list("d", op_list(NULL, NULL, NULL, NULL, -1, 0), "b");
}

/* An object bigger than --load-all-max-keys is loaded in part; reads and lists must still see
 * exactly what is stored, merged with the writes not yet committed. */
Test(storage, partially_loaded_object_reads_and_lists_correctly)
{
	static const char *const args[] = {"--load-all-max-keys", "3", NULL};
	static const char *const keys[] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
	Dobj__Test__Op *ops[4];
	Dobj__Test__ScriptResult *r;

	put_all("p", keys, 8);
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, args);

	ops[0] = fx_op("delete", "k6", NULL);
	ops[1] = fx_op("put", "k35", "new");
	ops[2] = fx_op("get", "k7", NULL);
	ops[3] = fx_op("get", "zz", NULL);
	r = run("p", ops, 4);
	cr_assert_eq(r->results[0]->count, 1);
	cr_assert_eq(r->results[2]->status, DOBJ_OK);
	cr_assert_eq(r->results[3]->status, DOBJ_NOT_FOUND);
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("p", op_list(NULL, NULL, NULL, NULL, -1, 0), "k0,k1,k2,k3,k35,k4,k5,k7");
	expect_list("p", op_list(NULL, NULL, NULL, NULL, 1, 3), "k7,k5,k4");
	expect_list("p", op_list(NULL, "k3", NULL, NULL, -1, 2), "k3,k35");
	expect_list("p", op_list("k3", NULL, NULL, NULL, -1, 0), "k3,k35");

	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, args);
	expect_list("p", op_list(NULL, NULL, "k4", NULL, -1, 0), "k5,k7");
	expect_list("p", op_list(NULL, NULL, NULL, "k2", 1, 0), "k1,k0");

	/* "no limit" as the largest count, with two keys cached: the over-fetch (limit + 2)
	 * must not wrap round to 1 row */
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, args);
	ops[0] = fx_op("get", "k1", NULL);
	ops[1] = fx_op("get", "k2", NULL);
	r = run("p", ops, 2);
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("p", op_list(NULL, NULL, NULL, NULL, -1, UINT64_MAX),
	            "k0,k1,k2,k3,k35,k4,k5,k7");
}

/* A batch whose COMMIT fails: the caller hears UNAVAILABLE with PostgreSQL's reason, and the
 * object forgets the writes PostgreSQL refused (it is reloaded on the next call). */
Test(storage, failed_commit_answers_unavailable_and_reloads_the_object)
{
	Dobj__Test__Op *ok[] = {fx_op("put", "good", "1")};
	Dobj__Test__Op *bad[] = {fx_op("put", "good", "2"), fx_op("put", "poison", "x")};
	Dobj__Test__Op *get = fx_op("get", "good", NULL);
	Dobj__Test__ScriptResult *r;
	char msg[512];

	dobj__test__script_result__free_unpacked(run("c", ok, 1), NULL);
	free(fx_db_query1(&db, "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                       "BEGIN IF NEW.key = 'poison' THEN RAISE EXCEPTION 'poisoned key'; "
	                       "END IF; RETURN NEW; END $$; "
	                       "CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON dobj_storage "
	                       "FOR EACH ROW EXECUTE FUNCTION poison()"));

	cr_assert_eq(fx_kv_run(cl, "c", bad, 2, &r, msg, sizeof(msg)), DOBJ_UNAVAILABLE);
	cr_assert(strstr(msg, "poisoned key") != NULL, "message: %s", msg);
	r = run("c", &get, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_OK);
	cr_assert_eq(r->results[0]->value.len, 1);
	cr_assert_eq(r->results[0]->value.data[0], '1', "the refused write is still visible");
	dobj__test__script_result__free_unpacked(r, NULL);
	expect_list("c", op_list(NULL, NULL, NULL, NULL, -1, 0), "good");
}

/* Cold objects that arrive together are activated together (one query for a batch): each
 * must still get exactly its own keys, including objects too big to load whole. */
typedef struct cold_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int left, bad;
	char why[256];
} cold_wait;

static void
cold_cb(void *arg, dobj_reply *reply)
{
	cold_wait *w = arg;
	Dobj__Test__ScriptResult *r = NULL;
	char want[64];
	bool ok = reply->status == DOBJ_OK &&
	          (r = dobj__test__script_result__unpack(NULL, reply->len, reply->data)) != NULL &&
	          r->n_results == 1 && r->results[0]->n_entries == 5;

	for (size_t i = 0; ok && i < 5; i++) {
		Dobj__Test__Entry *e = r->results[0]->entries[i];
		snprintf(want, sizeof(want), "k%zu", i);
		ok = strcmp(e->key, want) == 0 && e->value.len > 0 &&
		     strncmp((const char *)e->value.data, "cold-", 5) == 0;
	}
	pthread_mutex_lock(&w->mu);
	if (!ok && w->bad++ == 0)
		snprintf(w->why, sizeof(w->why), "%s: %s (%zu entries)",
		         dobj_err_name(reply->status), reply->message,
		         r && r->n_results ? r->results[0]->n_entries : 0);
	if (--w->left == 0)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (r != NULL)
		dobj__test__script_result__free_unpacked(r, NULL);
}

Test(storage, cold_objects_activated_together_get_their_own_keys)
{
	static const char *const args[] = {"--load-all-max-keys", "3", "--shards", "1", NULL};
	enum { N = 60 };
	cold_wait w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, N, 0, ""};
	Dobj__Test__Op *list = op_list(NULL, NULL, NULL, NULL, -1, 0);
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	uint8_t buf[64];
	size_t len;

	for (int i = 0; i < N; i++) {
		char name[32], val[32], key[8];
		Dobj__Test__Op *ops[5];
		snprintf(name, sizeof(name), "cold-%d", i);
		for (int k = 0; k < 5; k++) {
			snprintf(key, sizeof(key), "k%d", k);
			snprintf(val, sizeof(val), "cold-%d-%d", i, k);
			ops[k] = fx_op("put", key, val);
		}
		dobj__test__script_result__free_unpacked(run(name, ops, 5), NULL);
	}
	fx_stack_restart(&db, &srv, &cl, args);

	script.ops = &list;
	script.n_ops = 1;
	len = dobj__test__script__pack(&script, buf);
	for (int i = 0; i < N; i++) {
		char name[32];
		dobj_stub s;
		snprintf(name, sizeof(name), "cold-%d", i);
		cr_assert_eq(dobj_singleton(cl, "TestKV", name, &s), DOBJ_OK);
		cr_assert_eq(dobj_call_async(&s, "run", buf, len, NULL, cold_cb, &w), DOBJ_OK);
	}
	pthread_mutex_lock(&w.mu);
	while (w.left > 0)
		pthread_cond_wait(&w.cv, &w.mu);
	pthread_mutex_unlock(&w.mu);
	cr_assert_eq(w.bad, 0, "%d objects read wrong: first: %s", w.bad, w.why);
}
