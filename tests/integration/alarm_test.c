// SPDX-License-Identifier: MIT
// alarm_test.c - alarms through real dobjd processes and PostgreSQL (the TestKV class): set,
// replace, delete and rollback; firing and removal; surviving kill -9; retries with growing
// delays; parking; and a standby that takes over from a stopped server running each alarm
// exactly once.

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "stack.h"

FX_STACK_SUITE(alarm, "dobjd-test", 240);

static Dobj__Test__Op *
op_alarm_in(int64_t in_ms)
{
	Dobj__Test__Op *op = fx_op("alarm_set", NULL, NULL);

	op->has_in_ms = 1;
	op->in_ms = in_ms;
	return op;
}

/* run1 runs one op on object name and returns its result's status (count in *count). */
static dobj_err
run1(const char *name, Dobj__Test__Op *op, uint64_t *count)
{
	Dobj__Test__ScriptResult *r;
	char msg[256] = "";
	dobj_err rc = fx_kv_run(cl, name, &op, 1, &r, msg, sizeof(msg));

	cr_assert_eq(rc, DOBJ_OK, "%s: %s", dobj_err_name(rc), msg);
	rc = (dobj_err)r->results[0]->status;
	if (count != NULL)
		*count = r->results[0]->count;
	dobj__test__script_result__free_unpacked(r, NULL);
	return rc;
}

/* wait_runs waits until object name's alarm has run n times (key alarm_runs, read from
 * PostgreSQL), failing after deadline_ms. */
static void
wait_runs(const char *name, long n, long deadline_ms)
{
	char sql[512];
	dobj_id id;
	char hex[DOBJ_ID_HEX_SIZE];

	dobj_id_from_name("TestKV", name, &id);
	dobj_id_to_string(&id, hex);
	snprintf(sql, sizeof(sql),
	         "SELECT convert_from(value, 'UTF8') FROM dobj_storage WHERE class = 'TestKV' "
	         "AND id = '\\x%s' AND key = 'alarm_runs'",
	         hex);
	for (long waited = 0; fx_db_query_long(&db, sql) != n; waited += 20) {
		cr_assert_lt(waited, deadline_ms, "alarm of %s did not run %ld times in %ld ms",
		             name, n, deadline_ms);
		fx_nap_ms(20);
	}
}

Test(alarm, set_replace_delete_and_rollback)
{
	Dobj__Test__Op *set_at = fx_op("alarm_set", NULL, NULL), *bad[2];
	Dobj__Test__ScriptResult *r;
	uint64_t v;

	cr_assert_eq(run1("a", fx_op("alarm_get", NULL, NULL), NULL), DOBJ_NOT_FOUND);
	set_at->has_at_ms = 1;
	set_at->at_ms = 4102444800000; /* 2100-01-01: never fires here */
	cr_assert_eq(run1("a", set_at, NULL), DOBJ_OK);
	cr_assert_eq(run1("a", fx_op("alarm_get", NULL, NULL), &v), DOBJ_OK);
	cr_assert_eq(v, 4102444800000ULL);
	set_at->at_ms = 4102444800001;
	cr_assert_eq(run1("a", set_at, NULL), DOBJ_OK);
	cr_assert_eq(fx_db_query_long(&db, "SELECT due_ms FROM dobj_alarms"), 4102444800001L,
	             "setting again replaces the one alarm");
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 1);

	/* a failing turn's alarm write is discarded with its other writes */
	bad[0] = op_alarm_in(60000);
	bad[1] = fx_op("fail", NULL, NULL);
	cr_assert_eq(fx_kv_run(cl, "a", bad, 2, &r, NULL, 0), DOBJ_ABORTED);
	cr_assert_eq(run1("a", fx_op("alarm_get", NULL, NULL), &v), DOBJ_OK);
	cr_assert_eq(v, 4102444800001ULL);

	cr_assert_eq(run1("a", fx_op("alarm_delete", NULL, NULL), &v), DOBJ_OK);
	cr_assert_eq(v, 1, "delete reports the alarm existed");
	cr_assert_eq(run1("a", fx_op("alarm_delete", NULL, NULL), &v), DOBJ_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 0);

	/* the alarm is read back from PostgreSQL after a restart */
	cr_assert_eq(run1("a", set_at, NULL), DOBJ_OK);
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	cr_assert_eq(run1("a", fx_op("alarm_get", NULL, NULL), &v), DOBJ_OK);
	cr_assert_eq(v, 4102444800001ULL);
}

Test(alarm, fires_once_and_is_removed)
{
	cr_assert_eq(run1("f", op_alarm_in(200), NULL), DOBJ_OK);
	wait_runs("f", 1, 10000);
	cr_assert_eq(run1("f", fx_op("alarm_get", NULL, NULL), NULL), DOBJ_NOT_FOUND);
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 0);
}

Test(alarm, a_handler_can_set_the_next_alarm)
{
	Dobj__Test__Op *ops[] = {fx_op("put", "alarm_again_ms", "100"), op_alarm_in(50)};
	Dobj__Test__ScriptResult *r;

	cr_assert_eq(fx_kv_run(cl, "again", ops, 2, &r, NULL, 0), DOBJ_OK);
	dobj__test__script_result__free_unpacked(r, NULL);
	wait_runs("again", 3, 10000);
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 1,
	             "the next one is set");
}

