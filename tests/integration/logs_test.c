// SPDX-License-Identifier: MIT
// logs_test.c - dobjd's log and its new flags: --log-format json writes one JSON object per
// line; bad values of --log-format and --drain-timeout-ms are refused at start; and the DSN's
// password never reaches the output, neither at start nor when a reconnect is refused (on a
// PostgreSQL of the test's own, which asks for passwords).

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "calls.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

static fx_db db;
static fx_server srv;
static fx_pg pg;

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_kill(&srv, SIGKILL);
	if (db.name[0] != '\0')
		fx_db_drop(&db);
	fx_pg_destroy(&pg);
}

TestSuite(logs, .fini = teardown, .timeout = 120);

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);
	size_t n;

	cr_assert(f != NULL && buf != NULL, "%s: %s", path, strerror(errno));
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* json_str checks a JSON string at *p (escapes included) and moves past it. */
static bool
json_str(const char **p)
{
	const char *s = *p;

	if (*s++ != '"')
		return false;
	for (; *s != '"'; s++) {
		if ((unsigned char)*s < 0x20)
			return false;
		if (*s == '\\') {
			s++;
			if (*s == 'u') {
				for (int i = 1; i <= 4; i++)
					if (strchr("0123456789abcdefABCDEF", s[i]) == NULL || !s[i])
						return false;
				s += 4;
			} else if (strchr("\"\\/bfnrt", *s) == NULL || *s == '\0') {
				return false;
			}
		}
	}
	*p = s + 1;
	return true;
}

/* json_line checks that line is exactly one object of string members, with ts, level and
 * msg among them. */
static bool
json_line(const char *line)
{
	const char *p = line;
	bool ts = false, level = false, msg = false;

	if (*p++ != '{')
		return false;
	for (;;) {
		const char *key = p;
		if (!json_str(&p) || *p++ != ':')
			return false;
		ts |= strncmp(key, "\"ts\"", 4) == 0;
		level |= strncmp(key, "\"level\"", 7) == 0;
		msg |= strncmp(key, "\"msg\"", 5) == 0;
		if (!json_str(&p))
			return false;
		if (*p == ',') {
			p++;
			continue;
		}
		return *p == '}' && p[1] == '\0' && ts && level && msg;
	}
}

Test(logs, json_lines_are_one_object_each)
{
	const char *args[] = {"--log-format", "json", NULL};
	dobj_client *c;
	char *log, *save = NULL;
	int lines = 0;

	fx_db_create(&db, true);
	fx_server_start(&srv, &db, 0, args);
	c = fx_client(srv.url, 5000);
	cr_assert_eq(fx_counter(c, "json", "increment", 1, NULL), DOBJ_OK);
	dobj_client_close(c);
	fx_server_stop(&srv);
	log = read_file(srv.log_path);
	for (char *l = strtok_r(log, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		cr_assert(json_line(l), "not one JSON object: %s", l);
		lines++;
	}
	cr_assert_geq(lines, 3, "too few lines (start, SIGTERM, stop)");
	free(log);
}

Test(logs, bad_values_of_the_new_flags_are_refused)
{
	static const char *const bad[][2] = {
	    {"--log-format", "xml"},        {"--log-format", ""},
	    {"--drain-timeout-ms", "soon"}, {"--drain-timeout-ms", "0"},
	    {"--drain-timeout-ms", "-5"},   {"--drain-timeout-ms", "99999999999"},
	    {"--clock-offset", " 5"},       {"--clock-offset", "+5"},
	    {"--clock-offset", "-"},        {"--clock-offset", "5s"},
	};
	char out[1024], err[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {fx_bin("dobjd"),
		                      "serve",
		                      "--database-url",
		                      "postgresql://127.0.0.1:1/none",
		                      bad[i][0],
		                      bad[i][1],
		                      NULL};
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert_eq(st, 2, "%s \"%s\": exit status %d, stderr: %s", bad[i][0], bad[i][1],
		             st, err);
		cr_assert(strstr(err, bad[i][0]) != NULL, "the message does not name %s: %s",
		          bad[i][0], err);
	}
	/* The environment variable too. */
	setenv("DOBJ_LOG_FORMAT", "yaml", 1);
	{
		const char *argv[] = {fx_bin("dobjd"), "serve", "--database-url",
		                      "postgresql://127.0.0.1:1/none", NULL};
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert_eq(st, 2, "DOBJ_LOG_FORMAT=yaml: exit status %d: %s", st, err);
		cr_assert(strstr(err, "yaml") != NULL, "stderr: %s", err);
	}
	unsetenv("DOBJ_LOG_FORMAT");
}

/* A key limit over what PostgreSQL's primary key index holds is refused at start: such a key
 * would fail at COMMIT, and with it every other write of its batch. */
Test(logs, a_key_limit_over_what_the_index_holds_is_refused)
{
	const char *argv[] = {fx_bin("dobjd"),
	                      "serve",
	                      "--database-url",
	                      "postgresql://127.0.0.1:1/none",
	                      "--key-max",
	                      "4000",
	                      NULL};
	char out[1024], err[4096];
	int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "--key-max") != NULL, "stderr: %s", err);
}

