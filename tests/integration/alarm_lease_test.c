// SPDX-License-Identifier: MIT
// alarm_lease_test.c - an alarm's lease against a busy shard, a lease that runs out, the alarm
// set again while claimed, and failed reads and runs: the alarm runs once, nothing else fails,
// and the object sees its alarm as it is. An in-process server (TestKV compiled in), so that
// the test can move the server clock (dobj_server_advance_clock).

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <dobj/server.h>

#include "calls.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"
#include "../server/testkv.c"

typedef struct inproc {
	fx_db db;
	dobj_server *s;
	dobj_client *c;
	char url[96];
	char http_url[64];
	int http_port; /* 0: no HTTP endpoint */
} inproc;

/* inproc_up_opts starts a server of TestKV on a new database; http: with /metrics too. */
/* inproc_start starts the server and its client on ip's database (again, after a stop). */
static void
inproc_start(inproc *ip, int max_retries, unsigned shards, unsigned max_batch)
{
	dobj_server_opts so = {0};
	char err[512];

	so.listen_url = ip->url;
	so.database_url = ip->db.dsn;
	so.shards = shards;
	so.http_listen_url = ip->http_port ? ip->http_url : "";
	so.alarm_max_retries = max_retries;
	so.max_batch = max_batch;
	cr_assert_eq(dobj_server_open(&ip->s, &so, err, sizeof(err)), DOBJ_OK, "%s", err);
	cr_assert_eq(dobj_server_register(ip->s, &testkv_class), DOBJ_OK);
	cr_assert_eq(dobj_server_start(ip->s, err, sizeof(err)), DOBJ_OK, "%s", err);
	ip->c = fx_client(ip->url, 20000);
}

static void
inproc_up_opts(inproc *ip, int max_retries, unsigned shards, unsigned max_batch, bool http)
{
	ip->http_port = http ? fx_http_url(ip->http_url, sizeof(ip->http_url)) : 0;
	fx_db_create(&ip->db, true);
	snprintf(ip->url, sizeof(ip->url), "ipc:///tmp/dobj-lease-%ld.ipc", (long)getpid());
	inproc_start(ip, max_retries, shards, max_batch);
}

static void
inproc_up_n(inproc *ip, int max_retries, unsigned shards)
{
	inproc_up_opts(ip, max_retries, shards, 0, false);
}

static void
inproc_up(inproc *ip, int max_retries)
{
	inproc_up_n(ip, max_retries, 1);
}

static void
inproc_down(inproc *ip)
{
	dobj_client_close(ip->c);
	dobj_server_close(ip->s);
	fx_db_drop(&ip->db);
}

static int64_t
server_now(inproc *ip)
{
	Dobj__Test__Op *op = fx_op("now", NULL, NULL);
	Dobj__Test__ScriptResult *r = fx_kv_run_ok(ip->c, "clock", &op, 1);
	int64_t now = (int64_t)r->results[0]->count;

	dobj__test__script_result__free_unpacked(r, NULL);
	return now;
}

static long
file_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	if (f == NULL)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* set_logged_alarm gives object name an alarm at at_ms whose runs append a line to log. */
static void
set_logged_alarm(inproc *ip, const char *name, const char *log, int64_t at_ms)
{
	Dobj__Test__Op *ops[2];
	Dobj__Test__ScriptResult *r;

	unlink(log);
	ops[0] = fx_op("put", "alarm_log", log);
	ops[1] = fx_op("alarm_set", NULL, NULL);
	ops[1]->has_at_ms = 1;
	ops[1]->at_ms = at_ms;
	r = fx_kv_run_ok(ip->c, name, ops, 2);
	dobj__test__script_result__free_unpacked(r, NULL);
}

/* wait_rows waits until sql counts want rows, for up to tries naps of nap_ms. */
static void
wait_rows(inproc *ip, const char *sql, long want, int tries, int nap_ms, const char *what)
{
	for (int i = 0; fx_db_query_long(&ip->db, sql) != want; i++) {
		cr_assert_lt(i, tries, "%s", what);
		fx_nap_ms(nap_ms);
	}
}

