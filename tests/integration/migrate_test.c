// SPDX-License-Identifier: MIT
// migrate_test.c - dobj__migrate_* against a real PostgreSQL: a fresh database per test,
// the built-in migrations and directories of test migrations in a temp dir.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "fixture.h"
#include "migrate.h"

static fx_db db;
static char tmpdir[64];

static void
setup(void)
{
	fx_db_create(&db, false);
	tmpdir[0] = '\0';
}

static void
teardown(void)
{
	fx_db_drop(&db);
	if (tmpdir[0] != '\0') {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		cr_expect(system(cmd) == 0);
	}
}

TestSuite(migrate, .init = setup, .fini = teardown, .timeout = 120);

static PGconn *
connect_db(void)
{
	PGconn *conn = PQconnectdb(db.dsn);

	cr_assert(PQstatus(conn) == CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	return conn;
}

// mig_dir makes the test's migrations directory (once) and returns it.
static const char *
mig_dir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/dobj-migrate-test-XXXXXX");
		cr_assert(mkdtemp(tmpdir) != NULL);
	}
	return tmpdir;
}

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", mig_dir(), name);
	cr_assert((f = fopen(path, "w")) != NULL, "%s", path);
	cr_assert(fputs(text, f) >= 0);
	cr_assert(fclose(f) == 0);
}

// run_up runs dobj__migrate_up and returns what it printed (free it).
static char *
run_up(PGconn *conn, const char *dir, dobj_err want, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	dobj_err rv;

	cr_assert_not_null(out);
	err[0] = '\0';
	rv = dobj__migrate_up(conn, dir, out, err, errlen);
	fclose(out);
	cr_assert_eq(rv, want, "dobj__migrate_up: %s (%s), want %s", dobj_err_name(rv), err,
	             dobj_err_name(want));
	return buf;
}

static char *
run_status(PGconn *conn, const char *dir)
{
	char *buf = NULL, err[512] = "";
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	dobj_err rv;

	cr_assert_not_null(out);
	rv = dobj__migrate_status(conn, dir, out, err, sizeof(err));
	fclose(out);
	cr_assert_eq(rv, DOBJ_OK, "dobj__migrate_status: %s", err);
	return buf;
}

static long
count_applied(void)
{
	char *v = fx_db_query1(&db, "SELECT count(*) FROM dobj_schema_migrations");
	long n;

	cr_assert_not_null(v);
	n = strtol(v, NULL, 10);
	free(v);
	return n;
}

Test(migrate, applies_builtin_migrations_to_an_empty_database)
{
	PGconn *conn = connect_db();
	char err[512], *out, *v;

	cr_assert_gt(dobj__builtin_migrations_count, 0);
	out = run_up(conn, NULL, DOBJ_OK, err, sizeof(err));
	cr_expect_not_null(strstr(out, "applied 0001_init.sql\n"), "output: %s", out);
	cr_expect_eq(count_applied(), (long)dobj__builtin_migrations_count);
	v = fx_db_query1(&db, "SELECT to_regclass('dobj_storage') IS NOT NULL");
	cr_expect_str_eq(v, "t");
	free(v);
	v = fx_db_query1(&db, "SELECT checksum ~ '^[0-9a-f]{64}$' AND name = '0001_init.sql' "
	                      "FROM dobj_schema_migrations WHERE version = 1");
	cr_expect_str_eq(v, "t");
	free(v);
	free(out);
	PQfinish(conn);
}

Test(migrate, second_run_is_a_no_op)
{
	PGconn *conn = connect_db();
	char err[512], *out, *at1, *at2;

	free(run_up(conn, NULL, DOBJ_OK, err, sizeof(err)));
	at1 = fx_db_query1(&db,
	                   "SELECT string_agg(applied_at::text, ',') FROM dobj_schema_migrations");
	out = run_up(conn, NULL, DOBJ_OK, err, sizeof(err));
	at2 = fx_db_query1(&db,
	                   "SELECT string_agg(applied_at::text, ',') FROM dobj_schema_migrations");
	cr_expect_str_eq(out, "", "second run printed: %s", out);
	cr_expect_str_eq(at1, at2);
	cr_expect_eq(count_applied(), (long)dobj__builtin_migrations_count);
	free(out);
	free(at1);
	free(at2);
	PQfinish(conn);
}

Test(migrate, status_lists_pending_then_applied)
{
	PGconn *conn = connect_db();
	char err[512], *st;

	st = run_status(conn, NULL);
	cr_expect(strstr(st, "0001_init.sql") != NULL && strstr(st, "pending") != NULL, "%s", st);
	cr_expect_null(strstr(st, "applied"), "%s", st);
	free(st);
	free(run_up(conn, NULL, DOBJ_OK, err, sizeof(err)));
	st = run_status(conn, NULL);
	cr_expect_not_null(strstr(st, "applied 20"), "%s", st);
	cr_expect_null(strstr(st, "pending"), "%s", st);
	free(st);
	PQfinish(conn);
}

