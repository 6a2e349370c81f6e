// SPDX-License-Identifier: MIT
// flags_test.c - dobjd's command line and the database it accepts: --help and --version only
// where a flag stands, not as another flag's value; `dobjd migrate` checks every flag as
// serving does; and the database's encoding: UTF8 (or SQL_ASCII, which converts nothing) is
// served, any other encoding refused by migrate and serve, and PGCLIENTENCODING does not make
// PostgreSQL convert dobjd's UTF-8.

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"

static fx_db db;
static fx_server srv;
static fx_db odd; /* a database of another encoding */

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_kill(&srv, SIGKILL);
	fx_db_drop(&db);
	fx_db_drop(&odd);
	unsetenv("PGCLIENTENCODING");
	unsetenv("DOBJ_CACHE_OBJECTS");
}

TestSuite(flags, .fini = teardown, .timeout = 120);

#define NO_DB "postgresql://127.0.0.1:1/none"

Test(flags, help_and_version_stand_where_a_flag_stands)
{
	static const char *const asks[][6] = {
	    {"--help"},
	    {"-h"},
	    {"serve", "--shards", "2", "--help"},
	    {"migrate", "--log-level=debug", "-h"},
	    {"--listen", "tcp://127.0.0.1:1", "--version"},
	};
	char out[8192], err[4096];

	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		const char *argv[8] = {fx_bin("dobjd")};
		int st;

		for (int j = 0; j < 6 && asks[i][j] != NULL; j++)
			argv[j + 1] = asks[i][j];
		st = fx_run(argv, out, sizeof(out), err, sizeof(err));
		cr_assert_eq(st, 0, "case %zu: exit status %d: %s", i, st, err);
		if (i == 4)
			cr_assert(strncmp(out, "dobjd ", 6) == 0, "case %zu: %s", i, out);
		else
			cr_assert(strstr(out, "usage: dobjd") != NULL, "case %zu: %s", i, out);
	}
}

/* As another flag's value, --help is that value: checked, and here refused, by that flag. */
Test(flags, help_as_a_flags_value_is_that_value)
{
	static const char *const cases[][2] = {
	    {"--log-level", "--help"},
	    {"--sched", "-h"},
	    {"--log-format", "--version"},
	};
	char out[8192], err[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[] = {
		    fx_bin("dobjd"), "serve", "--database-url", NO_DB, cases[i][0],
		    cases[i][1],     NULL};
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert_eq(st, 2, "%s %s: exit status %d, stdout: %.200s", cases[i][0],
		             cases[i][1], st, out);
		cr_assert(strstr(err, "invalid value for") != NULL && strstr(err, cases[i][0]),
		          "%s %s: %s", cases[i][0], cases[i][1], err);
		cr_assert(strstr(out, "usage:") == NULL, "usage printed: %s", out);
	}
}

/* `dobjd migrate` refuses a bad value of any flag before it connects (the URL here is one
 * that nothing serves: a connection attempt would fail with status 1, not 2). */
Test(flags, migrate_checks_every_flag)
{
	static const char *const bad[][2] = {
	    {"--shards", "many"},
	    {"--cache-objects", "0"},
	    {"--sched", "fast"},
	    {"--http-listen", "ftp://127.0.0.1:1"},
	    {"--clock-offset", "soon"},
	    {"--key-max", "4000"},
	    {"--alarm-retry-ms", "0"},
	    {"--drain-timeout-ms", "-1"},
	    {"--inflight-bytes-max", "1048576"},
	};
	char out[1024], err[4096];
	int st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {
		    fx_bin("dobjd"), "migrate", "--database-url", NO_DB, bad[i][0],
		    bad[i][1],       NULL};

		st = fx_run(argv, out, sizeof(out), err, sizeof(err));
		cr_assert_eq(st, 2, "%s %s: exit status %d: %s", bad[i][0], bad[i][1], st, err);
		cr_assert(strstr(err, bad[i][0]) != NULL, "%s %s: %s", bad[i][0], bad[i][1], err);
		cr_assert(strstr(err, "could not connect") == NULL, "connected: %s", err);
	}
	/* From the environment too, and for `migrate status`. */
	setenv("DOBJ_CACHE_OBJECTS", "lots", 1);
	{
		const char *argv[] = {fx_bin("dobjd"),  "migrate", "status",
		                      "--database-url", NO_DB,     NULL};

		st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	}
	unsetenv("DOBJ_CACHE_OBJECTS");
	cr_assert_eq(st, 2, "DOBJ_CACHE_OBJECTS=lots: exit status %d: %s", st, err);
	cr_assert(strstr(err, "--cache-objects") != NULL, "%s", err);
}