/* queue_depth reads the calls queued in shard 0 from /metrics (an inproc with http). */
static long
queue_depth(inproc *ip)
{
	static char body[1 << 20];
	const char *key = "dobj_shard_queue_depth{shard=\"0\"} ", *p;

	cr_assert_eq(fx_http_get(ip->http_port, "/metrics", body, sizeof(body)), 200);
	p = strstr(body, key);
	cr_assert_not_null(p);
	return strtol(p + strlen(key), NULL, 10);
}

#define CLAIMED "SELECT count(*) FROM dobj_alarms WHERE lease_owner IS NOT NULL"
#define ALARMS "SELECT count(*) FROM dobj_alarms"

/* a blocker: one call that keeps the (only) shard busy */
typedef struct blocker {
	inproc *ip;
	const char *name;
	Dobj__Test__Op *op;
	pthread_t t;
} blocker;

static void *
blocker_main(void *arg)
{
	blocker *b = arg;
	Dobj__Test__ScriptResult *r;

	if (fx_kv_run(b->ip->c, b->name ? b->name : "blocker", &b->op, 1, &r, NULL, 0) == DOBJ_OK)
		dobj__test__script_result__free_unpacked(r, NULL);
	return NULL;
}

static void
block_shard(blocker *b, inproc *ip, long ms, const char *started)
{
	b->ip = ip;
	if (b->name == NULL)
		b->name = "blocker";
	b->op = fx_op("sleep", started, NULL);
	b->op->has_sleep_ms = 1;
	b->op->sleep_ms = ms;
	unlink(started);
	cr_assert_eq(pthread_create(&b->t, NULL, blocker_main, b), 0);
	for (int i = 0; access(started, F_OK) != 0; i++) {
		cr_assert_lt(i, 1000, "the blocker never started");
		fx_nap_ms(5);
	}
}

/* A scene: a one-shard server, an object whose alarm at now + due_in_ms logs its runs, and a
 * blocker that keeps the shard busy while the alarm is claimed and becomes due. */
typedef struct scene {
	inproc ip;
	blocker b;
	char log[128], started[128];
	int64_t now;
} scene;

static void
scene_up(scene *sc, int tag, const char *obj, int64_t due_in_ms, long block_ms)
{
	memset(sc, 0, sizeof(*sc));
	inproc_up(&sc->ip, 0);
	snprintf(sc->log, sizeof(sc->log), "/tmp/dobj-lease-log%d-%ld", tag, (long)getpid());
	snprintf(sc->started, sizeof(sc->started), "/tmp/dobj-lease-started%d-%ld", tag,
	         (long)getpid());
	sc->now = server_now(&sc->ip);
	set_logged_alarm(&sc->ip, obj, sc->log, sc->now + due_in_ms);
	block_shard(&sc->b, &sc->ip, block_ms, sc->started);
}

/* scene_claimed waits for the claim, then nap_ms for the alarm to be due and queued. */
static void
scene_claimed(scene *sc, int nap_ms)
{
	wait_rows(&sc->ip, CLAIMED, 1, 400, 5, "the alarm was never claimed");
	fx_nap_ms(nap_ms);
}

static void
scene_down(scene *sc)
{
	unlink(sc->log);
	unlink(sc->started);
	inproc_down(&sc->ip);
}

/* A claimed alarm still queued in its shard when its lease runs out (here: the clock moves a
 * minute ahead while the shard is busy) is found again by the same server's next claim. That
 * claim renews the lease; the call already on its way runs the alarm, once. (Before, a second
 * call for the same due time joined the first in one batch, ran the handler again, and the
 * batch's fence failed on the duplicate: the alarm ran three times.) */