Test(migrate, check_fails_before_and_passes_after)
{
	PGconn *conn = connect_db();
	char err[512] = "";
	dobj_err rv;

	rv = dobj__migrate_check(conn, err, sizeof(err));
	cr_expect_eq(rv, DOBJ_FAILED_PRECONDITION, "%s", dobj_err_name(rv));
	cr_expect_not_null(strstr(err, "database schema is at version 0"), "%s", err);
	cr_expect_not_null(strstr(err, "run `dobjd migrate`"), "%s", err);
	free(run_up(conn, NULL, DOBJ_OK, err, sizeof(err)));
	rv = dobj__migrate_check(conn, err, sizeof(err));
	cr_expect_eq(rv, DOBJ_OK, "%s: %s", dobj_err_name(rv), err);
	PQfinish(conn);
}

Test(migrate, changed_file_is_refused)
{
	PGconn *conn = connect_db();
	char err[512], *out, *st;

	write_file("0001_first.sql", "CREATE TABLE t1 (x int);\nCREATE TABLE t1b (y int);\n");
	write_file("0002_second.sql", "CREATE TABLE t2 (x int);\n");
	write_file("README", "not a migration\n");
	out = run_up(conn, mig_dir(), DOBJ_OK, err, sizeof(err));
	cr_expect_str_eq(out, "applied 0001_first.sql\napplied 0002_second.sql\n");
	free(out);

	write_file("0001_first.sql", "CREATE TABLE t1 (x bigint);\nCREATE TABLE t1b (y int);\n");
	write_file("0003_third.sql", "CREATE TABLE t3 (x int);\n");
	free(run_up(conn, mig_dir(), DOBJ_FAILED_PRECONDITION, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "migration 0001_first.sql was changed after it was applied "
	                               "(checksum "),
	                   "%s", err);
	cr_expect_not_null(strstr(err, "migrations are never edited after release: add a new one"),
	                   "%s", err);
	cr_expect_eq(count_applied(), 2, "nothing may be applied after a refusal");
	st = run_status(conn, mig_dir());
	cr_expect_not_null(strstr(st, "CHANGED"), "%s", st);
	free(st);
	PQfinish(conn);
}

Test(migrate, unknown_applied_version_is_refused)
{
	PGconn *conn = connect_db();
	char err[512], *v, *st;

	free(run_up(conn, NULL, DOBJ_OK, err, sizeof(err)));
	v = fx_db_query1(&db, "INSERT INTO dobj_schema_migrations (version, name, checksum) "
	                      "VALUES (7, '0007_future.sql', repeat('0', 64)) RETURNING version");
	free(v);
	free(run_up(conn, NULL, DOBJ_FAILED_PRECONDITION, err, sizeof(err)));
	cr_expect_str_eq(err, "database has migration 0007 which this dobjd does not know: "
	                      "upgrade dobjd");
	cr_expect_eq(dobj__migrate_check(conn, err, sizeof(err)), DOBJ_FAILED_PRECONDITION);
	cr_expect_not_null(strstr(err, "0007"), "%s", err);
	st = run_status(conn, NULL);
	cr_expect_not_null(strstr(st, "0007_future.sql"), "%s", st);
	free(st);
	PQfinish(conn);
}

Test(migrate, failing_migration_rolls_back_and_releases_the_lock)
{
	PGconn *conn = connect_db(), *conn2;
	char err[512], *out, *v;

	write_file("0001_ok.sql", "CREATE TABLE t1 (x int);\n");
	write_file("0002_bad.sql", "CREATE TABLE t2 (x int);\nSELEC 1;\n");
	out = run_up(conn, mig_dir(), DOBJ_INTERNAL, err, sizeof(err));
	cr_expect_str_eq(out, "applied 0001_ok.sql\n");
	free(out);
	cr_expect_not_null(strstr(err, "could not apply migration 0002_bad.sql: syntax error"),
	                   "%s", err);
	cr_expect_null(strchr(err, '\n'), "one line: %s", err);
	cr_expect_eq(count_applied(), 1);
	v = fx_db_query1(&db, "SELECT to_regclass('t2') IS NULL");
	cr_expect_str_eq(v, "t", "0002's first statement must be rolled back");
	free(v);

	// Another session can take the lock: the failed run released it.
	write_file("0002_bad.sql", "CREATE TABLE t2 (x int);\n");
	conn2 = connect_db();
	out = run_up(conn2, mig_dir(), DOBJ_OK, err, sizeof(err));
	cr_expect_str_eq(out, "applied 0002_bad.sql\n");
	free(out);
	PQfinish(conn2);
	PQfinish(conn);
}

/* A file in psql style (BEGIN ... COMMIT) commits on its own: the run is refused, but what
 * it committed is recorded with it, so the next run does not apply it a second time. */