/* An empty --database-url is no database URL, for migrate as for serve: not libpq's defaults
 * (PGHOST, PGDATABASE, a local socket), which may name another database. */
Test(logs, migrate_refuses_an_empty_database_url)
{
	const char *argv[] = {fx_bin("dobjd"), "migrate", "--database-url=", NULL};
	char out[1024], err[4096];
	int st;

	setenv("PGHOST", "127.0.0.1", 1);
	setenv("PGPORT", "1", 1);
	st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	unsetenv("PGHOST");
	unsetenv("PGPORT");
	cr_assert_eq(st, 2, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(err, "no database URL") != NULL, "stderr: %s", err);
}

/* pg_exec runs sql on the private server as its superuser. */
static void
pg_exec(const char *sql)
{
	PGconn *conn = PQconnectdb(getenv("DOBJ_TEST_DATABASE_URL"));
	PGresult *r;

	cr_assert(PQstatus(conn) == CONNECTION_OK, "%s", PQerrorMessage(conn));
	r = PQexec(conn, sql);
	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQerrorMessage(conn));
	PQclear(r);
	PQfinish(conn);
}

#define SECRET "Pw-7f3kQz-never-print"
#define WRONG "Wr0ng-9vX2-never-print"

/* require_passwords makes role dobj_pw log in with a password over TCP (scram-sha-256). */
static void
require_passwords(void)
{
	char path[160], *old;
	FILE *f;

	pg_exec("CREATE ROLE dobj_pw LOGIN SUPERUSER PASSWORD '" SECRET "'");
	snprintf(path, sizeof(path), "%s/data/pg_hba.conf", pg.dir);
	old = read_file(path);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "host all dobj_pw 127.0.0.1/32 scram-sha-256\n%s", old);
	fclose(f);
	free(old);
	pg_exec("SELECT pg_reload_conf()");
}

static void
assert_no_secret(const char *what, const char *text)
{
	cr_assert(strstr(text, SECRET) == NULL && strstr(text, WRONG) == NULL,
	          "%s shows the password:\n%s", what, text);
}

