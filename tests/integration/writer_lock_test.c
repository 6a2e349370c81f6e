// SPDX-License-Identifier: MIT
// writer_lock_test.c - one dobjd writes a database at a time (server/writer.h), through real
// dobjd processes: a second one stands by (no RPC port, /readyz 503 naming the holder) and
// takes over with the first's data once it stops; SIGTERM ends a standby at once, status 0;
// the lock is taken again after the commit connection's backend is terminated; and a dobjd
// whose lock another session took (or took and bumped the epoch of) while its connection was
// down exits 1 and commits nothing more. `dobjd migrate` adds 0004 beside a running
// older server, whose schema this dobjd refuses until then.

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "calls.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

/* the writer lock's key (server/migrate.h) as pg_locks shows a bigint advisory lock */
#define LOCK_KEY "7237111335617718644::bigint"
#define LOCK_ROW                                                                              \
	"l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = (" LOCK_KEY \
	" >> 32)::oid AND l.objid = (" LOCK_KEY " & 4294967295)::oid "                        \
	"AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"

static fx_db db;
static fx_server first, second;

static void
setup(void)
{
	fx_server_use("dobjd");
	fx_db_create(&db, true);
}

static void
teardown(void)
{
	if (first.pid > 0)
		fx_server_kill(&first, SIGKILL);
	if (second.pid > 0)
		fx_server_kill(&second, SIGKILL);
	fx_db_drop(&db);
}

TestSuite(writer_lock, .init = setup, .fini = teardown, .timeout = 120);

/* start_http starts s serving db with an HTTP port of its own (returned). */
static int
start_http(fx_server *s, bool wait)
{
	static char urls[2][64];
	static int n;
	char *url = urls[n++ % 2];
	int port = fx_http_url(url, 64);
	const char *args[] = {"--http-listen", url, "--shards", "2", NULL};

	if (wait)
		fx_server_start(s, &db, 0, args);
	else
		fx_server_spawn(s, &db, 0, args);
	fx_http_wait(port);
	return port;
}

/* lock_holder: the backend that holds the writer lock, with application_name dobjd; 0 if
 * none does. */
static int
lock_holder(void)
{
	char *v =
	    fx_db_query1(&db, "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a "
	                      "ON a.pid = l.pid WHERE a.application_name = 'dobjd' AND " LOCK_ROW);
	int pid = v ? atoi(v) : 0;

	free(v);
	return pid;
}

/* storage_sum: a digest of every stored key and value. */
static char *
storage_sum(void)
{
	return fx_db_query1(&db, "SELECT md5(coalesce(string_agg(class || encode(id, 'hex') || key "
	                         "|| encode(value, 'hex'), ',' ORDER BY class, id, key), '')) "
	                         "FROM dobj_storage");
}

static void
increment_ok(dobj_client *c, const char *name, int64_t want)
{
	int64_t got = -1;

	cr_assert_eq(fx_counter(c, name, "increment", 1, &got), DOBJ_OK);
	cr_assert_eq(got, want);
}

/* terminate ends a backend from the test and waits until it is gone. */
static void
terminate(int pid)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
	free(fx_db_query1(&db, sql));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_stat_activity WHERE pid = %d", pid);
	for (int64_t end = fx_now_ms() + 10000; fx_db_query_long(&db, sql) != 0;) {
		cr_assert_lt(fx_now_ms(), end, "backend %d did not end", pid);
		fx_nap_ms(10);
	}
}

