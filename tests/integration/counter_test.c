// SPDX-License-Identifier: MIT
// counter_test.c - the Counter example through real dobjd processes and PostgreSQL:
// persistence across restarts, exact counts under concurrency, isolation, and no lost
// acknowledged increment when dobjd is killed under load.

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"

static fx_db db;
static fx_server srv;

static void
setup(void)
{
	fx_db_create(&db, true);
	fx_server_start(&srv, &db, 0, NULL);
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_stop(&srv);
	fx_db_drop(&db);
}

TestSuite(counter, .init = setup, .fini = teardown, .timeout = 240);

static int64_t
count_of(dobj_client *c, const char *name)
{
	int64_t n = -1;
	dobj_err rc = fx_counter(c, name, "get", 0, &n);

	cr_assert_eq(rc, DOBJ_OK, "get %s: %s", name, dobj_err_name(rc));
	return n;
}

Test(counter, cli_increments_and_survives_restart)
{
	const char *inc[] = {fx_bin("counter-cli"), "--url", srv.url, "increment", "x", "5", NULL};
	const char *get[] = {fx_bin("counter-cli"), "--url", srv.url, "get", "x", NULL};
	char out[64], err[512];

	cr_assert_eq(fx_run(inc, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s", err);
	cr_assert_str_eq(out, "5\n");
	cr_assert_eq(fx_run(inc, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s", err);
	cr_assert_str_eq(out, "10\n");

	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	cr_assert_eq(fx_run(get, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s", err);
	cr_assert_str_eq(out, "10\n");
}

Test(counter, cli_reports_errors_on_stderr)
{
	const char *bad[] = {
	    fx_bin("counter-cli"), "--url", srv.url, "increment", "x", "12abc", NULL};
	const char *ovf[] = {fx_bin("counter-cli"), "--url", srv.url, "increment", "big",
	                     "9223372036854775807", NULL};
	char out[64], err[512];

	cr_assert_neq(fx_run(bad, out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_str_empty(out);
	/* the second increment overflows int64: the server says so, and the count stays */
	cr_assert_eq(fx_run(ovf, out, sizeof(out), err, sizeof(err)), 0, "stderr: %s", err);
	cr_assert_eq(fx_run(ovf, out, sizeof(out), err, sizeof(err)), 1);
	cr_assert_str_empty(out);
	cr_assert(strstr(err, "OUT_OF_RANGE") != NULL, "stderr: %s", err);
}

Test(counter, objects_are_isolated)
{
	dobj_client *c = fx_client(srv.url, 10000);
	int64_t n;

	cr_assert_eq(fx_counter(c, "a", "increment", 3, &n), DOBJ_OK);
	cr_assert_eq(fx_counter(c, "b", "increment", 7, &n), DOBJ_OK);
	cr_assert_eq(fx_counter(c, "a", "increment", 1, &n), DOBJ_OK);
	cr_assert_eq(n, 4);
	cr_assert_eq(count_of(c, "b"), 7);
	cr_assert_eq(count_of(c, "never-touched"), 0);
	cr_assert_eq(fx_counter(c, "a", "reset", 0, &n), DOBJ_OK);
	cr_assert_eq(n, 0);
	cr_assert_eq(count_of(c, "a"), 0);
	cr_assert_eq(count_of(c, "b"), 7);
	dobj_client_close(c);
}

typedef struct worker {
	const char *url;
	const char *name;
	int iterations;
	_Atomic long *acked;
	atomic_bool *stop;
	int errors;
} worker;

static void *
increment_loop(void *p)
{
	worker *w = p;
	dobj_client *c;
	dobj_client_opts o = {.url = w->url, .default_timeout_ms = 5000};

	if (dobj_client_open(&c, &o) != DOBJ_OK) {
		w->errors++;
		return NULL;
	}
	for (int i = 0; (w->iterations == 0 || i < w->iterations) && !atomic_load(w->stop); i++) {
		int64_t n;
		if (fx_counter(c, w->name, "increment", 1, &n) == DOBJ_OK)
			atomic_fetch_add(w->acked, 1);
		else
			w->errors++;
	}
	dobj_client_close(c);
	return NULL;
}

Test(counter, concurrent_clients_count_exactly)
{
	enum { NCLIENTS = 64, PER = 100 };
	pthread_t th[NCLIENTS];
	worker w[NCLIENTS];
	_Atomic long acked = 0;
	atomic_bool stop = false;
	dobj_client *c;
	int errors = 0;

	for (int i = 0; i < NCLIENTS; i++) {
		w[i] = (worker){srv.url, "hot", PER, &acked, &stop, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, increment_loop, &w[i]), 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		errors += w[i].errors;
	}
	cr_assert_eq(errors, 0);
	cr_assert_eq(acked, NCLIENTS * PER);
	c = fx_client(srv.url, 10000);
	cr_assert_eq(count_of(c, "hot"), NCLIENTS * PER);
	dobj_client_close(c);
}

Test(counter, kill9_under_load_loses_no_acknowledged_increment)
{
	enum { NCLIENTS = 16 };
	pthread_t th[NCLIENTS];
	worker w[NCLIENTS];
	_Atomic long acked = 0;
	atomic_bool stop = false;
	dobj_client *c;
	int64_t n;

	for (int i = 0; i < NCLIENTS; i++) {
		w[i] = (worker){srv.url, "k9", 0, &acked, &stop, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, increment_loop, &w[i]), 0);
	}
	/* let a few hundred increments through, then kill the server mid-stream */
	for (int waited = 0; atomic_load(&acked) < 300; waited++) {
		struct timespec ms = {0, 1000000};
		cr_assert_lt(waited, 60000, "no progress under load");
		nanosleep(&ms, NULL);
	}
	fx_server_kill(&srv, SIGKILL);
	atomic_store(&stop, true);
	for (int i = 0; i < NCLIENTS; i++)
		pthread_join(th[i], NULL);

	fx_server_start(&srv, &db, srv.port, NULL);
	c = fx_client(srv.url, 10000);
	n = count_of(c, "k9");
	/* Every acknowledged increment is durable; at most one unacknowledged call per client
	 * may also have committed before the kill. */
	cr_assert_geq(n, acked, "count %lld < %ld acknowledged", (long long)n, (long)acked);
	cr_assert_leq(n, acked + NCLIENTS, "count %lld > %ld acknowledged + %d in flight",
	              (long long)n, (long)acked, NCLIENTS);
	dobj_client_close(c);
}