/* odd_create makes odd, a database of the given encoding (C locale: any encoding goes with
 * it). */
static void
odd_create(const char *encoding)
{
	char opts[128], *v;

	snprintf(opts, sizeof(opts), "ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
	         encoding);
	fx_db_create_with(&odd, false, opts);
	v = fx_db_query1(&odd, "SHOW server_encoding");
	cr_assert(v != NULL && strcmp(v, encoding) == 0, "encoding %s", v ? v : "(null)");
	free(v);
}

Test(flags, a_database_of_another_encoding_is_refused)
{
	char out[2048], err[4096];
	int st;

	odd_create("LATIN1");
	{
		const char *argv[] = {fx_bin("dobjd"), "migrate", "--database-url", odd.dsn, NULL};

		st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	}
	cr_assert_eq(st, 1, "migrate: exit status %d: %s%s", st, out, err);
	cr_assert(strstr(err, "has the encoding LATIN1") != NULL && strstr(err, "UTF8") != NULL,
	          "%s", err);
	{
		char *v = fx_db_query1(&odd, "SELECT to_regclass('dobj_storage') IS NULL");

		cr_assert(v != NULL && strcmp(v, "t") == 0, "migrate created tables");
		free(v);
	}
	/* serve refuses it too, before it listens */
	{
		const char *argv[] = {fx_bin("dobjd"),
		                      "serve",
		                      "--database-url",
		                      odd.dsn,
		                      "--http-listen",
		                      "",
		                      "--listen",
		                      "tcp://127.0.0.1:0",
		                      NULL};

		st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	}
	cr_assert_eq(st, 1, "serve: exit status %d: %s%s", st, out, err);
	cr_assert(strstr(err, "has the encoding LATIN1") != NULL, "%s", err);
}

Test(flags, a_sql_ascii_database_is_served)
{
	char out[2048], err[4096];
	const char *argv[] = {fx_bin("dobjd"), "migrate", "--database-url", NULL, NULL};
	int st;

	odd_create("SQL_ASCII");
	argv[3] = odd.dsn;
	st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	cr_assert_eq(st, 0, "migrate: exit status %d: %s%s", st, out, err);
}

/* A client encoding from the environment would make PostgreSQL convert every key: "é" sent as
 * UTF-8 by a LATIN1 client is stored as two other characters, and list's byte order breaks.
 * dobjd's connections say UTF8 whatever the environment says. */
Test(flags, pgclientencoding_does_not_convert_keys)
{
	dobj_client *c;
	Dobj__Test__Op *ops[2];
	Dobj__Test__ScriptResult *r;
	char *v;

	fx_db_create(&db, true);
	fx_server_use("dobjd-test");
	setenv("PGCLIENTENCODING", "LATIN1", 1);
	fx_server_start(&srv, &db, 0, NULL);
	unsetenv("PGCLIENTENCODING");
	c = fx_client(srv.url, 5000);
	ops[0] = fx_op("put", "caf\xc3\xa9", "1");
	ops[1] = fx_op("put", "\xe2\x82\xac", "2"); /* the euro sign: not in LATIN1 at all */
	r = fx_kv_run_ok(c, "enc", ops, 2);
	dobj__test__script_result__free_unpacked(r, NULL);
	fx_ops_free();
	dobj_client_close(c);
	v = fx_db_query1(&db, "SELECT string_agg(encode(convert_to(key, 'UTF8'), 'hex'), ',' "
	                      "ORDER BY key) FROM dobj_storage");
	cr_assert(v != NULL && strcmp(v, "636166c3a9,e282ac") == 0, "stored keys: %s",
	          v ? v : "(none)");
	free(v);
	fx_server_stop(&srv);
}