Test(writer_lock, a_second_dobjd_stands_by_and_takes_over_with_the_first_ones_data)
{
	char body[512], want[128];
	dobj_client *c;
	int http1, http2, holder, fd;
	int64_t got = -1;

	http1 = start_http(&first, true);
	c = fx_client(first.url, 20000);
	for (int i = 1; i <= 5; i++)
		increment_ok(c, "handover", i);
	dobj_client_close(c);
	holder = lock_holder();
	cr_assert_gt(holder, 0, "no dobjd backend holds the writer lock");
	cr_assert_eq(fx_metric(http1, "dobj_writer_lock_held"), 1);

	http2 = start_http(&second, false);
	/* live, not ready, and it says who holds the lock (once it has tried: before, it is
	 * "starting") */
	for (int64_t end = fx_now_ms() + 10000;;) {
		fx_http_await(http2, "/readyz", 503, -1, 10000, body, sizeof(body));
		if (strstr(body, "waiting for the writer lock") != NULL)
			break;
		cr_assert_lt(fx_now_ms(), end, "%s", body);
		fx_nap_ms(20);
	}
	cr_assert(strstr(body, "waiting for the writer lock of this database, held by "
	                       "PostgreSQL backend") != NULL,
	          "%s", body);
	snprintf(want, sizeof(want), "backend %d (application_name dobjd, client ", holder);
	cr_assert(strstr(body, want) != NULL, "%s does not name %s", body, want);
	cr_assert_eq(fx_http_get(http2, "/healthz", body, sizeof(body)), 200);
	cr_assert_eq(fx_metric(http2, "dobj_writer_lock_held"), 0);
	/* it stays so: its RPC port is not open */
	fx_nap_ms(1500);
	cr_assert(fx_log_contains(second.log_path, "waiting for the writer lock of this database"));
	cr_assert(!fx_log_contains(second.log_path, "listening on"), "the standby serves");
	fd = fx_tcp_dial(second.port);
	cr_assert_eq(fd, -1, "the standby's RPC port accepts");
	cr_assert_eq(fx_http_get(http1, "/readyz", body, sizeof(body)), 200, "%s", body);

	fx_server_stop(&first);
	fx_server_await(&second, 10000);
	cr_assert(fx_log_contains(second.log_path, "took the writer lock of this database"));
	c = fx_client(second.url, 20000);
	cr_assert_eq(fx_counter(c, "handover", "get", 0, &got), DOBJ_OK);
	cr_assert_eq(got, 5, "the standby does not see the first one's writes");
	increment_ok(c, "handover", 6);
	dobj_client_close(c);
	fx_http_await(http2, "/readyz", 200, -1, 10000, body, sizeof(body));
	cr_assert_eq(fx_metric(http2, "dobj_writer_lock_held"), 1);
	cr_assert_eq(fx_metric(http2, "dobj_writer_epoch"), 2);
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 2);
	fx_server_stop(&second);
}

Test(writer_lock, sigterm_ends_a_standby_at_once_with_status_0)
{
	int64_t t0;
	int status = -1;

	fx_server_start(&first, &db, 0, NULL);
	fx_server_spawn(&second, &db, 0, NULL);
	for (int64_t end = fx_now_ms() + 10000;
	     !fx_log_contains(second.log_path, "waiting for the writer lock");) {
		cr_assert_lt(fx_now_ms(), end, "the second dobjd does not stand by");
		cr_assert(!fx_server_serving(&second), "the second dobjd serves");
		fx_nap_ms(20);
	}
	t0 = fx_now_ms();
	kill(second.pid, SIGTERM);
	cr_assert(fx_server_exited(&second, 5000, &status), "the standby did not exit");
	cr_assert_lt(fx_now_ms() - t0, 2500, "the standby took %lld ms to exit",
	             (long long)(fx_now_ms() - t0));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);
	cr_assert(fx_log_contains(second.log_path, "exiting without having served"));
	cr_assert(!fx_log_contains(second.log_path, "listening on"));
	fx_server_stop(&first);
}

Test(writer_lock, the_lock_is_taken_again_after_the_commit_backend_is_terminated)
{
	dobj_client *c;
	int http, holder, again;
	int64_t got = -1;
	dobj_err rc;

	http = start_http(&first, true);
	c = fx_client(first.url, 20000);
	increment_ok(c, "again", 1);
	holder = lock_holder();
	cr_assert_gt(holder, 0, "no dobjd backend holds the writer lock");
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 1);
	terminate(holder);

	/* the commit after it may fail (its connection is gone); the next ones succeed */
	for (int64_t end = fx_now_ms() + 15000;
	     (rc = fx_counter(c, "again", "increment", 1, &got)) != DOBJ_OK;) {
		cr_assert_eq(rc, DOBJ_UNAVAILABLE, "%s", dobj_err_str(rc));
		cr_assert_lt(fx_now_ms(), end, "calls still fail");
		fx_nap_ms(50);
	}
	increment_ok(c, "again", got + 1);
	again = lock_holder();
	cr_assert_gt(again, 0, "the writer lock was not taken again");
	cr_assert_neq(again, holder);
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 2);
	cr_assert_eq(fx_metric(http, "dobj_writer_lock_held"), 1);
	cr_assert_eq(fx_metric(http, "dobj_writer_epoch"), 2);
	cr_assert(fx_log_contains(first.log_path, "took the writer lock again"));
	cr_assert(first.pid > 0 && kill(first.pid, 0) == 0, "dobjd exited");
	dobj_client_close(c);
	fx_server_stop(&first);
}

/* lost_while_down: the first dobjd's commit connection goes; another session takes the lock
 * and bumps the epoch before it is back, and keeps the lock (hold) or lets it go again. The
 * dobjd must fail the call, exit with status 1 and commit nothing more. */