Test(alarm, survives_kill9_and_fires_after_restart)
{
	cr_assert_eq(run1("k", op_alarm_in(1500), NULL), DOBJ_OK);
	fx_server_kill(&srv, SIGKILL);
	fx_server_start(&srv, &db, srv.port, NULL);
	wait_runs("k", 1, 15000);
}

Test(alarm, failing_handler_is_retried_with_growing_delays)
{
	char path[128], put_log[160];
	Dobj__Test__Op *ops[3];
	Dobj__Test__ScriptResult *r;
	long long t[4] = {0};
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/tmp/dobj-alarm-log-%ld", (long)getpid());
	unlink(path);
	snprintf(put_log, sizeof(put_log), "%s", path);
	ops[0] = fx_op("put", "alarm_log", put_log);
	ops[1] = fx_op("put", "alarm_fail_times", "2");
	ops[2] = op_alarm_in(0);
	cr_assert_eq(fx_kv_run(cl, "retry", ops, 3, &r, NULL, 0), DOBJ_OK);
	dobj__test__script_result__free_unpacked(r, NULL);
	wait_runs("retry", 1, 30000);

	cr_assert_not_null(f = fopen(path, "r"));
	while (n < 4 && fscanf(f, "%lld", &t[n]) == 1)
		n++;
	fclose(f);
	unlink(path);
	cr_assert_eq(n, 3, "two failed runs and one that succeeded, got %d runs", n);
	/* retries after 2 s and 4 s, each with up to 20% jitter */
	cr_assert_geq(t[1] - t[0], 1600, "first retry after %lld ms", t[1] - t[0]);
	cr_assert_geq(t[2] - t[1], 3200, "second retry after %lld ms", t[2] - t[1]);
	cr_assert_gt(t[2] - t[1], t[1] - t[0], "the delays grow");
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 0);
}

/* The object keeps its alarm's due time in memory; the row can move without it: the poller
 * reschedules a failed run, an operator edits or unparks a row. The claim of the moved row
 * must still run the handler, not take the object's old due time as a newer alarm. */
Test(alarm, an_alarm_moved_behind_the_objects_back_still_fires)
{
	cr_assert_eq(run1("moved", op_alarm_in(3600000), NULL), DOBJ_OK);
	cr_assert_eq(run1("moved", fx_op("alarm_get", NULL, NULL), NULL), DOBJ_OK);
	cr_assert_eq(fx_db_query_long(&db, "UPDATE dobj_alarms SET due_ms = "
	                                   "(extract(epoch FROM clock_timestamp()) * 1000)::bigint "
	                                   "RETURNING 1"),
	             1);
	wait_runs("moved", 1, 10000);
	cr_assert_eq(fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"), 0);
	cr_assert_eq(run1("moved", fx_op("alarm_get", NULL, NULL), NULL), DOBJ_NOT_FOUND);
}

/* An alarm whose object cannot be loaded (its shard cannot read PostgreSQL, the poller can)
 * goes back unrun without counting an attempt; it waits a second before it is claimed again
 * instead of looping through claims and releases, and runs once the object loads. */
Test(alarm, an_alarm_whose_object_cannot_load_is_not_claimed_in_a_loop)
{
	long updates;

	cr_assert_eq(run1("cold", op_alarm_in(1500), NULL), DOBJ_OK);
	fx_stack_restart(&db, &srv, &cl, NULL); /* the object is no longer in memory */
	free(fx_db_query1(&db, "CREATE TABLE alarm_updates (at timestamptz DEFAULT now())"));
	free(fx_db_query1(&db, "CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql "
	                       "AS $$ BEGIN INSERT INTO alarm_updates DEFAULT VALUES; "
	                       "RETURN NULL; END $$"));
	free(fx_db_query1(&db, "CREATE TRIGGER count_update AFTER UPDATE ON dobj_alarms "
	                       "FOR EACH ROW EXECUTE FUNCTION count_update()"));
	free(fx_db_query1(&db, "ALTER TABLE dobj_storage RENAME TO dobj_storage_away"));
	fx_nap_ms(4500); /* due after 1.5 s, then 3 s of failed loads */
	updates = fx_db_query_long(&db, "SELECT count(*) FROM alarm_updates");
	free(fx_db_query1(&db, "ALTER TABLE dobj_storage_away RENAME TO dobj_storage"));
	/* a claim and a release a second: a few, not one pair per millisecond */
	cr_assert_geq(updates, 2, "the alarm was never claimed (%ld updates)", updates);
	cr_assert_leq(updates, 12, "%ld claims and releases in 3 s", updates);
	cr_assert_eq(fx_db_query_long(&db, "SELECT attempts FROM dobj_alarms"), 0);
	wait_runs("cold", 1, 15000);
}

/* failing_alarm_parked restarts the server with args, gives object name an alarm due now
 * whose every run fails (alarm_fail_times, and no alarm_log key: lines 0 <= 1000), and waits
 * up to deadline_ms for it to be parked. */
static void
failing_alarm_parked(const char *name, const char *const *args, long deadline_ms)
{
	Dobj__Test__Op *ops[2];
	Dobj__Test__ScriptResult *r;

	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, args);
	ops[0] = fx_op("put", "alarm_fail_times", "1000");
	ops[1] = op_alarm_in(0);
	cr_assert_eq(fx_kv_run(cl, name, ops, 2, &r, NULL, 0), DOBJ_OK);
	dobj__test__script_result__free_unpacked(r, NULL);
	for (long waited = 0;
	     fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms WHERE parked") != 1;
	     waited += 20) {
		cr_assert_lt(waited, deadline_ms, "the alarm was not parked");
		fx_nap_ms(20);
	}
}

