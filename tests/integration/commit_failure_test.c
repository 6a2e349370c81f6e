// SPDX-License-Identifier: MIT
// commit_failure_test.c - what callers see when a commit fails, through a real dobjd (the
// TestKV class) and PostgreSQL failing on purpose (a slow trigger that raises, a deferred
// constraint): calls that read or wrote what did not become durable fail with it, the others
// keep their answers or are sent again, and no later turn reads or commits on top of the
// failed writes; a commit of unknown outcome is fenced (docs/architecture.md, "Failure
// decisions"). A transaction of several shards' batches that fails and is split is in
// commit_split_test.c.

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
#include "observe.h"
#include "proxy.h"
#include "stack.h"

FX_STACK_SUITE(commit_failure, "dobjd-test", 120);

/* The pipelined commit: a call that runs while an earlier commit is in flight may read that
 * commit's writes, so when the earlier commit fails, the later call fails too and no reply
 * shows state that never became durable. */
Test(commit_failure, a_call_that_read_a_failed_commits_writes_fails_with_it)
{
	static const char *const args[] = {"--shards", "1", NULL};
	fx_reply a = FX_REPLY_INIT;
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
	cr_assert_eq(dobj_call_async(&s, "run", buf, len, NULL, fx_reply_cb, &a), DOBJ_OK);
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
	fx_reply_await(&a);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE);
	cr_assert(strstr(a.message, "poisoned key") != NULL, "A: %s", a.message);

	/* and the object was reloaded: x never existed */
	r = fx_kv_run_ok(cl, "pipe", &get, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND);
	dobj__test__script_result__free_unpacked(r, NULL);
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
	fx_reply_cb(arg, reply);
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

/* One shard. A's batch P0 writes x and a key whose trigger sleeps 1 s, then fails. Meanwhile
 * W's batch P1 queues behind it, O2 opens the next batch with a write, and O1 reads A's
 * uncommitted x into that open batch. P0 and P1 fail before the open batch is handed over:
 * O1 read a write that never committed, so it must not get OK (and its object, evicted by
 * then, must not be touched). */