static void
lost_while_down(bool hold)
{
	PGconn *other;
	PGresult *r;
	dobj_client *c;
	char *before, *after;
	int status = -1;
	dobj_err rc;

	fx_server_start(&first, &db, 0, NULL);
	c = fx_client(first.url, 20000);
	increment_ok(c, "lost", 1);

	other = PQconnectdb(db.dsn);
	cr_assert_eq(PQstatus(other), CONNECTION_OK, "%s", PQerrorMessage(other));
	terminate(lock_holder());
	r = PQexec(other, "SELECT pg_try_advisory_lock(" LOCK_KEY ")");
	cr_assert(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0,
	          "the test could not take the writer lock: %s", PQresultErrorMessage(r));
	PQclear(r);
	r = PQexec(other, "UPDATE dobj_writer SET epoch = epoch + 1");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	if (!hold)
		PQclear(PQexec(other, "SELECT pg_advisory_unlock(" LOCK_KEY ")"));
	before = storage_sum();

	rc = fx_counter(c, "lost", "increment", 1, NULL);
	cr_assert_eq(rc, DOBJ_UNAVAILABLE, "%s", dobj_err_str(rc));
	cr_assert(fx_server_exited(&first, 20000, &status), "dobjd did not exit");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "wait status 0x%x", status);
	cr_assert(fx_log_contains(first.log_path, "lost the writer lock of this database"));
	cr_assert(fx_log_contains(first.log_path,
	                          hold ? "another session took the writer lock: held by "
	                                 "PostgreSQL backend"
	                               : "the writer epoch is 2, not 1 as this dobjd left it"));
	after = storage_sum();
	cr_assert_str_eq(before, after, "the dobjd committed after it lost the lock");
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 2);
	free(before);
	free(after);
	dobj_client_close(c);
	PQfinish(other);
}

Test(writer_lock, a_dobjd_whose_lock_another_session_holds_exits_1_and_commits_nothing)
{
	lost_while_down(true);
}

Test(writer_lock, a_dobjd_whose_epoch_moved_while_it_was_down_exits_1_and_commits_nothing)
{
	lost_while_down(false);
}

/* The upgrade to the writer lock: a database at migration 0003, served by a dobjd of before
 * (here: a session with a commit under way, holding the locks such a server's commit holds).
 * This dobjd refuses it; `dobjd migrate` adds 0004 without waiting for that server. */
Test(writer_lock, migrate_adds_0004_beside_a_running_older_server)
{
	char dir[64] = "/tmp/dobj-writer-mig-XXXXXX", src[512], dst[512], out[4096], err[4096];
	const char *names[] = {"0001_init.sql", "0002_alarms.sql", "0003_storage_fillfactor.sql"};
	const char *old_migrate[] = {
	    fx_bin("dobjd"), "migrate", "--database-url", db.dsn, "--migrations-dir", dir, NULL};
	const char *serve[] = {fx_bin("dobjd"), "serve",    "--database-url",
	                       db.dsn,          "--listen", "tcp://192.0.2.1:7700",
	                       "--http-listen", "",         NULL};
	const char *migrate[] = {fx_bin("dobjd"), "migrate", "--database-url", db.dsn, NULL};
	PGconn *old;
	PGresult *r;
	int64_t t0;
	int rc;

	fx_db_drop(&db);
	fx_db_create(&db, false);
	cr_assert(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(src, sizeof(src), "%s/migrations/%s", DOBJ_SOURCE_DIR, names[i]);
		snprintf(dst, sizeof(dst), "%s/%s", dir, names[i]);
		cr_assert_eq(symlink(src, dst), 0);
	}
	rc = fx_run(old_migrate, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "%s%s", out, err);

	rc = fx_run(serve, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 1, "dobjd served a schema without 0004: %s%s", out, err);
	cr_assert(strstr(err, "this dobjd needs 4 (0004_writer_epoch.sql is not applied)") != NULL,
	          "%s", err);

	old = PQconnectdb(db.dsn);
	cr_assert_eq(PQstatus(old), CONNECTION_OK, "%s", PQerrorMessage(old));
	r = PQexec(old, "BEGIN; INSERT INTO dobj_objects VALUES ('C', '\\x"
	                "0000000000000000000000000000000000000000000000000000000000000000'); "
	                "INSERT INTO dobj_storage VALUES ('C', '\\x"
	                "0000000000000000000000000000000000000000000000000000000000000000', 'k', "
	                "'\\x00'); SELECT * FROM dobj_alarms FOR UPDATE");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	t0 = fx_now_ms();
	rc = fx_run(migrate, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(rc, 0, "%s%s", out, err);
	cr_assert(strstr(out, "applied 0004_writer_epoch.sql") != NULL, "%s", out);
	cr_assert_lt(fx_now_ms() - t0, 10000, "dobjd migrate waited for the running server");
	r = PQexec(old, "COMMIT");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(old);
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(dst, sizeof(dst), "%s/%s", dir, names[i]);
		unlink(dst);
	}
	rmdir(dir);
	fx_server_start(&first, &db, 0, NULL);
	cr_assert_eq(fx_db_query_long(&db, "SELECT epoch FROM dobj_writer"), 1);
	fx_server_stop(&first);
}