Test(alarm_lease, a_reclaimed_alarm_runs_once, .timeout = 120)
{
	scene sc;

	scene_up(&sc, 1, "dup", 500, 2500);
	scene_claimed(&sc, 200); /* due now: submitted to the busy shard */
	dobj_server_advance_clock(sc.ip.s, 61000);
	pthread_join(sc.b.t, NULL);
	wait_rows(&sc.ip, ALARMS, 0, 2000, 10, "the alarm never completed");
	fx_nap_ms(500);
	cr_assert_eq(file_lines(sc.log), 1, "the handler ran %ld times for one due time",
	             file_lines(sc.log));
	scene_down(&sc);
}

/* A failed alarm run makes the object forget its alarm before the poller records the
 * failure. A turn of the object in that window reads the row as it still is (due, leased, not
 * parked); a leased row is not cached, so once the poller parks it the next turn reads it again
 * and dobj_alarm_get no longer reports the parked alarm as set. */
Test(alarm_lease, a_parked_alarm_is_not_reported_as_set, .timeout = 120)
{
	inproc ip;
	blocker b;
	char started[128];
	Dobj__Test__Op *ops[2], *get = fx_op("alarm_get", NULL, NULL);
	Dobj__Test__ScriptResult *r;
	int64_t now;

	b.name = NULL;
	inproc_up(&ip, -1); /* no retries: parked at the first failure */
	snprintf(started, sizeof(started), "/tmp/dobj-lease-started2-%ld", (long)getpid());
	now = server_now(&ip);
	ops[0] = fx_op("put", "alarm_fail_times", "1000");
	ops[1] = fx_op("alarm_set", NULL, NULL);
	ops[1]->has_at_ms = 1;
	ops[1]->at_ms = now + 500;
	r = fx_kv_run_ok(ip.c, "parkme", ops, 2);
	dobj__test__script_result__free_unpacked(r, NULL);

	block_shard(&b, &ip, 1500, started);
	wait_rows(&ip, CLAIMED, 1, 400, 5, "the alarm was never claimed");
	fx_nap_ms(200); /* due: the alarm turn is queued behind the blocker */
	/* queued behind the alarm turn: runs in the same batch, after it failed */
	r = fx_kv_run_ok(ip.c, "parkme", &get, 1);
	dobj__test__script_result__free_unpacked(r, NULL);
	pthread_join(b.t, NULL);
	for (int i = 0;
	     fx_db_query_long(&ip.db, "SELECT count(*) FROM dobj_alarms WHERE parked") != 1; i++) {
		cr_assert_lt(i, 500, "the alarm was not parked");
		fx_nap_ms(10);
	}
	r = fx_kv_run_ok(ip.c, "parkme", &get, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND,
	             "alarm_get reports the parked alarm as set (status %u, at %llu)",
	             r->results[0]->status, (unsigned long long)r->results[0]->count);
	dobj__test__script_result__free_unpacked(r, NULL);
	unlink(started);
	inproc_down(&ip);
}

/* name_on picks a TestKV object name owned by shard want of n. */
static void
name_on(char *out, size_t len, const char *base, unsigned want, unsigned n)
{
	for (int i = 0;; i++) {
		dobj_id id;

		snprintf(out, len, "%s-%d", base, i);
		dobj_id_from_name("TestKV", out, &id);
		if (dobj_id_shard(&id, n) == want)
			return;
	}
}

typedef struct writer {
	inproc *ip;
	const char *name;
	Dobj__Test__Op *op;
	dobj_err rc;
	char msg[512];
	pthread_t t;
} writer;

static void *
writer_main(void *arg)
{
	writer *w = arg;
	Dobj__Test__ScriptResult *r;

	w->rc = fx_kv_run(w->ip->c, w->name, &w->op, 1, &r, w->msg, sizeof(w->msg));
	if (w->rc == DOBJ_OK)
		dobj__test__script_result__free_unpacked(r, NULL);
	return NULL;
}

