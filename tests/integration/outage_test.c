// SPDX-License-Identifier: MIT
// outage_test.c - PostgreSQL stopped under load, then started again, on a PostgreSQL of the
// test's own (other tests share DOBJ_TEST_DATABASE_URL's): during the outage calls fail fast
// with UNAVAILABLE and /readyz is 503; afterwards dobjd serves again without a restart, and
// every acknowledged increment is in the database.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "counter/counter.pb-c.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

#define CLIENTS 8
#define CALL_TIMEOUT_MS 5000
#define OUTAGE_MS 10000

static fx_pg pg;
static fx_db db;
static fx_server srv;
static int http_port;
static char http_url[64];

static void
setup(void)
{
	fx_pg_private(&pg);
	fx_db_create(&db, true);
	http_port = fx_http_url(http_url, sizeof(http_url));
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_kill(&srv, SIGKILL);
	fx_pg_start(&pg); /* in case the test stopped it */
	fx_db_drop(&db);
	fx_pg_destroy(&pg);
}

TestSuite(outage, .init = setup, .fini = teardown, .timeout = 240);

/* The phases the main thread moves the load through. */
enum { PHASE_BEFORE, PHASE_OUTAGE, PHASE_AFTER, PHASE_STOP };

typedef struct loader {
	pthread_t thread;
	int index;
	atomic_int *phase;
	long ok;              /* acknowledged increments */
	long ok_after;        /* of those, after PostgreSQL came back */
	long failed;          /* calls that failed */
	long failed_outage;   /* of those, during the outage */
	long not_unavailable; /* failures with another status than UNAVAILABLE */
	int64_t slowest_fail; /* the slowest failed call, ms */
	char odd_msg[256];    /* a failure's message that was not UNAVAILABLE */
} loader;

static void *
loader_main(void *arg)
{
	loader *ld = arg;
	dobj_client_opts co = {.url = srv.url, .default_timeout_ms = CALL_TIMEOUT_MS};
	Dobj__Examples__Counter__IncrementRequest req =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	dobj_client *c = NULL;
	uint8_t buf[32];
	size_t len;
	char name[32];
	int i = 0;

	req.amount = 1;
	len = dobj__examples__counter__increment_request__pack(&req, buf);
	if (dobj_client_open(&c, &co) != DOBJ_OK)
		return NULL;
	while (atomic_load(ld->phase) != PHASE_STOP) {
		int phase = atomic_load(ld->phase);
		int64_t t0 = fx_now_ms();
		dobj_reply r;
		dobj_stub s;
		dobj_err rc;

		/* a few objects per client, new ones too, so activations need PostgreSQL */
		snprintf(name, sizeof(name), "outage-%d-%d", ld->index, i++ % 16);
		dobj_singleton(c, "Counter", name, &s);
		rc = dobj_call(&s, "increment", buf, len, NULL, &r);
		if (rc == DOBJ_OK) {
			ld->ok++;
			ld->ok_after += phase == PHASE_AFTER;
		} else {
			int64_t took = fx_now_ms() - t0;
			ld->failed++;
			ld->failed_outage += phase == PHASE_OUTAGE;
			if (took > ld->slowest_fail)
				ld->slowest_fail = took;
			if (rc != DOBJ_UNAVAILABLE) {
				ld->not_unavailable++;
				snprintf(ld->odd_msg, sizeof(ld->odd_msg), "%s: %s",
				         dobj_err_name(rc), r.message);
			}
			if (phase == PHASE_OUTAGE)
				fx_nap_ms(5); /* keep the failure loop from spinning a core */
		}
		dobj_reply_fini(&r);
	}
	dobj_client_close(c);
	return NULL;
}

static long
metric(const char *name)
{
	static char body[1 << 20];
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", name); /* the sample, not its HELP line */
	cr_assert_eq(fx_http_get(http_port, "/metrics", body, sizeof(body)), 200);
	p = strstr(body, want);
	cr_assert_not_null(p, "no %s in /metrics", name);
	return strtol(p + strlen(want), NULL, 10);
}

