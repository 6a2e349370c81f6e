// SPDX-License-Identifier: MIT
// commit_split_test.c - a transaction that joined two shards' batches, through a real dobjd
// (the TestKV class, two shards) and PostgreSQL failing on purpose (a deferred constraint
// trigger, a terminated backend): what failed at COMMIT is split and sent again batch by batch,
// ahead of what was queued since, and only the guilty batch fails (docs/architecture.md,
// "Failure decisions"). Its tests belong to the commit_failure suite, as they did before
// commit_failure_test.c was split; the other failures of a commit are tested there.

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

FX_STACK_SUITE(commit_failure, "dobjd-test", 120);

/* late_poison adds triggers on dobj_storage: a write of key slow_key takes a second, and a
 * transaction that writes key "poison" fails at COMMIT (a deferred constraint trigger). */
static void
late_poison(const char *slow_key)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
	         "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN IF NEW.key = '%s' THEN PERFORM pg_sleep(1); END IF; "
	         "RETURN NEW; END $$; "
	         "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON dobj_storage "
	         "FOR EACH ROW EXECUTE FUNCTION slow(); "
	         "CREATE FUNCTION late_poison() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN IF NEW.key = 'poison' THEN RAISE EXCEPTION 'poisoned at commit'; "
	         "END IF; RETURN NULL; END $$; "
	         "CREATE CONSTRAINT TRIGGER late_poison AFTER INSERT OR UPDATE ON "
	         "dobj_storage DEFERRABLE INITIALLY DEFERRED "
	         "FOR EACH ROW EXECUTE FUNCTION late_poison()",
	         slow_key);
	free(fx_db_query1(&db, sql));
}

/* start_two_shards restarts dobjd with two shards and /metrics: the HTTP port. */
static int
start_two_shards(void)
{
	static char http_url[64];
	static const char *args[] = {"--shards", "2", "--http-listen", http_url, NULL};
	int http = fx_http_url(http_url, sizeof(http_url));

	fx_stack_restart(&db, &srv, &cl, args);
	fx_http_wait(http);
	return http;
}

/* split_scene: two shards, objects hold and good of shard 0 and bad of shard 1, and writing
 * 'slow' takes a second while a transaction that writes 'poison' fails at COMMIT. */
static int
split_scene(char hold[32], char bad[32], char good[32])
{
	int http = start_two_shards();

	fx_kv_name_in_shard(cl, "hold", 0, 2, hold, 32);
	fx_kv_name_in_shard(cl, "bad", 1, 2, bad, 32);
	fx_kv_name_in_shard(cl, "good", 0, 2, good, 32);
	late_poison("slow");
	return http;
}

/* The commit thread sends the next transaction while the server is committing the one ahead.
 * When that COMMIT fails, the server skips the one behind: its calls that depended on the
 * failure fail with it, the others are sent again and succeed. */
Test(commit_failure, a_commit_failing_at_commit_fails_its_dependents_and_retries_the_rest)
{
	char mine[32], other[32], msg[512];
	int http = start_two_shards();
	fx_reply a = FX_REPLY_INIT;
	fx_reply b = a, c = a;
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_b[] = {fx_op("put", "y", "2")};
	Dobj__Test__Op *ops_c[] = {fx_op("put", "z", "3")};
	Dobj__Test__Op *get = fx_op("get", "x", NULL);
	Dobj__Test__ScriptResult *r;
	char *keys;

	fx_kv_name_in_shard(cl, "mine", 0, 2, mine, sizeof(mine));
	fx_kv_name_in_shard(cl, "other", 1, 2, other, sizeof(other));
	/* writing 'poison' takes a second, then its COMMIT fails */
	late_poison("poison");

	fx_kv_run_async(cl, mine, ops_a, 2, &a);
	fx_db_wait_sleeping(&db);
	/* while A's changes run: B on the same object (it saw A's writes), C on the other shard */
	fx_kv_run_async(cl, mine, ops_b, 1, &b);
	fx_kv_run_async(cl, other, ops_c, 1, &c);
	fx_reply_await(&a);
	fx_reply_await(&b);
	fx_reply_await(&c);

	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "A: %s", a.message);
	cr_assert(strstr(a.message, "poisoned at commit") != NULL, "A: %s", a.message);
	cr_assert_eq(b.status, DOBJ_UNAVAILABLE, "B: %s %s", dobj_err_name(b.status), b.message);
	cr_assert(strstr(b.message, "an earlier commit this call depended on failed") != NULL &&
	              strstr(b.message, "poisoned at commit") != NULL,
	          "B (refused with its writes) does not say what failed: %s", b.message);
	cr_assert_eq(c.status, DOBJ_OK, "C: %s %s", dobj_err_name(c.status), c.message);
	cr_assert_eq(fx_metric(http, "dobj_commit_retries_total"), 1,
	             "C was not in the transaction sent behind A's");

	keys = fx_db_query1(&db, "SELECT string_agg(key, ',' ORDER BY key) FROM dobj_storage");
	cr_assert_str_eq(keys, "z");
	free(keys);
	cr_assert_eq(fx_kv_run(cl, mine, &get, 1, &r, msg, sizeof(msg)), DOBJ_OK, "%s", msg);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND, "A's write is visible after reload");
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* A transaction of two shards' batches fails at COMMIT because of one of them: nothing of it
 * was written, so the commit thread sends each batch again in a transaction of its own, and
 * only the guilty batch's call fails. */
