// SPDX-License-Identifier: MIT
// commit_failure_test.c - what callers see when a commit fails, through a real dobjd (the
// TestKV class) and PostgreSQL failing on purpose (a slow trigger that raises, a deferred
// constraint): calls that read or wrote what did not become durable fail with it, the others
// keep their answers or are sent again, and no later turn reads or commits on top of the
// failed writes (docs/architecture.md, "Failure decisions").

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "proxy.h"
#include "stack.h"

FX_STACK_SUITE(commit_failure, "dobjd-test", 120);

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

Test(commit_failure, a_call_that_read_a_failed_commits_writes_fails_with_it)
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
	r = fx_kv_run_ok(cl, "pipe", &get, 1);
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

/* metric_value finds one unlabelled series in /metrics: the text of its value. */
static const char *
metric_value(int port, const char *name)
{
	static char body[65536];
	char *at;

	cr_assert_eq(fx_http_get(port, "/metrics", body, sizeof(body)), 200);
	for (at = body; (at = strstr(at, name)) != NULL; at++)
		if ((at == body || at[-1] == '\n') && at[strlen(name)] == ' ')
			return at + strlen(name) + 1;
	cr_assert_fail("no %s in /metrics", name);
	return "";
}

/* metric reads one unlabelled counter from /metrics. */
static uint64_t
metric(int port, const char *name)
{
	return strtoull(metric_value(port, name), NULL, 10);
}

/* metric_seconds reads one unlabelled gauge in seconds from /metrics. */
static double
metric_seconds(int port, const char *name)
{
	return strtod(metric_value(port, name), NULL);
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

	name_in_shard("hold", 0, 2, hold, 32);
	name_in_shard("bad", 1, 2, bad, 32);
	name_in_shard("good", 0, 2, good, 32);
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
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait b = a, c = a;
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_b[] = {fx_op("put", "y", "2")};
	Dobj__Test__Op *ops_c[] = {fx_op("put", "z", "3")};
	Dobj__Test__Op *get = fx_op("get", "x", NULL);
	Dobj__Test__ScriptResult *r;
	char *keys;

	name_in_shard("mine", 0, 2, mine, sizeof(mine));
	name_in_shard("other", 1, 2, other, sizeof(other));
	/* writing 'poison' takes a second, then its COMMIT fails */
	late_poison("poison");

	call_async(mine, ops_a, 2, &a);
	wait_sleeping();
	/* while A's changes run: B on the same object (it saw A's writes), C on the other shard */
	call_async(mine, ops_b, 1, &b);
	call_async(other, ops_c, 1, &c);
	one_wait_done(&a);
	one_wait_done(&b);
	one_wait_done(&c);

	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "A: %s", a.message);
	cr_assert(strstr(a.message, "poisoned at commit") != NULL, "A: %s", a.message);
	cr_assert_eq(b.status, DOBJ_UNAVAILABLE, "B: %s %s", dobj_err_name(b.status), b.message);
	cr_assert(strstr(b.message, "an earlier commit this call depended on failed") != NULL &&
	              strstr(b.message, "poisoned at commit") != NULL,
	          "B (refused with its writes) does not say what failed: %s", b.message);
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

/* A transaction of two shards' batches fails at COMMIT because of one of them: nothing of it
 * was written, so the commit thread sends each batch again in a transaction of its own, and
 * only the guilty batch's call fails. */