Test(alarm, an_alarm_that_keeps_failing_is_parked)
{
	static const char *const args[] = {"--alarm-retry-ms", "50", "--alarm-max-retries", "3",
	                                   NULL};
	char *err;

	failing_alarm_parked("parked", args, 20000);
	cr_assert_eq(fx_db_query_long(&db, "SELECT attempts FROM dobj_alarms"), 4,
	             "1 run and 3 retries");
	err = fx_db_query1(&db, "SELECT last_error FROM dobj_alarms");
	cr_assert_str_eq(err, "alarm run 0 fails on purpose");
	free(err);
	/* parked alarms are not alarms of the object; a new set re-arms */
	cr_assert_eq(run1("parked", fx_op("alarm_get", NULL, NULL), NULL), DOBJ_NOT_FOUND);
	cr_assert_eq(run1("parked", op_alarm_in(3600000), NULL), DOBJ_OK);
	cr_assert_eq(fx_db_query_long(
	                 &db, "SELECT count(*) FROM dobj_alarms WHERE NOT parked AND attempts = 0"),
	             1);
}

Test(alarm, zero_retries_parks_an_alarm_at_its_first_failure)
{
	static const char *const args[] = {"--alarm-max-retries", "0", NULL};

	failing_alarm_parked("once", args, 10000);
	cr_assert_eq(fx_db_query_long(&db, "SELECT attempts FROM dobj_alarms"), 1,
	             "one run, no retry");
}

/* A failed run's message is the alarm's last_error, a text column: bytes that are not UTF-8
 * would make PostgreSQL refuse the retry's update, so that the alarm ran again at each lease's
 * end with its attempts never counted, and was never parked. */
Test(alarm, a_failure_message_that_is_not_utf8_is_recorded_repaired)
{
	static const char *const args[] = {"--alarm-max-retries", "0", NULL};
	char *err;

	cr_assert_eq(run1("note", fx_op("put", "alarm_fail_note", "\xff\xfe!"), NULL), DOBJ_OK);
	failing_alarm_parked("note", args, 10000);
	cr_assert_eq(fx_db_query_long(&db, "SELECT attempts FROM dobj_alarms"), 1);
	err = fx_db_query1(&db, "SELECT last_error FROM dobj_alarms");
	cr_assert_str_eq(err, "alarm run 0 fails: \xef\xbf\xbd\xef\xbf\xbd!");
	free(err);
}

Test(alarm, a_standby_takes_over_and_runs_each_of_1000_alarms_exactly_once)
{
	fx_server other;
	enum { N = 1000 };

	/* due in 3 s: the standby waits for the writer lock by then */
	for (int i = 0; i < N; i++) {
		char name[32];
		Dobj__Test__Op *op = fx_op("alarm_set", NULL, NULL);
		snprintf(name, sizeof(name), "many-%d", i);
		op->has_in_ms = 1;
		op->in_ms = 3000;
		cr_assert_eq(run1(name, op, NULL), DOBJ_OK);
	}
	fx_server_spawn(&other, &db, 0, NULL);
	for (int64_t end = fx_now_ms() + 10000;
	     !fx_log_contains(other.log_path, "waiting for the writer lock");) {
		cr_assert_lt(fx_now_ms(), end, "the second server does not stand by");
		fx_nap_ms(20);
	}
	/* the first runs some, stops (giving back the leases of alarms it has not run), and the
	 * standby runs the rest */
	for (long waited = 0; fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms") == N;
	     waited += 5) {
		cr_assert_lt(waited, 20000, "no alarm ran");
		fx_nap_ms(5);
	}
	fx_server_stop(&srv);
	fx_server_await(&other, 10000);
	for (long waited = 0; fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms") != 0;
	     waited += 50) {
		cr_assert_lt(waited, 60000, "alarms left: %ld",
		             fx_db_query_long(&db, "SELECT count(*) FROM dobj_alarms"));
		fx_nap_ms(50);
	}
	cr_assert_eq(
	    fx_db_query_long(&db, "SELECT count(*) FROM dobj_storage WHERE key = 'alarm_runs'"), N);
	cr_assert_eq(fx_db_query_long(&db,
	                              "SELECT count(*) FROM dobj_storage WHERE key = 'alarm_runs' "
	                              "AND convert_from(value, 'UTF8') <> '1'"),
	             0, "an alarm ran more than once");
	fx_server_stop(&other);
}