Test(commit_failure, a_failed_transaction_of_two_shards_fails_only_the_guilty_batch)
{
	char hold[32], bad[32], good[32];
	int http = split_scene(hold, bad, good);
	fx_reply h = FX_REPLY_INIT;
	fx_reply p = h, q = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "q", "3")};
	char *keys;

	fx_kv_run_async(cl, hold, ops_h, 1, &h);
	fx_db_wait_sleeping(&db);
	/* both batches queue while H's changes run, and go together into the next transaction */
	fx_kv_run_async(cl, bad, ops_p, 1, &p);
	fx_kv_run_async(cl, good, ops_q, 1, &q);
	fx_reply_await(&h);
	fx_reply_await(&p);
	fx_reply_await(&q);

	cr_assert_eq(h.status, DOBJ_OK, "H: %s %s", dobj_err_name(h.status), h.message);
	cr_assert_eq(p.status, DOBJ_UNAVAILABLE, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert(strstr(p.message, "poisoned at commit") != NULL, "P: %s", p.message);
	cr_assert_eq(q.status, DOBJ_OK, "Q failed with P's batch: %s %s", dobj_err_name(q.status),
	             q.message);
	cr_assert_eq(fx_metric(http, "dobj_commit_splits_total"), 1,
	             "P and Q were not in one transaction");
	keys = fx_db_query1(&db, "SELECT string_agg(key, ',' ORDER BY key) FROM dobj_storage");
	cr_assert_str_eq(keys, "q,slow");
	free(keys);
}

/* The same, with a later batch of the innocent shard in the transaction sent behind the
 * failed one (skipped there): the failed transaction's batches go again ahead of it, so the
 * object's writes land in the order its turns ran. */