/* async_set sets name's alarm to at_ms from a thread of its own (w->rc once joined). */
static void
async_set(writer *w, inproc *ip, const char *name, int64_t at_ms)
{
	w->ip = ip;
	w->name = name;
	w->op = fx_op("alarm_set", NULL, NULL);
	w->op->has_at_ms = 1;
	w->op->at_ms = at_ms;
	cr_assert_eq(pthread_create(&w->t, NULL, writer_main, w), 0);
}

/* The lease running out in a busy shard, with three shards: the alarm's batch (shard 0) goes
 * in one transaction with the batch of shard 1, whose only call writes a key of an unrelated
 * object. The renewed lease holds, so the fence passes and the unrelated write commits. (A
 * fence that fails still fails every part of its transaction: see docs/alarms.md.) */
Test(alarm_lease, a_lease_run_out_in_a_busy_shard_fails_no_other_shard, .timeout = 120)
{
	inproc ip;
	blocker b = {0};
	writer slow = {0}, innocent = {0};
	char log[128], started[128], dup[32], blk[32], inn[32], slw[32];
	int64_t now;

	name_on(dup, sizeof(dup), "dup", 0, 3);
	name_on(blk, sizeof(blk), "blk", 0, 3);
	name_on(inn, sizeof(inn), "inn", 1, 3);
	name_on(slw, sizeof(slw), "slw", 2, 3);
	inproc_up_n(&ip, 0, 3);
	free(fx_db_query1(&ip.db, "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ "
	                          "BEGIN IF NEW.key = 'slow' THEN PERFORM pg_sleep(2); END IF; "
	                          "RETURN NEW; END $$; "
	                          "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON dobj_storage "
	                          "FOR EACH ROW EXECUTE FUNCTION slow()"));
	snprintf(log, sizeof(log), "/tmp/dobj-lease-log3-%ld", (long)getpid());
	snprintf(started, sizeof(started), "/tmp/dobj-lease-started3-%ld", (long)getpid());
	now = server_now(&ip);
	set_logged_alarm(&ip, dup, log, now + 500);

	slow.ip = innocent.ip = &ip;
	slow.name = slw;
	slow.op = fx_op("put", "slow", "1");
	innocent.name = inn;
	innocent.op = fx_op("put", "x", "1");
	b.name = blk;
	block_shard(&b, &ip, 1500, started);
	wait_rows(&ip, CLAIMED, 1, 400, 5, "the alarm was never claimed");
	fx_nap_ms(200);
	dobj_server_advance_clock(ip.s, 61000);
	/* the committer is busy for 2 s with shard 2's slow write ... */
	cr_assert_eq(pthread_create(&slow.t, NULL, writer_main, &slow), 0);
	fx_nap_ms(300);
	/* ... while shard 0 ends the alarm batch and shard 1 a write of an unrelated object */
	pthread_join(b.t, NULL);
	fx_nap_ms(100);
	cr_assert_eq(pthread_create(&innocent.t, NULL, writer_main, &innocent), 0);
	pthread_join(innocent.t, NULL);
	pthread_join(slow.t, NULL);
	cr_assert_eq(slow.rc, DOBJ_OK, "%s", slow.msg);
	cr_assert_eq(innocent.rc, DOBJ_OK,
	             "a write of an unrelated object on another shard failed: "
	             "%s: %s",
	             dobj_err_name(innocent.rc), innocent.msg);
	unlink(log);
	unlink(started);
	inproc_down(&ip);
}

/* An object that is live but has not read its alarm yet (activated by a method after a restart)
 * when its shard's connection breaks: the alarm turn cannot read the row. That is not a run:
 * the poller gives the lease back without counting an attempt (docs/alarms.md), so with no
 * retries allowed the alarm is still not parked, and runs once the shard reconnects. */
