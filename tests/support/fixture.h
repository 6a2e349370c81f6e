/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - real services for integration tests: a fresh PostgreSQL database per test
 * and real dobjd processes on free loopback ports.
 *
 * The PostgreSQL server comes from DOBJ_TEST_DATABASE_URL (scripts/test.sh starts a private
 * one); every fx_db_create() makes a new database on it, migrated with `dobjd migrate`.
 */
#ifndef DOBJ_TEST_FIXTURE_H
#define DOBJ_TEST_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FX_DSN_MAX 512
#define FX_URL_MAX 128

typedef struct fx_db {
	char name[64];
	char dsn[FX_DSN_MAX];
} fx_db;

typedef struct fx_server {
	pid_t pid;
	char url[FX_URL_MAX]; /* tcp://127.0.0.1:PORT */
	int port;
	char log_path[256]; /* dobjd's stderr goes here */
} fx_server;

/* fx_db_create creates an empty database with a unique name and, if migrate is true, runs
 * `dobjd migrate` on it. Fails the current test (cr_assert) on any error. */
void fx_db_create(fx_db *db, bool migrate);

/* fx_db_create_with is fx_db_create with options for CREATE DATABASE (e.g. "ENCODING 'LATIN1'
 * ..."). */
void fx_db_create_with(fx_db *db, bool migrate, const char *options);

/* fx_db_drop drops the database (terminating leftover connections). */
void fx_db_drop(fx_db *db);

/* fx_db_exec runs sql on the database and returns the first column of the first row as a
 * malloc'ed string (NULL for no rows or NULL); fails the test on an SQL error. */
char *fx_db_query1(fx_db *db, const char *sql);

/* fx_db_query_long is fx_db_query1's value as a number: -1 for no rows or NULL. */
long fx_db_query_long(fx_db *db, const char *sql);

/* fx_server_start starts dobjd serving db on a free port with the extra arguments (a
 * NULL-terminated list, may be NULL) and waits until it accepts connections and its log says
 * it listens (its info line: dobjd runs with --log-level info unless the extra arguments
 * say otherwise; keep it at info or below), failing the test after 20 s.
 * port 0 picks a free port, and another if a parallel test's dobjd took it first; a given
 * port reuses it (restarts). A --listen among the extra arguments replaces the tcp:// URL
 * (s->url becomes it): give it port's number, e.g. tls+tcp://127.0.0.1:PORT. */
void fx_server_start(fx_server *s, fx_db *db, int port, const char *const *extra_args);

/* fx_server_spawn starts dobjd like fx_server_start without waiting for it to serve (it may
 * stand by for the writer lock); port 0 picks a free port. */
void fx_server_spawn(fx_server *s, fx_db *db, int port, const char *const *extra_args);

/* fx_server_serving says whether s serves now: its log says it listens and its port accepts. */
bool fx_server_serving(fx_server *s);

/* fx_server_await waits until a spawned dobjd serves; fails the test if it exits first or
 * after timeout_ms. */
void fx_server_await(fx_server *s, int timeout_ms);

/* fx_server_exited waits up to timeout_ms for dobjd to exit by itself: true, with its wait
 * status in *status, if it did (or was not running). */
bool fx_server_exited(fx_server *s, int timeout_ms, int *status);

/* fx_server_use makes later fx_server_start calls run the built binary `name` (default
 * "dobjd"; "dobjd-test" adds the TestKV class). */
void fx_server_use(const char *name);

/* fx_log_contains says whether the first 64 KiB of the log at path contain needle. */
bool fx_log_contains(const char *path, const char *needle);

/* fx_server_kill sends sig to dobjd and waits for it to exit; returns its wait status. */
int fx_server_kill(fx_server *s, int sig);

/* fx_server_stop is fx_server_kill(s, SIGTERM) and asserts a clean exit (status 0). */
void fx_server_stop(fx_server *s);

/* fx_run runs a command (argv NULL-terminated), captures up to outlen-1 bytes of stdout into
 * out (NUL-terminated, may be NULL) and returns its exit status (or -1 if it died). */
int fx_run(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen);

/* fx_bin returns the path of a built binary by target name ("dobjd", "counter-cli"). */
const char *fx_bin(const char *name);

/* fx_port returns a loopback TCP port that was free a moment ago. */
int fx_port(void);

/* fx_pg: a PostgreSQL of one test's own, for tests that stop and start it. */
typedef struct fx_pg {
	char dir[96];
	char port[16];
} fx_pg;

/* fx_pg_private starts a new PostgreSQL (scripts/pg.sh in a fresh directory) and points
 * DOBJ_TEST_DATABASE_URL at it in this test process, so that fx_db_create uses it. */
void fx_pg_private(fx_pg *pg);

/* fx_pg_stop stops it (fast shutdown: sessions are cut); fx_pg_start starts it again on the
 * same port. */
void fx_pg_stop(fx_pg *pg);
void fx_pg_start(fx_pg *pg);

/* fx_pg_destroy stops it and removes its directory. */
void fx_pg_destroy(fx_pg *pg);

/* fx_now_ms returns a monotonic time in ms, for test deadlines. */
int64_t fx_now_ms(void);

/* fx_nap_ms sleeps ms between two polls of a condition (never as synchronisation itself). */
void fx_nap_ms(long ms);

#endif /* DOBJ_TEST_FIXTURE_H */