Test(logs, the_dsn_password_is_never_printed)
{
	char dsn_uri[512], dsn_kv[512], out[4096], err[8192], body[1024], http[64];
	int st, http_port = fx_http_url(http, sizeof(http));
	const char *port;
	char *log;

	fx_pg_private(&pg);
	fx_db_create(&db, true);
	require_passwords();
	port = pg.port;

	/* A wrong password, as a URI and as key=value: start and migrate fail, silently so. */
	snprintf(dsn_uri, sizeof(dsn_uri), "postgresql://dobj_pw:%s@127.0.0.1:%s/%s", WRONG, port,
	         db.name);
	snprintf(dsn_kv, sizeof(dsn_kv),
	         "host=127.0.0.1 port=%s dbname=%s user=dobj_pw password='%s'", port, db.name,
	         WRONG);
	for (int i = 0; i < 2; i++) {
		const char *dsn = i == 0 ? dsn_uri : dsn_kv;
		const char *serve[] = {
		    fx_bin("dobjd"),  "serve", "--listen", "tcp://127.0.0.1:0", "--http-listen", "",
		    "--database-url", dsn,     NULL};
		const char *migrate[] = {fx_bin("dobjd"), "migrate", "--database-url", dsn, NULL};

		st = fx_run(serve, out, sizeof(out), err, sizeof(err));
		cr_assert_neq(st, 0, "dobjd served with a wrong password");
		cr_assert(strstr(err, "password authentication failed") != NULL, "stderr: %s", err);
		assert_no_secret("dobjd serve", err);
		assert_no_secret("dobjd serve's stdout", out);
		st = fx_run(migrate, out, sizeof(out), err, sizeof(err));
		cr_assert_neq(st, 0, "dobjd migrate ran with a wrong password");
		assert_no_secret("dobjd migrate", err);
	}

	/* The right password; then it changes under the running server: reconnects and the
	 * readiness probe are refused, and say so without the password. */
	snprintf(db.dsn, sizeof(db.dsn), "postgresql://dobj_pw:%s@127.0.0.1:%s/%s", SECRET, port,
	         db.name);
	{
		const char *args[] = {"--http-listen", http, "--log-level", "debug", NULL};
		dobj_client *c;

		fx_server_start(&srv, &db, 0, args);
		fx_http_wait(http_port);
		c = fx_client(srv.url, 5000);
		cr_assert_eq(fx_counter(c, "pw-0", "increment", 1, NULL), DOBJ_OK);
		pg_exec("ALTER ROLE dobj_pw PASSWORD 'changed-password'");
		pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		        "WHERE usename = 'dobj_pw'");
		for (int i = 1; i < 20; i++) {
			char name[16];
			snprintf(name, sizeof(name), "pw-%d", i);
			fx_counter(c, name, "increment", 1, NULL); /* fails: no connection */
		}
		dobj_client_close(c);
		fx_http_await(http_port, "/readyz", 503, -1, 10000, body, sizeof(body));
		cr_assert(strstr(body, "password authentication failed") != NULL,
		          "/readyz does not say why: %s", body);
		assert_no_secret("/readyz", body);
		fx_server_stop(&srv);
	}
	log = read_file(srv.log_path);
	cr_assert(strstr(log, "password authentication failed") != NULL,
	          "the refused reconnect is not in the log:\n%s", log);
	assert_no_secret("dobjd's log", log);
	free(log);
}

/* PostgreSQL's notices during a migration are log lines in the chosen format, at info for a
 * NOTICE and warn for a WARNING, not libpq's raw text on stderr. */
Test(logs, migrate_logs_postgresqls_notices_in_the_log_format)
{
	char dir[] = "/tmp/dobj-notice-XXXXXX", path[128], out[4096], err[8192], *save = NULL;
	const char *argv[] = {fx_bin("dobjd"),
	                      "migrate",
	                      "--database-url",
	                      NULL,
	                      "--migrations-dir",
	                      dir,
	                      "--log-format",
	                      "json",
	                      NULL};
	bool notice = false, warning = false;
	FILE *f;
	int st;

	fx_db_create(&db, false);
	argv[3] = db.dsn;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/0001_notices.sql", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("DO $$ BEGIN RAISE NOTICE 'a notice from 0001'; "
	      "RAISE WARNING 'a warning from 0001'; END $$;\n",
	      f);
	cr_assert_eq(fclose(f), 0);
	st = fx_run(argv, out, sizeof(out), err, sizeof(err));
	unlink(path);
	rmdir(dir);
	cr_assert_eq(st, 0, "exit status %d, stderr: %s", st, err);
	cr_assert(strstr(out, "schema is current (the migrations of /tmp/dobj-notice-") != NULL,
	          "stdout: %s", out);
	for (char *l = strtok_r(err, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		cr_assert(json_line(l), "not one JSON object: %s", l);
		notice |= strstr(l, "a notice from 0001") && strstr(l, "\"level\":\"info\"");
		warning |= strstr(l, "a warning from 0001") && strstr(l, "\"level\":\"warn\"");
	}
	cr_assert(notice, "no info line with the notice");
	cr_assert(warning, "no warn line with the warning");
}
