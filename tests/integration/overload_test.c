// SPDX-License-Identifier: MIT
// overload_test.c - the memory budget for requests in flight (--inflight-bytes-max): a request
// that would take the bytes of the requests received and not yet answered past it is answered
// RESOURCE_EXHAUSTED at once, unread, while the others run; the budget comes back as their
// replies go out, and /metrics shows both.

#define _GNU_SOURCE /* asprintf */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "calls.h"
#include "dobj/wire.pb-c.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

#define BUDGET (17u << 20) /* the least budget: the largest request */
#define BIG (9u << 20)     /* two of these pass it, one fits */

static fx_db db;
static fx_server srv;
static int http_port;
static char http_url[64];

static void
setup(void)
{
	char budget[32];
	const char *args[] = {"--shards", "1", "--inflight-bytes-max", budget, "--http-listen",
	                      http_url,   NULL};

	snprintf(budget, sizeof(budget), "%u", BUDGET);
	fx_server_use("dobjd-test");
	fx_db_create(&db, true);
	http_port = fx_http_url(http_url, sizeof(http_url));
	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_kill(&srv, SIGKILL);
	fx_db_drop(&db);
	fx_ops_free();
}

TestSuite(overload, .init = setup, .fini = teardown, .timeout = 120);

/* big_get is a "get" op that carries n bytes it does not use: a large request that writes
 * nothing. */
static Dobj__Test__Op *
big_get(size_t n)
{
	char *filler = malloc(n + 1);
	Dobj__Test__Op *op;

	cr_assert_not_null(filler);
	memset(filler, 'x', n);
	filler[n] = '\0';
	op = fx_op("get", "nothing", filler);
	free(filler);
	return op;
}

/* wait_metric_at_least waits up to 10 s for an unlabelled series of /metrics to reach v. */
static uint64_t
wait_metric_at_least(const char *name, uint64_t v)
{
	uint64_t got = 0;

	for (int64_t until = fx_now_ms() + 10000; fx_now_ms() < until; fx_nap_ms(10))
		if ((got = fx_metric(http_port, name)) >= v)
			return got;
	cr_assert_fail("%s stayed at %llu, below %llu", name, (unsigned long long)got,
	               (unsigned long long)v);
	return got;
}

/* raw_big sends a Request of BIG bytes of payload with request_id 4242 on a plain req socket
 * and returns its Response. */
static Dobj__Wire__Response *
raw_big(void)
{
	Dobj__Wire__Request req = DOBJ__WIRE__REQUEST__INIT;
	Dobj__Wire__Response *r;
	nng_socket s;
	nng_msg *m;
	size_t len;

	req.request_id = 4242;
	req.class_name = (ProtobufCBinaryData){6, (uint8_t *)"TestKV"};
	req.name = (ProtobufCBinaryData){1, (uint8_t *)"c"};
	req.method = (ProtobufCBinaryData){3, (uint8_t *)"run"};
	req.payload.len = BIG;
	cr_assert_not_null(req.payload.data = calloc(1, BIG));
	len = dobj__wire__request__get_packed_size(&req);
	cr_assert_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	cr_assert_eq(nng_dial(s, srv.url, NULL, 0), 0);
	cr_assert_eq(nng_msg_alloc(&m, len), 0);
	dobj__wire__request__pack(&req, nng_msg_body(m));
	free(req.payload.data);
	cr_assert_eq(nng_sendmsg(s, m, 0), 0);
	cr_assert_eq(nng_recvmsg(s, &m, 0), 0, "no reply from dobjd");
	r = dobj__wire__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	nng_close(s);
	cr_assert_not_null(r);
	return r;
}