Test(alarm_lease, an_unread_alarm_row_is_not_a_failed_run, .timeout = 120)
{
	inproc ip;
	char log[128];
	Dobj__Test__Op *put = fx_op("put", "k", "v");
	Dobj__Test__ScriptResult *r;
	int64_t now;

	inproc_up(&ip, -1);
	snprintf(log, sizeof(log), "/tmp/dobj-lease-log4-%ld", (long)getpid());
	now = server_now(&ip);
	set_logged_alarm(&ip, "unread", log, now + 3600 * 1000LL); /* due when the clock moves */
	/* restart: the object is activated again by a call that does not touch its alarm */
	dobj_client_close(ip.c);
	dobj_server_close(ip.s);
	inproc_start(&ip, -1, 1, 0);
	r = fx_kv_run_ok(ip.c, "unread", &put, 1);
	dobj__test__script_result__free_unpacked(r, NULL);
	/* end the shard's backend (its last query was the object's load); the poller's stays */
	cr_assert_eq(fx_db_query_long(
	                 &ip.db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
	                         "WHERE datname = current_database() AND pid <> pg_backend_pid() "
	                         "AND query LIKE 'SELECT%dobj_storage%'"),
	             1);
	dobj_server_advance_clock(ip.s, 3600 * 1000LL);
	for (int i = 0;
	     fx_db_query_long(&ip.db, "SELECT count(*) FROM dobj_alarms WHERE NOT parked AND "
	                              "lease_owner IS NULL") == 1;
	     i++) {
		cr_assert_lt(i, 1000, "the alarm was never claimed");
		fx_nap_ms(10);
	}
	fx_nap_ms(3000);
	cr_assert_eq(fx_db_query_long(&ip.db, "SELECT count(*) FROM dobj_alarms WHERE parked"), 0,
	             "parked after %ld failed runs; the handler ran %ld times",
	             fx_db_query_long(&ip.db, "SELECT attempts FROM dobj_alarms"), file_lines(log));
	/* given back, it is claimed again and runs on the shard's new connection */
	wait_rows(&ip, ALARMS, 0, 1500, 10, "the alarm never ran after the shard reconnected");
	cr_assert_eq(file_lines(log), 1, "the handler ran %ld times", file_lines(log));
	unlink(log);
	inproc_down(&ip);
}

/* An object sets its alarm again, to the same time, after the poller claimed it and before the
 * claimed turn runs, in a batch of its own that commits first. It is the same alarm: the claim
 * keeps its lease, the turn's commit (fenced by that lease) succeeds, and the handler runs once.
 * Were the lease cleared, the turn's commit would fail as "alarm lease lost" and the alarm,
 * claimable again, would run a second time. */
Test(alarm_lease, setting_a_claimed_alarm_to_the_same_time_runs_it_once, .timeout = 120)
{
	inproc ip;
	blocker b = {0};
	writer st = {0};
	char log[128], started[128], blk[32];
	Dobj__Test__Op *ops[2];
	Dobj__Test__ScriptResult *r;
	int64_t at;

	name_on(blk, sizeof(blk), "blk", 0, 1);
	inproc_up_opts(&ip, 0, 1, 1, true); /* one call a batch: the set commits first */
	snprintf(log, sizeof(log), "/tmp/dobj-lease-log5-%ld", (long)getpid());
	snprintf(started, sizeof(started), "/tmp/dobj-lease-started5-%ld", (long)getpid());
	unlink(log);
	at = server_now(&ip) + 3600 * 1000LL;
	ops[0] = fx_op("put", "alarm_log", log);
	ops[1] = fx_op("alarm_set", NULL, NULL);
	ops[1]->has_at_ms = 1;
	ops[1]->at_ms = at;
	r = fx_kv_run_ok(ip.c, "again", ops, 2);
	dobj__test__script_result__free_unpacked(r, NULL);

	/* the shard's queue: the blocker, then the same alarm time set again, then the alarm turn */
	b.name = blk;
	block_shard(&b, &ip, 1500, started);
	async_set(&st, &ip, "again", at);
	for (int i = 0; queue_depth(&ip) < 1; i++) {
		cr_assert_lt(i, 1000, "the call setting the alarm again never queued");
		fx_nap_ms(5);
	}
	dobj_server_advance_clock(ip.s, 3600 * 1000LL);
	wait_rows(&ip, CLAIMED, 1, 400, 5, "the alarm was never claimed");
	pthread_join(b.t, NULL);
	pthread_join(st.t, NULL);
	wait_rows(&ip, ALARMS, 0, 1000, 10, "the alarm never completed");
	fx_nap_ms(1500); /* time for a second run, were there one */
	cr_assert_eq(file_lines(log), 1, "the handler ran %ld times for one due time",
	             file_lines(log));
	cr_assert_eq(fx_db_query_long(&ip.db, "SELECT count(*) FROM dobj_alarms"), 0);
	unlink(log);
	unlink(started);
	inproc_down(&ip);
}