/* sum_of_all reads every counter the loaders used. */
static long
sum_of_all(void)
{
	dobj_client *c = fx_client(srv.url, CALL_TIMEOUT_MS);
	long sum = 0;

	for (int k = 0; k < CLIENTS; k++) {
		for (int j = 0; j < 16; j++) {
			char name[32];
			int64_t n = 0;

			snprintf(name, sizeof(name), "outage-%d-%d", k, j);
			/* a shard may still wait out its backoff (5 s at most) */
			for (int64_t deadline = fx_now_ms() + 15000;
			     fx_counter(c, name, "get", 0, &n) != DOBJ_OK; fx_nap_ms(50))
				cr_assert(fx_now_ms() < deadline, "get %s kept failing", name);
			sum += n;
		}
	}
	dobj_client_close(c);
	return sum;
}

Test(outage, postgresql_down_for_10s_fails_fast_and_recovers_by_itself)
{
	const char *args[] = {"--http-listen", http_url, "--shards", "2", NULL};
	static loader ld[CLIENTS];
	atomic_int phase = PHASE_BEFORE;
	long ok = 0, ok_after = 0, failed_outage = 0, stored;
	int64_t slowest = 0, t_end, deadline;
	char body[1024];
	bool saw_503 = false;

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
	for (int i = 0; i < CLIENTS; i++) {
		ld[i] = (loader){.index = i, .phase = &phase};
		cr_assert_eq(pthread_create(&ld[i].thread, NULL, loader_main, &ld[i]), 0);
	}
	for (deadline = fx_now_ms() + 30000; metric("dobj_commits_total") < 50; fx_nap_ms(20))
		cr_assert(fx_now_ms() < deadline, "the load did not get going");

	fx_pg_stop(&pg);
	atomic_store(&phase, PHASE_OUTAGE);
	for (t_end = fx_now_ms() + OUTAGE_MS; fx_now_ms() < t_end; fx_nap_ms(100))
		if (fx_http_get(http_port, "/readyz", body, sizeof(body)) == 503)
			saw_503 = true;
	cr_assert(saw_503, "/readyz never answered 503 while PostgreSQL was down");
	fx_pg_start(&pg);
	atomic_store(&phase, PHASE_AFTER);
	for (deadline = fx_now_ms() + 30000;; fx_nap_ms(50)) {
		long after = 0;
		for (int i = 0; i < CLIENTS; i++)
			after += ld[i].ok_after; /* racy read of a growing count: only a hint */
		if (after >= 100 && fx_http_get(http_port, "/readyz", body, sizeof(body)) == 200)
			break;
		cr_assert(fx_now_ms() < deadline, "dobjd did not serve again within 30 s: %s",
		          body);
	}
	atomic_store(&phase, PHASE_STOP);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(ld[i].thread, NULL);
		ok += ld[i].ok;
		ok_after += ld[i].ok_after;
		failed_outage += ld[i].failed_outage;
		if (ld[i].slowest_fail > slowest)
			slowest = ld[i].slowest_fail;
		cr_assert_eq(ld[i].not_unavailable, 0, "client %d: %s", i, ld[i].odd_msg);
	}
	cr_assert_gt(failed_outage, 0, "no call failed while PostgreSQL was down");
	cr_assert_lt(slowest, 2000, "a failing call took %lld ms (client deadline %d ms)",
	             (long long)slowest, CALL_TIMEOUT_MS);
	cr_assert_gt(ok_after, 0);
	cr_assert_geq(metric("dobj_pg_reconnects_total"), 1);
	cr_assert_gt(metric("dobj_pg_errors_total"), 0);
	stored = sum_of_all();
	cr_assert_geq(stored, ok, "PostgreSQL holds %ld increments, %ld were acknowledged", stored,
	              ok);
	fx_server_stop(&srv);
}
