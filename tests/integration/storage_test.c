// SPDX-License-Identifier: MIT
// storage_test.c - every call of dobj/storage.h through a real dobjd (the TestKV class) and
// PostgreSQL: values and deletes, list options and key byte order, limits, transactions,
// failing handlers, and objects too big to load at once.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "stack.h"

FX_STACK_SUITE(storage, "dobjd-test", 120);

/* run runs ops on object `name`, asserting the call succeeds. */
static Dobj__Test__ScriptResult *
run(const char *name, Dobj__Test__Op **ops, size_t n)
{
	Dobj__Test__ScriptResult *r;
	char msg[512] = "";
	dobj_err rc = fx_kv_run(cl, name, ops, n, &r, msg, sizeof(msg));

	cr_assert_eq(rc, DOBJ_OK, "script failed: %s: %s", dobj_err_name(rc), msg);
	cr_assert_eq(r->n_results, n);
	return r;
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

/* The pipelined commit: a call that runs while an earlier commit is in flight may read that
 * commit's writes, so when the earlier commit fails, the later call fails too and no reply
 * shows state that never became durable. */
typedef struct one_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	dobj_err status;
	char message[256];
} one_wait;

static void
one_cb(void *arg, dobj_reply *reply)
{
	one_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	w->status = reply->status;
	snprintf(w->message, sizeof(w->message), "%s", reply->message);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
one_wait_done(one_wait *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

Test(storage, a_call_that_read_a_failed_commits_writes_fails_with_it)
{
	static const char *const args[] = {"--shards", "1", NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	Dobj__Test__Op *ops[3], *get = fx_op("get", "x", NULL);
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	Dobj__Test__ScriptResult *r;
	char started[64], msg[512];
	uint8_t buf[256];
	dobj_stub s;
	size_t len;

	fx_stack_restart(&db, &srv, &cl, args);
	/* the commit that writes 'poison' takes 1 s, then fails */
	free(fx_db_query1(&db,
	                  "CREATE FUNCTION slow_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                  "BEGIN IF NEW.key = 'poison' THEN PERFORM pg_sleep(1); "
	                  "RAISE EXCEPTION 'poisoned key'; END IF; RETURN NEW; END $$; "
	                  "CREATE TRIGGER slow_poison BEFORE INSERT OR UPDATE ON dobj_storage "
	                  "FOR EACH ROW EXECUTE FUNCTION slow_poison()"));

	/* A writes x and poison; its turn creates `started`, then holds the shard for 300 ms */
	snprintf(started, sizeof(started), "/tmp/dobj-pipeline-%ld", (long)getpid());
	unlink(started);
	ops[0] = fx_op("put", "x", "1");
	ops[1] = fx_op("put", "poison", "p");
	ops[2] = fx_op("sleep", started, NULL);
	ops[2]->has_sleep_ms = 1;
	ops[2]->sleep_ms = 300; /* B queues meanwhile, and runs right after A's commit is sent */
	script.ops = ops;
	script.n_ops = 3;
	len = dobj__test__script__pack(&script, buf);
	cr_assert_eq(dobj_singleton(cl, "TestKV", "pipe", &s), DOBJ_OK);
	cr_assert_eq(dobj_call_async(&s, "run", buf, len, NULL, one_cb, &a), DOBJ_OK);
	for (int waited = 0; access(started, F_OK) != 0; waited++) {
		cr_assert_lt(waited, 10000, "A did not run");
		fx_nap_ms(1);
	}
	unlink(started);

	/* B runs while A's commit is in flight and reads A's x: it must not answer 1 */
	{
		dobj_err rc = fx_kv_run(cl, "pipe", &get, 1, &r, msg, sizeof(msg));
		cr_assert_eq(rc, DOBJ_UNAVAILABLE,
		             "B answered %s (get: %s) although the commit it read from failed",
		             dobj_err_name(rc),
		             rc == DOBJ_OK ? dobj_err_name((dobj_err)r->results[0]->status) : msg);
	}
	cr_assert(strstr(msg, "an earlier commit this call depended on failed") != NULL &&
	              strstr(msg, "poisoned key") != NULL,
	          "B: %s", msg);
	one_wait_done(&a);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE);
	cr_assert(strstr(a.message, "poisoned key") != NULL, "A: %s", a.message);

	/* and the object was reloaded: x never existed */
	r = run("pipe", &get, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND);
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* name_in_shard writes into buf a TestKV object name, starting with prefix, that shard
 * `shard` of nshards owns. */
static void
name_in_shard(const char *prefix, unsigned shard, unsigned nshards, char *buf, size_t len)
{
	for (int i = 0; i < 1000; i++) {
		dobj_stub s;
		snprintf(buf, len, "%s%d", prefix, i);
		cr_assert_eq(dobj_singleton(cl, "TestKV", buf, &s), DOBJ_OK);
		if (dobj_id_shard(&s.id, nshards) == shard)
			return;
	}
	cr_assert_fail("no name for shard %u", shard);
}

/* metric reads one unlabelled counter from /metrics. */
static uint64_t
metric(int port, const char *name)
{
	static char body[65536];
	char *at;

	cr_assert_eq(fx_http_get(port, "/metrics", body, sizeof(body)), 200);
	for (at = body; (at = strstr(at, name)) != NULL; at++)
		if ((at == body || at[-1] == '\n') && at[strlen(name)] == ' ')
			return strtoull(at + strlen(name) + 1, NULL, 10);
	cr_assert_fail("no %s in /metrics", name);
	return 0;
}

/* call_async_cb runs ops on TestKV object name, its reply going to cb (which ends with
 * one_cb(w, reply)). */
static void
call_async_cb(const char *name, Dobj__Test__Op **ops, size_t n, dobj_call_cb cb, one_wait *w)
{
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	uint8_t buf[512];
	dobj_stub s;

	script.ops = ops;
	script.n_ops = n;
	cr_assert_leq(dobj__test__script__get_packed_size(&script), sizeof(buf));
	cr_assert_eq(dobj_singleton(cl, "TestKV", name, &s), DOBJ_OK);
	cr_assert_eq(
	    dobj_call_async(&s, "run", buf, dobj__test__script__pack(&script, buf), NULL, cb, w),
	    DOBJ_OK);
}

static void
call_async(const char *name, Dobj__Test__Op **ops, size_t n, one_wait *w)
{
	call_async_cb(name, ops, n, one_cb, w);
}

/* first_ok: whether the first op of the reply first_op_cb saw last succeeded (-1: none). */
static int first_ok = -1;

static void
first_op_cb(void *arg, dobj_reply *reply)
{
	if (reply->status == DOBJ_OK) {
		Dobj__Test__ScriptResult *r =
		    dobj__test__script_result__unpack(NULL, reply->len, reply->data);
		if (r != NULL) {
			first_ok = r->results[0]->status == DOBJ_OK;
			dobj__test__script_result__free_unpacked(r, NULL);
		}
	}
	one_cb(arg, reply);
}

/* slow_poison adds a trigger on dobj_storage: a write of key "poison" sleeps 1 s and fails,
 * one of key "slow" sleeps 2 s. */
static void
slow_poison(void)
{
	free(fx_db_query1(
	    &db, "CREATE FUNCTION slow_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN IF NEW.key = 'poison' THEN PERFORM pg_sleep(1); "
	         "RAISE EXCEPTION 'poisoned key'; END IF; "
	         "IF NEW.key = 'slow' THEN PERFORM pg_sleep(2); END IF; RETURN NEW; END $$; "
	         "CREATE TRIGGER slow_poison BEFORE INSERT OR UPDATE ON dobj_storage "
	         "FOR EACH ROW EXECUTE FUNCTION slow_poison()"));
}

/* wait_sleeping waits until a backend of this test's database sleeps in the trigger. */
static void
wait_sleeping(void)
{
	for (int64_t deadline = fx_now_ms() + 10000;; fx_nap_ms(1)) {
		char *n = fx_db_query1(&db, "SELECT count(*) FROM pg_stat_activity "
		                            "WHERE wait_event = 'PgSleep' AND "
		                            "datname = current_database()");
		bool sleeping = strcmp(n, "1") == 0;

		free(n);
		if (sleeping)
			return;
		cr_assert_lt(fx_now_ms(), deadline, "the poisoned write never slept");
	}
}

/* The commit thread sends the next transaction while the server is committing the one ahead.
 * When that COMMIT fails, the server skips the one behind: its calls that depended on the
 * failure fail with it, the others are sent again and succeed. */
Test(storage, a_commit_failing_at_commit_fails_its_dependents_and_retries_the_rest)
{
	char http_url[64], mine[32], other[32], msg[512];
	int http = fx_http_url(http_url, sizeof(http_url));
	const char *args[] = {"--shards", "2", "--http-listen", http_url, NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait b = a, c = a;
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_b[] = {fx_op("put", "y", "2")};
	Dobj__Test__Op *ops_c[] = {fx_op("put", "z", "3")};
	Dobj__Test__Op *get = fx_op("get", "x", NULL);
	Dobj__Test__ScriptResult *r;
	char *keys;

	fx_stack_restart(&db, &srv, &cl, args);
	fx_http_wait(http);
	name_in_shard("mine", 0, 2, mine, sizeof(mine));
	name_in_shard("other", 1, 2, other, sizeof(other));
	/* writing 'poison' takes a second, then its COMMIT fails */
	free(fx_db_query1(&db,
	                  "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                  "BEGIN IF NEW.key = 'poison' THEN PERFORM pg_sleep(1); END IF; "
	                  "RETURN NEW; END $$; "
	                  "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON dobj_storage "
	                  "FOR EACH ROW EXECUTE FUNCTION slow(); "
	                  "CREATE FUNCTION late_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                  "BEGIN IF NEW.key = 'poison' THEN RAISE EXCEPTION 'poisoned at commit'; "
	                  "END IF; RETURN NULL; END $$; "
	                  "CREATE CONSTRAINT TRIGGER late_poison AFTER INSERT OR UPDATE ON "
	                  "dobj_storage DEFERRABLE INITIALLY DEFERRED "
	                  "FOR EACH ROW EXECUTE FUNCTION late_poison()"));

	call_async(mine, ops_a, 2, &a);
	for (int waited = 0;; waited++) {
		char *n = fx_db_query1(
		    &db, "SELECT count(*) FROM pg_stat_activity "
		         "WHERE wait_event = 'PgSleep' AND datname = current_database()");
		bool sleeping = strcmp(n, "1") == 0;
		free(n);
		if (sleeping)
			break;
		cr_assert_lt(waited, 10000, "A's commit never reached the slow trigger");
		fx_nap_ms(1);
	}
	/* while A's changes run: B on the same object (it saw A's writes), C on the other shard */
	call_async(mine, ops_b, 1, &b);
	call_async(other, ops_c, 1, &c);
	one_wait_done(&a);
	one_wait_done(&b);
	one_wait_done(&c);

	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "A: %s", a.message);
	cr_assert(strstr(a.message, "poisoned at commit") != NULL, "A: %s", a.message);
	cr_assert_eq(b.status, DOBJ_UNAVAILABLE, "B: %s %s", dobj_err_name(b.status), b.message);
	cr_assert(strstr(b.message, "an earlier commit this call depended on failed") != NULL,
	          "B: %s", b.message);
	cr_assert_eq(c.status, DOBJ_OK, "C: %s %s", dobj_err_name(c.status), c.message);
	cr_assert_eq(metric(http, "dobj_commit_retries_total"), 1,
	             "C was not in the transaction sent behind A's");

	keys = fx_db_query1(&db, "SELECT string_agg(key, ',' ORDER BY key) FROM dobj_storage");
	cr_assert_str_eq(keys, "z");
	free(keys);
	cr_assert_eq(fx_kv_run(cl, mine, &get, 1, &r, msg, sizeof(msg)), DOBJ_OK, "%s", msg);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND, "A's write is visible after reload");
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* One shard. A's batch P0 writes x and a key whose trigger sleeps 1 s, then fails. Meanwhile
 * W's batch P1 queues behind it, O2 opens the next batch with a write, and O1 reads A's
 * uncommitted x into that open batch. P0 and P1 fail before the open batch is handed over:
 * O1 read a write that never committed, so it must not get OK (and its object, evicted by
 * then, must not be touched). */
static void
read_of_failed_commit(bool open_with_write)
{
	static const char *const args[] = {"--shards", "1", NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait w = a, o2 = a, o1 = a;
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o2[] = {fx_op("put", "y", "1")};
	Dobj__Test__Op *ops_o1[] = {fx_op("get", "x", NULL)};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	slow_poison();
	call_async("pa", ops_a, 2, &a);
	wait_sleeping();
	call_async("pw", ops_w, 1, &w); /* P1: queued behind A, gen 0 */
	fx_nap_ms(50);
	if (open_with_write) {
		call_async("py", ops_o2, 1, &o2); /* opens the open batch with a write */
		fx_nap_ms(50);
	}
	call_async("pa", ops_o1, 1, &o1); /* reads A's uncommitted x, joins the open batch */
	one_wait_done(&a);
	one_wait_done(&w);
	if (open_with_write)
		one_wait_done(&o2);
	one_wait_done(&o1);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "A: %s", a.message);
	cr_assert_eq(w.status, DOBJ_UNAVAILABLE, "W ran while A was pending: %s", w.message);
	if (open_with_write)
		cr_assert_eq(o2.status, DOBJ_UNAVAILABLE, "O2 ran while A was pending: %s",
		             o2.message);
	cr_assert_eq(o1.status, DOBJ_UNAVAILABLE,
	             "O1 read x of a failed commit but got %s %s (W %s %s, O2 %s %s)",
	             dobj_err_name(o1.status), o1.message, dobj_err_name(w.status), w.message,
	             dobj_err_name(o2.status), o2.message);
	cr_assert(strstr(o1.message, "depended") != NULL, "O1: %s", o1.message);
	n = fx_db_query1(&db, "SELECT count(*) FROM dobj_storage");
	cr_assert_str_eq(n, "0", "nothing of the four calls was stored");
	free(n);
}

Test(storage, a_read_of_a_failed_commits_write_fails_even_when_its_batch_ends_after_it)
{
	read_of_failed_commit(true);
}

/* The same with the read alone in its batch, a batch that wrote nothing: it waits behind the
 * pending batches and fails with them (the shard's branch for such a batch ending after they
 * have all failed and gone is not forced by this timing). */
Test(storage, a_read_alone_of_a_failed_commits_write_fails_too)
{
	read_of_failed_commit(false);
}

/* Two shards. A's batch on shard 0 fails after 1 s; W queues behind it; O's write of z waits
 * in shard 0's open batch; Q's 2 s transaction on shard 1 keeps the commit thread busy after
 * A's failure. O's batch began before the failure and will be refused: a later call on O's
 * object (get z, put y) must not read z and commit on top of it. */
Test(storage, a_write_waiting_in_the_open_batch_when_a_commit_fails_is_not_read_later)
{
	static const char *const args[] = {"--shards", "2", NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait w = a, o = a, q = a, o3 = a;
	char pa[32], pw[32], pb[32], qq[32];
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o[] = {fx_op("put", "z", "1")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_o3[] = {fx_op("get", "z", NULL), fx_op("put", "y", "1")};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	name_in_shard("pa", 0, 2, pa, sizeof(pa));
	name_in_shard("pw", 0, 2, pw, sizeof(pw));
	name_in_shard("pb", 0, 2, pb, sizeof(pb));
	name_in_shard("q", 1, 2, qq, sizeof(qq));
	slow_poison();
	call_async(pa, ops_a, 2, &a);
	wait_sleeping();
	call_async(pw, ops_w, 1, &w);
	fx_nap_ms(50);
	call_async(pb, ops_o, 1, &o);
	fx_nap_ms(50);
	call_async(qq, ops_q, 1, &q);
	one_wait_done(&a); /* P0 failed; Q's 2 s txn goes next; O is submitted and waits */
	fx_nap_ms(300);
	first_ok = -1;
	call_async_cb(pb, ops_o3, 2, first_op_cb, &o3);
	one_wait_done(&w);
	one_wait_done(&o);
	one_wait_done(&q);
	one_wait_done(&o3);
	n = fx_db_query1(&db, "SELECT string_agg(key, ',' ORDER BY key) FROM dobj_storage");
	cr_assert(!(o3.status == DOBJ_OK && first_ok == 1),
	          "O3 read z of a failed commit and got OK; stored: %s", n);
	cr_assert_eq(o.status, DOBJ_UNAVAILABLE, "O: %s", o.message);
	cr_assert(n == NULL || strstr(n, "z") == NULL, "z was stored: %s", n);
	free(n);
}

/* Two shards, --max-batch 2. After shard 0 hears of A's failure, its open batch (begun
 * before, so of the older generation) stays open while a batch is still queued, and Z1's
 * write joins it; that batch is refused later. Z2, in a newer batch, must not read Z1's z
 * and commit on top of it. */
Test(storage, a_write_joining_an_older_open_batch_after_a_failure_is_not_read_later)
{
	static const char *const args[] = {"--shards", "2", "--max-batch", "2", NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait w = a, o1 = a, o2 = a, x = a, q = a, z1 = a, z2 = a;
	char pa[32], pw[32], pb1[32], pb2[32], px[32], pz[32], qq[32];
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o1[] = {fx_op("put", "a", "1")};
	Dobj__Test__Op *ops_o2[] = {fx_op("put", "b", "1")};
	Dobj__Test__Op *ops_x[] = {fx_op("put", "k", "1")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_z1[] = {fx_op("put", "z", "1")};
	Dobj__Test__Op *ops_z2[] = {fx_op("get", "z", NULL), fx_op("put", "y", "1")};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	name_in_shard("pa", 0, 2, pa, sizeof(pa));
	name_in_shard("pw", 0, 2, pw, sizeof(pw));
	name_in_shard("pb1x", 0, 2, pb1, sizeof(pb1));
	name_in_shard("pb2x", 0, 2, pb2, sizeof(pb2));
	name_in_shard("px", 0, 2, px, sizeof(px));
	name_in_shard("pz", 0, 2, pz, sizeof(pz));
	name_in_shard("q", 1, 2, qq, sizeof(qq));
	slow_poison();
	call_async(pa, ops_a, 2, &a);
	wait_sleeping();
	call_async(pw, ops_w, 1, &w); /* P1 queued */
	fx_nap_ms(50);
	call_async(pb1, ops_o1, 1, &o1); /* open batch, 1 call */
	fx_nap_ms(50);
	call_async(pb2, ops_o2, 1, &o2); /* 2 calls: handed over, P2 queued (queued = 2) */
	fx_nap_ms(50);
	call_async(px, ops_x, 1, &x); /* opens O, gen 0 */
	fx_nap_ms(50);
	call_async(qq, ops_q, 1, &q); /* shard 1: 2 s transaction after A's failure */
	one_wait_done(&a);            /* shard 0 adopted gen 1; P2 still queued, O still open */
	fx_nap_ms(100);
	call_async(pz, ops_z1, 1, &z1); /* joins O (gen 0): handed over as P3, refused later */
	fx_nap_ms(100);
	first_ok = -1;
	call_async_cb(pz, ops_z2, 2, first_op_cb, &z2);
	one_wait_done(&w);
	one_wait_done(&o1);
	one_wait_done(&o2);
	one_wait_done(&x);
	one_wait_done(&q);
	one_wait_done(&z1);
	one_wait_done(&z2);
	n = fx_db_query1(&db, "SELECT string_agg(key, ',' ORDER BY key) FROM dobj_storage");
	cr_assert(!(z2.status == DOBJ_OK && first_ok == 1),
	          "Z2 read z of a failed commit and got OK; Z1 %s; stored: %s",
	          dobj_err_name(z1.status), n);
	cr_assert(n == NULL || strstr(n, "z") == NULL, "z was stored: %s", n);
	free(n);
}