/* A claimed alarm whose turn waits in a busy shard has its lease renewed once half of it has
 * passed, before any other server could take the alarm: here the clock moves 40 s ahead while
 * the shard is busy, and the lease then ends a minute after the new now. */
Test(alarm_lease, a_waiting_alarms_lease_is_renewed, .timeout = 120)
{
	scene sc;
	char sql[256];
	int64_t now;
	long until0;

	scene_up(&sc, 6, "renew", 500, 3000);
	scene_claimed(&sc, 200); /* due: its turn waits behind the blocker */
	until0 = fx_db_query_long(&sc.ip.db, "SELECT lease_until_ms FROM dobj_alarms");
	dobj_server_advance_clock(sc.ip.s, 40000);
	now = sc.now + 40000; /* (a call to read the clock would wait behind the blocker) */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM dobj_alarms WHERE lease_until_ms >= %lld",
	         (long long)(now + 50000));
	for (int i = 0; fx_db_query_long(&sc.ip.db, sql) != 1; i++) {
		cr_assert_lt(i, 800,
		             "the lease was not renewed (it ends at %ld, the clock is at %lld)",
		             fx_db_query_long(&sc.ip.db, "SELECT lease_until_ms FROM dobj_alarms"),
		             (long long)now);
		fx_nap_ms(5);
	}
	cr_assert_gt(fx_db_query_long(&sc.ip.db, "SELECT lease_until_ms FROM dobj_alarms"), until0);
	pthread_join(sc.b.t, NULL);
	wait_rows(&sc.ip, ALARMS, 0, 1000, 10, "the alarm never completed");
	cr_assert_eq(file_lines(sc.log), 1, "the handler ran %ld times", file_lines(sc.log));
	scene_down(&sc);
}

/* The claimed turn of T finds the object's alarm moved to another time (superseded), and a turn
 * after it in the same batch sets T again. Its write keeps the claim's lease, which no call
 * holds any more: the poller gives it up after the superseded outcome, and T runs within
 * seconds, not when the lease would have run out a minute later. */
Test(alarm_lease, an_alarm_set_back_after_a_superseded_turn_runs_soon, .timeout = 120)
{
	scene sc;
	writer x = {0}, y = {0};

	scene_up(&sc, 7, "setback", 800, 2500);
	async_set(&x, &sc.ip, "setback", sc.now + 3600 * 1000LL); /* queued before the alarm turn */
	scene_claimed(&sc, 300);                                  /* due: its turn behind X */
	async_set(&y, &sc.ip, "setback", sc.now + 800);           /* and Y behind it */
	pthread_join(sc.b.t, NULL);
	pthread_join(x.t, NULL);
	pthread_join(y.t, NULL);
	cr_assert_eq(x.rc, DOBJ_OK, "%s", x.msg);
	cr_assert_eq(y.rc, DOBJ_OK, "%s", y.msg);
	wait_rows(&sc.ip, ALARMS, 0, 1500, 10, "the alarm set back did not run within 15 s");
	cr_assert_eq(file_lines(sc.log), 1, "the handler ran %ld times", file_lines(sc.log));
	scene_down(&sc);
}