static bool
reply_done(fx_reply *w)
{
	bool done;

	pthread_mutex_lock(&w->mu);
	done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

Test(overload, a_request_past_the_budget_is_refused_at_once_and_the_others_run)
{
	dobj_client *c = fx_client(srv.url, 30000);
	char msg[256];
	Dobj__Test__Op *sleep = fx_op("sleep", NULL, NULL);
	Dobj__Test__Op *queued[] = {big_get(BIG)};
	Dobj__Test__Op *marked[] = {fx_op("put", "mark", "1"), big_get(BIG)};
	Dobj__Test__Op *check[] = {fx_op("get", "mark", NULL)};
	fx_reply slept = FX_REPLY_INIT, waited = FX_REPLY_INIT;
	Dobj__Test__ScriptResult *r = NULL;
	struct stat st;
	dobj_err rc;

	/* The one shard sleeps, so that a big request queues behind it, its bytes in flight. */
	if (asprintf(&sleep->key, "/tmp/dobj-overload-%ld", (long)getpid()) < 0)
		cr_assert_fail("out of memory");
	unlink(sleep->key);
	sleep->has_sleep_ms = 1;
	sleep->sleep_ms = 8000;
	fx_kv_run_async(c, "a", &sleep, 1, &slept);
	for (int64_t until = fx_now_ms() + 10000; stat(sleep->key, &st) != 0; fx_nap_ms(5))
		cr_assert(fx_now_ms() < until, "the slow call did not start");
	unlink(sleep->key);
	fx_kv_run_async(c, "a", queued, 1, &waited);
	wait_metric_at_least("dobj_request_bytes_in_flight", BIG);

	/* Another big one, to another object, would pass the budget: refused, unread, while the
	 * queued one still waits. */
	rc = fx_kv_run(c, "b", marked, 2, &r, msg, sizeof(msg));
	cr_assert_eq(rc, DOBJ_RESOURCE_EXHAUSTED, "got %s: %s", dobj_err_name(rc), msg);
	cr_assert(strstr(msg, "server is busy") != NULL && strstr(msg, "inflight_bytes_max"),
	          "message: %s", msg);
	cr_assert(!reply_done(&waited), "the refusal waited for the queue");
	cr_assert_eq(fx_metric(http_port, "dobj_requests_over_budget_total"), 1);
	{ /* on the wire: the request's own id, read without decoding it, and "not run" */
		Dobj__Wire__Response *raw = raw_big();
		cr_assert_eq(raw->status, DOBJ_RESOURCE_EXHAUSTED, "%s", raw->message);
		cr_assert_eq(raw->request_id, 4242);
		cr_assert(raw->not_run);
		dobj__wire__response__free_unpacked(raw, NULL);
	}
	cr_assert(!reply_done(&waited), "the refusals waited for the queue");
	cr_assert_eq(fx_metric(http_port, "dobj_requests_over_budget_total"), 2);

	/* The queued one and the sleeper are answered; their bytes come back. */
	fx_reply_await(&waited);
	cr_assert_eq(waited.status, DOBJ_OK, "%s", waited.message);
	fx_reply_await(&slept);
	cr_assert_eq(slept.status, DOBJ_OK, "%s", slept.message);
	/* a reply's bytes are given back when dobjd's send completes, which may come just after
	 * the client has the reply */
	for (int64_t until = fx_now_ms() + 5000;
	     fx_metric(http_port, "dobj_request_bytes_in_flight") != 0; fx_nap_ms(10))
		cr_assert(fx_now_ms() < until, "the requests' bytes were not given back");

	/* The refused request changed nothing; sent again, it runs. */
	r = fx_kv_run_ok(c, "b", check, 1);
	cr_assert(!r->results[0]->has_value, "the refused request wrote");
	dobj__test__script_result__free_unpacked(r, NULL);
	r = fx_kv_run_ok(c, "b", marked, 2);
	dobj__test__script_result__free_unpacked(r, NULL);
	r = fx_kv_run_ok(c, "b", check, 1);
	cr_assert(r->results[0]->has_value && r->results[0]->value.len == 1, "no mark");
	dobj__test__script_result__free_unpacked(r, NULL);
	cr_assert_eq(fx_metric(http_port, "dobj_requests_over_budget_total"), 2);
	cr_assert_eq(fx_metric(http_port, "dobj_request_bytes_in_flight_max"), BUDGET);
	dobj_client_close(c);
}