Test(commit_failure, a_split_transactions_batches_go_again_ahead_of_later_ones)
{
	char hold[32], bad[32], good[32], msg[512];
	int http = split_scene(hold, bad, good);
	fx_reply h = FX_REPLY_INIT;
	fx_reply p = h, q1 = h, q2 = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "poison", "p"), fx_op("put", "slow", "p")};
	Dobj__Test__Op *ops_q1[] = {fx_op("put", "k", "1")};
	Dobj__Test__Op *ops_q2[] = {fx_op("put", "k", "2")};
	Dobj__Test__Op *get = fx_op("get", "k", NULL);
	Dobj__Test__ScriptResult *r;
	char *k;

	fx_kv_run_async(cl, hold, ops_h, 1, &h); /* T1: H, a second of changes */
	fx_db_wait_sleeping(&db);
	fx_kv_run_async(cl, bad, ops_p, 2,
	                &p); /* T2: P and Q1, a second of changes, fails at COMMIT */
	fx_kv_run_async(cl, good, ops_q1, 1, &q1);
	fx_reply_await(&h);
	fx_db_wait_sleeping(&db);                  /* T2's changes */
	fx_kv_run_async(cl, good, ops_q2, 1, &q2); /* T3, behind T2: Q2, on top of Q1 */
	fx_reply_await(&p);
	fx_reply_await(&q1);
	fx_reply_await(&q2);

	cr_assert_eq(h.status, DOBJ_OK, "H: %s %s", dobj_err_name(h.status), h.message);
	cr_assert_eq(p.status, DOBJ_UNAVAILABLE, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert(strstr(p.message, "poisoned at commit") != NULL, "P: %s", p.message);
	cr_assert_eq(q1.status, DOBJ_OK, "Q1: %s %s", dobj_err_name(q1.status), q1.message);
	cr_assert_eq(q2.status, DOBJ_OK, "Q2: %s %s", dobj_err_name(q2.status), q2.message);
	cr_assert_eq(fx_metric(http, "dobj_commit_splits_total"), 1);
	cr_assert_geq(fx_metric(http, "dobj_commit_retries_total"), 1, "T3 was not behind T2");
	k = fx_db_query1(&db, "SELECT convert_from(value, 'UTF8') FROM dobj_storage "
	                      "WHERE key = 'k'");
	cr_assert_str_eq(k, "2", "the object's writes landed out of order");
	free(k);
	cr_assert_eq(fx_kv_run(cl, good, &get, 1, &r, msg, sizeof(msg)), DOBJ_OK, "%s", msg);
	cr_assert_eq(r->results[0]->status, DOBJ_OK);
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* A transaction of two shards' batches fails at COMMIT with an error that also ends the
 * connection (its backend terminated: FATAL, reported by PostgreSQL, so nothing was written).
 * The retries alone wait for the reconnect instead of failing on it, and the batch sent behind
 * follows them in order. */
Test(commit_failure, a_split_after_its_connection_ended_retries_on_the_next_one)
{
	char hold[32], mine[32], other[32], sql[128], *pid;
	int http = start_two_shards();
	fx_reply h = FX_REPLY_INIT;
	fx_reply p = h, q = h, p2 = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "slow", "p"), fx_op("put", "late", "p")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "q", "1")};
	Dobj__Test__Op *ops_p2[] = {fx_op("put", "k", "2")};

	fx_kv_name_in_shard(cl, "hold", 0, 2, hold, sizeof(hold));
	fx_kv_name_in_shard(cl, "mine", 0, 2, mine, sizeof(mine));
	fx_kv_name_in_shard(cl, "other", 1, 2, other, sizeof(other));
	/* 'slow' takes a second among the changes, 'late' 3 s in COMMIT until late_once has a row */
	free(fx_db_query1(
	    &db, "CREATE TABLE late_once(n int); "
	         "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN IF NEW.key = 'slow' THEN PERFORM pg_sleep(1); END IF; RETURN NEW; END $$; "
	         "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON dobj_storage "
	         "FOR EACH ROW EXECUTE FUNCTION slow(); "
	         "CREATE FUNCTION late() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN IF NOT EXISTS (SELECT 1 FROM late_once) THEN PERFORM pg_sleep(3); END IF; "
	         "RETURN NULL; END $$; "
	         "CREATE CONSTRAINT TRIGGER late AFTER INSERT OR UPDATE ON dobj_storage "
	         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.key = 'late') "
	         "EXECUTE FUNCTION late()"));

	fx_kv_run_async(cl, hold, ops_h, 1, &h); /* T1: a second of changes */
	fx_db_wait_sleeping(&db);
	fx_kv_run_async(cl, mine, ops_p, 2, &p); /* T2: P and Q, behind T1 */
	fx_kv_run_async(cl, other, ops_q, 1, &q);
	fx_reply_await(&h);
	fx_db_wait_sleeping(&db);                  /* T2's changes */
	fx_kv_run_async(cl, mine, ops_p2, 1, &p2); /* T3, sent behind T2 */
	for (int64_t deadline = fx_now_ms() + 10000;; fx_nap_ms(5)) {
		pid = fx_db_query1(&db, "SELECT pid FROM pg_stat_activity WHERE wait_event = "
		                        "'PgSleep' AND query = 'COMMIT' AND "
		                        "datname = current_database()");
		if (pid != NULL)
			break;
		cr_assert_lt(fx_now_ms(), deadline, "T2's COMMIT never slept");
	}
	free(fx_db_query1(&db, "INSERT INTO late_once VALUES (1)"));
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", pid);
	free(pid);
	free(fx_db_query1(&db, sql));
	fx_reply_await(&p);
	fx_reply_await(&q);
	fx_reply_await(&p2);

	cr_assert_eq(fx_metric(http, "dobj_commit_splits_total"), 1);
	cr_assert_eq(p.status, DOBJ_OK, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert_eq(q.status, DOBJ_OK, "Q: %s %s", dobj_err_name(q.status), q.message);
	cr_assert_eq(p2.status, DOBJ_OK, "P2: %s %s", dobj_err_name(p2.status), p2.message);
	cr_assert(!fx_log_contains(srv.log_path, "commits reported out of order"), "log in %s",
	          srv.log_path);
	cr_assert_eq(fx_metric(http, "dobj_commit_failures_total"), 0);
}