/* The claimed turn of T fires, and a turn after it in the same batch sets T again: a new alarm,
 * due already, which runs within seconds. (When the poller's next claim finds the fired call
 * not yet recorded, the lease that claim took is given up once it is; whether it does depends
 * on which comes first, the commit's notification or the shard's report.) */
Test(alarm_lease, an_alarm_set_again_after_it_fired_runs_again_soon, .timeout = 120)
{
	scene sc;
	writer y = {0};

	scene_up(&sc, 8, "twice", 800, 2000);
	scene_claimed(&sc, 300); /* due: its turn queued behind the blocker */
	async_set(&y, &sc.ip, "twice", sc.now + 800);
	pthread_join(sc.b.t, NULL);
	pthread_join(y.t, NULL);
	cr_assert_eq(y.rc, DOBJ_OK, "%s", y.msg);
	for (int i = 0; file_lines(sc.log) < 2; i++) {
		cr_assert_lt(i, 1500, "the alarm set again did not run within 15 s (runs %ld)",
		             file_lines(sc.log));
		fx_nap_ms(10);
	}
	wait_rows(&sc.ip, ALARMS, 0, 500, 10, "the second run did not complete");
	cr_assert_eq(file_lines(sc.log), 2);
	scene_down(&sc);
}

/* A claimed alarm whose lease is taken away behind the server's back (as if it had run out)
 * while its turn waits: the next claim finds it again, and only renews the lease; the call on
 * its way runs the alarm, once. (The lease renewal alone cannot help here: it renews only the
 * leases this server still holds.) */
Test(alarm_lease, a_claim_that_finds_its_own_waiting_alarm_does_not_run_it_again, .timeout = 120)
{
	scene sc;

	scene_up(&sc, 9, "lost", 500, 3000);
	scene_claimed(&sc, 200); /* due: its turn queued behind the blocker */
	cr_assert_eq(fx_db_query_long(&sc.ip.db,
	                              "WITH u AS (UPDATE dobj_alarms SET lease_owner = NULL, "
	                              "lease_until_ms = NULL RETURNING 1) SELECT count(*) FROM u"),
	             1);
	wait_rows(&sc.ip, CLAIMED, 1, 400, 5, "the alarm was not claimed again");
	pthread_join(sc.b.t, NULL);
	wait_rows(&sc.ip, ALARMS, 0, 1000, 10, "the alarm never completed");
	fx_nap_ms(500);
	cr_assert_eq(file_lines(sc.log), 1, "the handler ran %ld times for one due time",
	             file_lines(sc.log));
	scene_down(&sc);
}

/* An alarm row still leased by a server that has ended (an earlier run of this one: each
 * process has its own node id) and an object that sets its alarm again to the same time: the
 * stale lease goes with the write, and the alarm runs when due, not once the lease runs out. */
Test(alarm_lease, an_alarm_set_again_over_an_ended_servers_lease_runs_when_due, .timeout = 120)
{
	inproc ip;
	char log[128];
	int64_t at;

	inproc_up(&ip, 0);
	snprintf(log, sizeof(log), "/tmp/dobj-lease-log10-%ld", (long)getpid());
	at = server_now(&ip) + 2000;
	set_logged_alarm(&ip, "orphan", log, at);
	/* the row as a server that claimed it and then ended leaves it */
	cr_assert_eq(
	    fx_db_query_long(&ip.db,
	                     "WITH u AS (UPDATE dobj_alarms SET lease_owner = 'ended:1:0', "
	                     "lease_until_ms = due_ms + 60000 RETURNING 1) SELECT count(*) FROM u"),
	    1);
	set_logged_alarm(&ip, "orphan", log, at);
	cr_assert_eq(fx_db_query_long(&ip.db, CLAIMED), 0, "the ended server's lease was kept");
	wait_rows(&ip, ALARMS, 0, 1000, 10, "the alarm did not run when due");
	cr_assert_eq(file_lines(log), 1);
	unlink(log);
	inproc_down(&ip);
}