Test(commit_failure, a_failed_transaction_of_two_shards_fails_only_the_guilty_batch)
{
	char hold[32], bad[32], good[32];
	int http = split_scene(hold, bad, good);
	one_wait h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait p = h, q = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "q", "3")};
	char *keys;

	call_async(hold, ops_h, 1, &h);
	wait_sleeping();
	/* both batches queue while H's changes run, and go together into the next transaction */
	call_async(bad, ops_p, 1, &p);
	call_async(good, ops_q, 1, &q);
	one_wait_done(&h);
	one_wait_done(&p);
	one_wait_done(&q);

	cr_assert_eq(h.status, DOBJ_OK, "H: %s %s", dobj_err_name(h.status), h.message);
	cr_assert_eq(p.status, DOBJ_UNAVAILABLE, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert(strstr(p.message, "poisoned at commit") != NULL, "P: %s", p.message);
	cr_assert_eq(q.status, DOBJ_OK, "Q failed with P's batch: %s %s", dobj_err_name(q.status),
	             q.message);
	cr_assert_eq(metric(http, "dobj_commit_splits_total"), 1,
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
	one_wait h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait p = h, q1 = h, q2 = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "poison", "p"), fx_op("put", "slow", "p")};
	Dobj__Test__Op *ops_q1[] = {fx_op("put", "k", "1")};
	Dobj__Test__Op *ops_q2[] = {fx_op("put", "k", "2")};
	Dobj__Test__Op *get = fx_op("get", "k", NULL);
	Dobj__Test__ScriptResult *r;
	char *k;

	call_async(hold, ops_h, 1, &h); /* T1: H, a second of changes */
	wait_sleeping();
	call_async(bad, ops_p, 2, &p); /* T2: P and Q1, a second of changes, fails at COMMIT */
	call_async(good, ops_q1, 1, &q1);
	one_wait_done(&h);
	wait_sleeping();                  /* T2's changes */
	call_async(good, ops_q2, 1, &q2); /* T3, behind T2: Q2, on top of Q1 */
	one_wait_done(&p);
	one_wait_done(&q1);
	one_wait_done(&q2);

	cr_assert_eq(h.status, DOBJ_OK, "H: %s %s", dobj_err_name(h.status), h.message);
	cr_assert_eq(p.status, DOBJ_UNAVAILABLE, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert(strstr(p.message, "poisoned at commit") != NULL, "P: %s", p.message);
	cr_assert_eq(q1.status, DOBJ_OK, "Q1: %s %s", dobj_err_name(q1.status), q1.message);
	cr_assert_eq(q2.status, DOBJ_OK, "Q2: %s %s", dobj_err_name(q2.status), q2.message);
	cr_assert_eq(metric(http, "dobj_commit_splits_total"), 1);
	cr_assert_geq(metric(http, "dobj_commit_retries_total"), 1, "T3 was not behind T2");
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
	one_wait h = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait p = h, q = h, p2 = h;
	Dobj__Test__Op *ops_h[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_p[] = {fx_op("put", "slow", "p"), fx_op("put", "late", "p")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "q", "1")};
	Dobj__Test__Op *ops_p2[] = {fx_op("put", "k", "2")};

	name_in_shard("hold", 0, 2, hold, sizeof(hold));
	name_in_shard("mine", 0, 2, mine, sizeof(mine));
	name_in_shard("other", 1, 2, other, sizeof(other));
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

	call_async(hold, ops_h, 1, &h); /* T1: a second of changes */
	wait_sleeping();
	call_async(mine, ops_p, 2, &p); /* T2: P and Q, behind T1 */
	call_async(other, ops_q, 1, &q);
	one_wait_done(&h);
	wait_sleeping();                  /* T2's changes */
	call_async(mine, ops_p2, 1, &p2); /* T3, sent behind T2 */
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
	one_wait_done(&p);
	one_wait_done(&q);
	one_wait_done(&p2);

	cr_assert_eq(metric(http, "dobj_commit_splits_total"), 1);
	cr_assert_eq(p.status, DOBJ_OK, "P: %s %s", dobj_err_name(p.status), p.message);
	cr_assert_eq(q.status, DOBJ_OK, "Q: %s %s", dobj_err_name(q.status), q.message);
	cr_assert_eq(p2.status, DOBJ_OK, "P2: %s %s", dobj_err_name(p2.status), p2.message);
	cr_assert(!fx_log_contains(srv.log_path, "commits reported out of order"), "log in %s",
	          srv.log_path);
	cr_assert_eq(metric(http, "dobj_commit_failures_total"), 0);
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

Test(commit_failure, a_read_of_a_failed_commits_write_fails_even_when_its_batch_ends_after_it)
{
	read_of_failed_commit(true);
}

/* The same with the read alone in its batch, a batch that wrote nothing: it waits behind the
 * pending batches and fails with them (the shard's branch for such a batch ending after they
 * have all failed and gone is not forced by this timing). */
Test(commit_failure, a_read_alone_of_a_failed_commits_write_fails_too)
{
	read_of_failed_commit(false);
}

/* Two shards. A's batch on shard 0 fails after 1 s; W queues behind it; O's write of z waits
 * in shard 0's open batch; Q's 2 s transaction on shard 1 keeps the commit thread busy after
 * A's failure. O's batch began before the failure and will be refused: a later call on O's
 * object (get z, put y) must not read z and commit on top of it. */
Test(commit_failure, a_write_waiting_in_the_open_batch_when_a_commit_fails_is_not_read_later)
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

/* Two shards, --max-batch 2. When shard 0 hears of A's failure, its open batch (begun
 * before, so of the older generation) is handed over at once and refused later, although a
 * batch of the shard is still queued: Z1's write, after the failure, does not join it but
 * starts a batch of the new generation, and commits. Z2, on the same object, reads Z1's z
 * only if z is stored. R, a read alone in its batch after the failure, does not wait for the
 * older batches (their objects were dropped) and is answered. */
Test(commit_failure, a_write_after_a_failure_does_not_join_the_older_open_batch)
{
	static const char *const args[] = {"--shards", "2", "--max-batch", "2", NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	one_wait w = a, o1 = a, o2 = a, x = a, q = a, z1 = a, z2 = a, rd = a;
	char pa[32], pw[32], pb1[32], pb2[32], px[32], pz[32], pr[32], qq[32];
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o1[] = {fx_op("put", "a", "1")};
	Dobj__Test__Op *ops_o2[] = {fx_op("put", "b", "1")};
	Dobj__Test__Op *ops_x[] = {fx_op("put", "k", "1")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_z1[] = {fx_op("put", "z", "1")};
	Dobj__Test__Op *ops_z2[] = {fx_op("get", "z", NULL), fx_op("put", "y", "1")};
	Dobj__Test__Op *ops_r[] = {fx_op("get", "r", NULL)};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	name_in_shard("pa", 0, 2, pa, sizeof(pa));
	name_in_shard("pw", 0, 2, pw, sizeof(pw));
	name_in_shard("pb1x", 0, 2, pb1, sizeof(pb1));
	name_in_shard("pb2x", 0, 2, pb2, sizeof(pb2));
	name_in_shard("px", 0, 2, px, sizeof(px));
	name_in_shard("pz", 0, 2, pz, sizeof(pz));
	name_in_shard("pr", 0, 2, pr, sizeof(pr));
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
	call_async(pr, ops_r, 1, &rd); /* read-only, gen 1, while P2 and O (gen 0) are pending */
	one_wait_done(&rd);
	call_async(pz, ops_z1, 1, &z1); /* a new batch (gen 1): O was handed over at the failure */
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
	cr_assert_eq(x.status, DOBJ_UNAVAILABLE, "X, in the older open batch: %s", x.message);
	cr_assert_eq(z1.status, DOBJ_OK, "Z1 was refused: %s", z1.message);
	cr_assert_eq(rd.status, DOBJ_OK, "R was refused: %s", rd.message);
	cr_assert(n != NULL && strstr(n, "z") != NULL, "Z1's z is not stored: %s", n);
	cr_assert(!(z2.status == DOBJ_OK && first_ok == 1) || strstr(n, "y") != NULL,
	          "Z2 read z and got OK, but its y is not stored: %s", n);
	free(n);
}

/* behind_proxy_args makes every write of key 'slow' take sleep_s seconds at COMMIT (a
 * deferred trigger) and restarts dobjd with args on a DSN through a new relay, with the extra
 * key=value settings dsn_extra (or ""); behind_proxy: 2 s, one shard. */
static fx_proxy *
behind_proxy_args(const char *dsn_extra, const char *const *args, int sleep_s)
{
	char direct[FX_DSN_MAX], proxied[FX_DSN_MAX], sql[512];
	fx_proxy *px = fx_proxy_start(db.dsn, proxied, sizeof(proxied));

	snprintf(sql, sizeof(sql),
	         "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ "
	         "BEGIN PERFORM pg_sleep(%d); RETURN NULL; END $$; "
	         "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON "
	         "dobj_storage DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
	         "WHEN (NEW.key = 'slow') EXECUTE FUNCTION slow_commit()",
	         sleep_s);
	free(fx_db_query1(&db, sql));
	snprintf(direct, sizeof(direct), "%s", db.dsn);
	cr_assert_lt((size_t)snprintf(db.dsn, sizeof(db.dsn), "%s %s", proxied, dsn_extra),
	             sizeof(db.dsn));
	fx_stack_restart(&db, &srv, &cl, args);
	snprintf(db.dsn, sizeof(db.dsn), "%s", direct);
	return px;
}

static fx_proxy *
behind_proxy(const char *dsn_extra)
{
	static const char *const args[] = {"--shards", "1", NULL};

	return behind_proxy_args(dsn_extra, args, 2);
}

/* NO_TERMINATE is the dsn setting of a role that may not end other backends (made by
 * no_terminate_role), so that a fence holds until the fenced COMMIT lands. */
#define NO_TERMINATE "user='dobj_fence_test' password='fence'"

static void
no_terminate_role(void)
{
	free(fx_db_query1(&db,
	                  "DO $$ BEGIN CREATE ROLE dobj_fence_test LOGIN PASSWORD 'fence'; "
	                  "EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
	                  "GRANT ALL ON ALL TABLES IN SCHEMA public TO dobj_fence_test; "
	                  "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO dobj_fence_test; "
	                  "REVOKE EXECUTE ON FUNCTION pg_terminate_backend(integer, bigint) "
	                  "FROM PUBLIC"));
}

/* cut_under_commit writes slow=v1 on object `name`, cuts every connection while its COMMIT
 * sleeps, and checks the caller hears that the outcome is unknown. */
static void
cut_under_commit(fx_proxy *px, const char *name)
{
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	Dobj__Test__Op *put = fx_op("put", "slow", "v1");

	call_async(name, &put, 1, &a);
	wait_sleeping();
	cr_assert_gt(fx_proxy_cut(px), 0);
	one_wait_done(&a);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "A: %s %s", dobj_err_name(a.status), a.message);
	cr_assert(strstr(a.message, "outcome unknown") != NULL, "A: %s", a.message);
}

static bool
commit_sleeping(void)
{
	char *n = fx_db_query1(&db, "SELECT count(*) FROM pg_stat_activity WHERE "
	                            "wait_event = 'PgSleep' AND datname = current_database()");
	bool sleeping = strcmp(n, "0") != 0;

	free(n);
	return sleeping;
}

/* reload_matches_db retries a read of slow on `name` until it answers, then checks that
 * what it answered is what PostgreSQL holds once the commit's backend has ended; it returns
 * whether slow was found. */
static bool
reload_matches_db(const char *name)
{
	Dobj__Test__Op *get = fx_op("get", "slow", NULL);
	Dobj__Test__ScriptResult *r = NULL;
	char msg[512], *stored;
	bool found;

	for (int64_t deadline = fx_now_ms() + 10000;; fx_nap_ms(20)) {
		dobj_err rc = fx_kv_run(cl, name, &get, 1, &r, msg, sizeof(msg));
		if (rc == DOBJ_OK)
			break;
		cr_assert_eq(rc, DOBJ_UNAVAILABLE, "get: %s %s", dobj_err_name(rc), msg);
		cr_assert_lt(fx_now_ms(), deadline, "the object never reloaded: %s", msg);
	}
	found = r->results[0]->status == DOBJ_OK;
	dobj__test__script_result__free_unpacked(r, NULL);
	for (int64_t deadline = fx_now_ms() + 10000; commit_sleeping(); fx_nap_ms(20))
		cr_assert_lt(fx_now_ms(), deadline, "the commit's backend never ended");
	stored = fx_db_query1(&db, "SELECT convert_from(value, 'UTF8') FROM dobj_storage "
	                           "WHERE key = 'slow'");
	cr_assert_eq(found, stored != NULL,
	             "dobjd reloaded the object with slow %s, but PostgreSQL holds %s",
	             found ? "set" : "unset", stored ? stored : "no such row");
	r = fx_kv_run_ok(cl, name, &get, 1);
	cr_assert_eq(r->results[0]->status, stored != NULL ? DOBJ_OK : DOBJ_NOT_FOUND,
	             "after the commit's backend ended, dobjd still answers %s",
	             dobj_err_name((dobj_err)r->results[0]->status));
	dobj__test__script_result__free_unpacked(r, NULL);
	free(stored);
	return found;
}

/* The connection to PostgreSQL dies while the server is committing: the call's outcome is
 * unknown, and the backend may still commit after the call was answered. The object must not
 * reload before that backend has ended, or it would miss the commit for good: what dobjd
 * answers afterwards is what PostgreSQL holds. Here dobjd may end the backend (superuser). */
Test(commit_failure, an_object_waits_for_a_commit_of_unknown_outcome_before_reloading)
{
	fx_proxy *px = behind_proxy("");

	cut_under_commit(px, "unknown");
	cr_assert(!reload_matches_db("unknown"), "the ended backend's commit landed");
	fx_server_stop(&srv);
	fx_proxy_stop(px);
}

/* The same, as a role that may not end other backends: the fence then holds until the
 * backend's 2 s COMMIT lands by itself, and meanwhile the shard, whose connection is back,
 * must not reload the object; writes wait too. */
Test(commit_failure, without_pg_terminate_backend_the_fence_waits_for_the_commit_to_land)
{
	Dobj__Test__Op *other = fx_op("put", "k", "v");
	Dobj__Test__ScriptResult *r = NULL;
	char msg[512] = "";
	bool held = false;
	fx_proxy *px;

	no_terminate_role();
	px = behind_proxy(NO_TERMINATE);
	cut_under_commit(px, "unknown");
	/* a write elsewhere is held back while the fence holds */
	for (int64_t deadline = fx_now_ms() + 1500; !held; fx_nap_ms(20)) {
		dobj_err rc = fx_kv_run(cl, "elsewhere", &other, 1, &r, msg, sizeof(msg));
		cr_assert_eq(rc, DOBJ_UNAVAILABLE, "put: %s %s", dobj_err_name(rc), msg);
		held = strstr(msg, "waiting for PostgreSQL backend") != NULL;
		cr_assert_lt(fx_now_ms(), deadline, "no write was held back by the fence: %s", msg);
	}
	cr_assert(commit_sleeping(), "the COMMIT ended before the object was read: too slow");
	cr_assert(reload_matches_db("unknown"), "the commit did not land");
	r = fx_kv_run_ok(cl, "elsewhere", &other, 1); /* and writes go through again */
	dobj__test__script_result__free_unpacked(r, NULL);
	fx_server_stop(&srv);
	fx_proxy_stop(px);
}

/* A fence check that never gets an answer (the server takes the connection but answers
 * nothing: the relay is frozen) must not hold SIGTERM: once the shards have heard about all
 * their commits, the drain waits for the commit thread until its deadline only, and dobjd
 * exits with status 1. */
Test(commit_failure, a_fence_check_without_an_answer_does_not_hold_the_drain)
{
	static const char *const args[] = {"--shards", "1", "--drain-timeout-ms", "500", NULL};
	fx_proxy *px;
	int64_t t0;
	int status;

	no_terminate_role();
	px = behind_proxy_args(NO_TERMINATE, args, 10); /* the fence holds for 10 s */
	cut_under_commit(px, "unknown");
	/* the commit thread reconnects and checks on the fenced backend every 50-250 ms */
	fx_nap_ms(500);
	cr_assert_gt(fx_proxy_freeze(px), 0);
	fx_nap_ms(500); /* the next check is sent and waits for an answer */
	t0 = fx_now_ms();
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	status = fx_server_kill(&srv, 0);
	cr_assert_lt(fx_now_ms() - t0, 5000, "the drain took %lld ms",
	             (long long)(fx_now_ms() - t0));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	          "dobjd did not exit 1 (wait status 0x%x)", status);
	cr_assert(commit_sleeping(), "the fenced COMMIT ended before the drain: too slow");
	/* the relay holds the alarm poller's connection too: the commit thread must be the one
	 * left behind */
	cr_assert(fx_log_contains(srv.log_path, "committer: still inside a PostgreSQL call"),
	          "the commit thread was not the one left behind; log in %s", srv.log_path);
	fx_proxy_stop(px);
}

/* A commit that PostgreSQL holds (here a deferred trigger sleeping 7 s in COMMIT; in production
 * a lock, a synchronous standby) holds its calls' replies. The operator sees it: the gauge
 * dobj_commit_waiting_seconds grows while it waits, and after 5 s the log names the backend. */
Test(commit_failure, a_commit_that_postgresql_holds_shows_in_the_metrics_and_the_log)
{
	char http_url[64], needle[128];
	int http = fx_http_url(http_url, sizeof(http_url));
	const char *args[] = {"--http-listen", http_url, NULL};
	one_wait a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, ""};
	Dobj__Test__Op *ops[] = {fx_op("put", "held", "1")};
	char *pid;
	double waited;
	bool answered;

	fx_stack_restart(&db, &srv, &cl, args);
	fx_http_wait(http);
	cr_assert_eq(metric_seconds(http, "dobj_commit_waiting_seconds"), 0.0,
	             "a commit is waiting before any call");
	free(fx_db_query1(&db,
	                  "CREATE FUNCTION held() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                  "BEGIN IF NEW.key = 'held' THEN PERFORM pg_sleep(7); END IF; "
	                  "RETURN NULL; END $$; "
	                  "CREATE CONSTRAINT TRIGGER held AFTER INSERT OR UPDATE ON dobj_storage "
	                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION held()"));

	call_async("holder", ops, 1, &a);
	wait_sleeping();
	pid = fx_db_query1(&db, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
	                        "AND datname = current_database()");
	fx_nap_ms(1500);
	waited = metric_seconds(http, "dobj_commit_waiting_seconds");
	cr_assert(waited >= 1.0 && waited < 10.0,
	          "dobj_commit_waiting_seconds is %.3f 1.5 s into a held commit", waited);
	pthread_mutex_lock(&a.mu);
	answered = a.done;
	pthread_mutex_unlock(&a.mu);
	cr_assert(!answered, "the call was answered before its commit ended");

	one_wait_done(&a);
	cr_assert_eq(a.status, DOBJ_OK, "%s %s", dobj_err_name(a.status), a.message);
	/* the first warning comes 5 s after the commit was sent, or a bit later on a busy machine */
	snprintf(needle, sizeof(needle), " s for PostgreSQL backend %s (see pg_stat_activity)",
	         pid);
	cr_assert(fx_log_contains(srv.log_path, needle), "no warning \"%s\" in dobjd's log",
	          needle);
	waited = metric_seconds(http, "dobj_commit_waiting_seconds");
	cr_assert_eq(waited, 0.0, "the gauge still counts a commit that ended: %.3f", waited);
	free(pid);
}