Test(migrate, a_file_that_commits_itself_is_refused_and_not_applied_twice)
{
	PGconn *conn = connect_db();
	char err[512], *v;

	write_file("0001_commits.sql", "BEGIN;\nCREATE TABLE IF NOT EXISTS t1 (x int);\n"
	                               "INSERT INTO t1 VALUES (1);\nCOMMIT;\n");
	free(run_up(conn, mig_dir(), DOBJ_INVALID_ARGUMENT, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "0001_commits.sql: it ends its transaction itself"), "%s",
	                   err);
	cr_expect_eq(count_applied(), 1, "recorded with what it committed");
	free(run_up(conn, mig_dir(), DOBJ_OK, err, sizeof(err)));
	v = fx_db_query1(&db, "SELECT count(*) FROM t1");
	cr_expect_str_eq(v, "1", "applied once");
	free(v);
	PQfinish(conn);
}

/* A file that commits on its own and then fails is applied in part: its bookkeeping row,
 * committed by the file's COMMIT, must not say that it was applied, or the next run would
 * call the schema current and dobjd would serve on it. */
Test(migrate, a_file_that_commits_itself_then_fails_is_not_recorded_as_applied)
{
	PGconn *conn = connect_db();
	char err[512];

	write_file("0001_half.sql", "BEGIN;\nCREATE TABLE IF NOT EXISTS t1 (x int);\nCOMMIT;\n"
	                            "SELECT 1 / 0;\n");
	free(run_up(conn, mig_dir(), DOBJ_INTERNAL, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "could not apply migration 0001_half.sql: division by zero"),
	                   "%s", err);
	cr_expect_not_null(strstr(err, "it ends its transaction itself"), "%s", err);
	cr_expect_not_null(strstr(err, "not recorded as applied"), "%s", err);
	cr_expect_null(strchr(err, '\n'), "one line: %s", err);
	cr_expect_eq(count_applied(), 0, "half applied, not recorded");
	free(run_up(conn, mig_dir(), DOBJ_INTERNAL, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "division by zero"), "the next run tries it again: %s", err);
	PQfinish(conn);
}

Test(migrate, a_file_of_comments_only_is_applied)
{
	PGconn *conn = connect_db();
	char err[512];

	write_file("0001_reserved.sql", "-- kept on purpose: nothing to change\n");
	free(run_up(conn, mig_dir(), DOBJ_OK, err, sizeof(err)));
	cr_expect_eq(count_applied(), 1);
	PQfinish(conn);
}

Test(migrate, bad_directories_are_refused)
{
	PGconn *conn = connect_db();
	char err[512];

	free(run_up(conn, "/nonexistent/dobj-migrations", DOBJ_NOT_FOUND, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "/nonexistent/dobj-migrations"), "%s", err);
	write_file("0001_a.sql", "SELECT 1;\n");
	write_file("0001_b.sql", "SELECT 2;\n");
	free(run_up(conn, mig_dir(), DOBJ_INVALID_ARGUMENT, err, sizeof(err)));
	cr_expect_not_null(strstr(err, "same version 0001"), "%s", err);
	PQfinish(conn);
}

typedef struct runner {
	pthread_barrier_t *start;
	const char *dsn;
	const char *dir;
	dobj_err rv;
	char err[512];
	char *out;
} runner;

// run_thread: one `dobjd migrate` of its own; no Criterion asserts off the main thread.
static void *
run_thread(void *arg)
{
	runner *r = arg;
	PGconn *conn = PQconnectdb(r->dsn);
	size_t len = 0;
	FILE *out = open_memstream(&r->out, &len);

	pthread_barrier_wait(r->start);
	if (PQstatus(conn) != CONNECTION_OK || out == NULL) {
		r->rv = DOBJ_UNAVAILABLE;
		snprintf(r->err, sizeof(r->err), "connect: %s", PQerrorMessage(conn));
	} else {
		r->rv = dobj__migrate_up(conn, r->dir, out, r->err, sizeof(r->err));
	}
	if (out != NULL)
		fclose(out);
	PQfinish(conn);
	return NULL;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

Test(migrate, concurrent_runs_both_succeed_and_apply_once)
{
	pthread_barrier_t start;
	runner r[2];
	pthread_t t[2];

	// A slow first file makes the two runs overlap on the lock.
	write_file("0001_slow.sql", "SELECT pg_sleep(0.5);\nCREATE TABLE t1 (x int);\n");
	write_file("0002_next.sql", "CREATE TABLE t2 (x int);\n");
	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].start = &start;
		r[i].dsn = db.dsn;
		r[i].dir = mig_dir();
		cr_assert_eq(pthread_create(&t[i], NULL, run_thread, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2; i++)
		cr_expect_eq(r[i].rv, DOBJ_OK, "run %d: %s: %s", i, dobj_err_name(r[i].rv),
		             r[i].err);
	cr_expect_eq(count_lines(r[0].out) + count_lines(r[1].out), 2, "run 0:\n%srun 1:\n%s",
	             r[0].out, r[1].out);
	cr_expect_eq(count_applied(), 2);
	free(r[0].out);
	free(r[1].out);
}