static void
read_of_failed_commit(bool open_with_write)
{
	static const char *const args[] = {"--shards", "1", NULL};
	fx_reply a = FX_REPLY_INIT;
	fx_reply w = a, o2 = a, o1 = a;
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o2[] = {fx_op("put", "y", "1")};
	Dobj__Test__Op *ops_o1[] = {fx_op("get", "x", NULL)};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	slow_poison();
	fx_kv_run_async(cl, "pa", ops_a, 2, &a);
	fx_db_wait_sleeping(&db);
	fx_kv_run_async(cl, "pw", ops_w, 1, &w); /* P1: queued behind A, gen 0 */
	fx_nap_ms(50);
	if (open_with_write) {
		fx_kv_run_async(cl, "py", ops_o2, 1, &o2); /* opens the open batch with a write */
		fx_nap_ms(50);
	}
	fx_kv_run_async(cl, "pa", ops_o1, 1,
	                &o1); /* reads A's uncommitted x, joins the open batch */
	fx_reply_await(&a);
	fx_reply_await(&w);
	if (open_with_write)
		fx_reply_await(&o2);
	fx_reply_await(&o1);
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
	fx_reply a = FX_REPLY_INIT;
	fx_reply w = a, o = a, q = a, o3 = a;
	char pa[32], pw[32], pb[32], qq[32];
	Dobj__Test__Op *ops_a[] = {fx_op("put", "x", "1"), fx_op("put", "poison", "p")};
	Dobj__Test__Op *ops_w[] = {fx_op("put", "w", "1")};
	Dobj__Test__Op *ops_o[] = {fx_op("put", "z", "1")};
	Dobj__Test__Op *ops_q[] = {fx_op("put", "slow", "1")};
	Dobj__Test__Op *ops_o3[] = {fx_op("get", "z", NULL), fx_op("put", "y", "1")};
	char *n;

	fx_stack_restart(&db, &srv, &cl, args);
	fx_kv_name_in_shard(cl, "pa", 0, 2, pa, sizeof(pa));
	fx_kv_name_in_shard(cl, "pw", 0, 2, pw, sizeof(pw));
	fx_kv_name_in_shard(cl, "pb", 0, 2, pb, sizeof(pb));
	fx_kv_name_in_shard(cl, "q", 1, 2, qq, sizeof(qq));
	slow_poison();
	fx_kv_run_async(cl, pa, ops_a, 2, &a);
	fx_db_wait_sleeping(&db);
	fx_kv_run_async(cl, pw, ops_w, 1, &w);
	fx_nap_ms(50);
	fx_kv_run_async(cl, pb, ops_o, 1, &o);
	fx_nap_ms(50);
	fx_kv_run_async(cl, qq, ops_q, 1, &q);
	fx_reply_await(&a); /* P0 failed; Q's 2 s txn goes next; O is submitted and waits */
	fx_nap_ms(300);
	first_ok = -1;
	fx_kv_run_async_cb(cl, pb, ops_o3, 2, first_op_cb, &o3);
	fx_reply_await(&w);
	fx_reply_await(&o);
	fx_reply_await(&q);
	fx_reply_await(&o3);
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
	fx_reply a = FX_REPLY_INIT;
	fx_reply w = a, o1 = a, o2 = a, x = a, q = a, z1 = a, z2 = a, rd = a;
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
	fx_kv_name_in_shard(cl, "pa", 0, 2, pa, sizeof(pa));
	fx_kv_name_in_shard(cl, "pw", 0, 2, pw, sizeof(pw));
	fx_kv_name_in_shard(cl, "pb1x", 0, 2, pb1, sizeof(pb1));
	fx_kv_name_in_shard(cl, "pb2x", 0, 2, pb2, sizeof(pb2));
	fx_kv_name_in_shard(cl, "px", 0, 2, px, sizeof(px));
	fx_kv_name_in_shard(cl, "pz", 0, 2, pz, sizeof(pz));
	fx_kv_name_in_shard(cl, "pr", 0, 2, pr, sizeof(pr));
	fx_kv_name_in_shard(cl, "q", 1, 2, qq, sizeof(qq));
	slow_poison();
	fx_kv_run_async(cl, pa, ops_a, 2, &a);
	fx_db_wait_sleeping(&db);
	fx_kv_run_async(cl, pw, ops_w, 1, &w); /* P1 queued */
	fx_nap_ms(50);
	fx_kv_run_async(cl, pb1, ops_o1, 1, &o1); /* open batch, 1 call */
	fx_nap_ms(50);
	fx_kv_run_async(cl, pb2, ops_o2, 1, &o2); /* 2 calls: handed over, P2 queued (queued = 2) */
	fx_nap_ms(50);
	fx_kv_run_async(cl, px, ops_x, 1, &x); /* opens O, gen 0 */
	fx_nap_ms(50);
	fx_kv_run_async(cl, qq, ops_q, 1, &q); /* shard 1: 2 s transaction after A's failure */
	fx_reply_await(&a); /* shard 0 adopted gen 1; P2 still queued, O still open */
	fx_nap_ms(100);
	fx_kv_run_async(cl, pr, ops_r, 1,
	                &rd); /* read-only, gen 1, while P2 and O (gen 0) are pending */
	fx_reply_await(&rd);
	fx_kv_run_async(cl, pz, ops_z1, 1,
	                &z1); /* a new batch (gen 1): O was handed over at the failure */
	fx_nap_ms(100);
	first_ok = -1;
	fx_kv_run_async_cb(cl, pz, ops_z2, 2, first_op_cb, &z2);
	fx_reply_await(&w);
	fx_reply_await(&o1);
	fx_reply_await(&o2);
	fx_reply_await(&x);
	fx_reply_await(&q);
	fx_reply_await(&z1);
	fx_reply_await(&z2);
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
	fx_reply a = FX_REPLY_INIT;
	Dobj__Test__Op *put = fx_op("put", "slow", "v1");

	fx_kv_run_async(cl, name, &put, 1, &a);
	fx_db_wait_sleeping(&db);
	cr_assert_gt(fx_proxy_cut(px), 0);
	fx_reply_await(&a);
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
	fx_reply a = FX_REPLY_INIT;
	Dobj__Test__Op *ops[] = {fx_op("put", "held", "1")};
	char *pid;
	double waited;
	bool answered;

	fx_stack_restart(&db, &srv, &cl, args);
	fx_http_wait(http);
	cr_assert_eq(fx_metric_seconds(http, "dobj_commit_waiting_seconds"), 0.0,
	             "a commit is waiting before any call");
	free(fx_db_query1(&db,
	                  "CREATE FUNCTION held() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                  "BEGIN IF NEW.key = 'held' THEN PERFORM pg_sleep(7); END IF; "
	                  "RETURN NULL; END $$; "
	                  "CREATE CONSTRAINT TRIGGER held AFTER INSERT OR UPDATE ON dobj_storage "
	                  "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION held()"));

	fx_kv_run_async(cl, "holder", ops, 1, &a);
	fx_db_wait_sleeping(&db);
	pid = fx_db_query1(&db, "SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' "
	                        "AND datname = current_database()");
	fx_nap_ms(1500);
	waited = fx_metric_seconds(http, "dobj_commit_waiting_seconds");
	cr_assert(waited >= 1.0 && waited < 10.0,
	          "dobj_commit_waiting_seconds is %.3f 1.5 s into a held commit", waited);
	pthread_mutex_lock(&a.mu);
	answered = a.done;
	pthread_mutex_unlock(&a.mu);
	cr_assert(!answered, "the call was answered before its commit ended");

	fx_reply_await(&a);
	cr_assert_eq(a.status, DOBJ_OK, "%s %s", dobj_err_name(a.status), a.message);
	/* the first warning comes 5 s after the commit was sent, or a bit later on a busy machine */
	snprintf(needle, sizeof(needle), " s for PostgreSQL backend %s (see pg_stat_activity)",
	         pid);
	cr_assert(fx_log_contains(srv.log_path, needle), "no warning \"%s\" in dobjd's log",
	          needle);
	waited = fx_metric_seconds(http, "dobj_commit_waiting_seconds");
	cr_assert_eq(waited, 0.0, "the gauge still counts a commit that ended: %.3f", waited);
	free(pid);
}
