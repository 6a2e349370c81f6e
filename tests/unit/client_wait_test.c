// SPDX-License-Identifier: MIT
// client_wait_test.c - dobj_client calls made while it has no connection: they wait for one
// up to their deadline (then DEADLINE_EXCEEDED, once each, also by the hundred), carry the
// time they have left once connected, and close cancels them, also racing their timeouts. The
// peer they reach is tests/support/peer.c; the other client tests are in client_test.c.

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include <dobj/client.h>

#include "calls.h"
#include "peer.h"

Test(client, no_server_gives_deadline_exceeded)
{
	dobj_call_opts opts = {.timeout_ms = 200};
	char url[128];
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-none.ipc", (int)getpid());
	c = fx_client(url, 0);
	cr_assert_eq(dobj_singleton(c, "Counter", "x", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_DEADLINE_EXCEEDED);
	cr_assert(strstr(reply.message, "request not sent") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
}

Test(client, server_started_after_the_client_is_reached)
{
	dobj_call_opts opts = {.timeout_ms = FX_WAIT_MS};
	char url[128];
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-late.ipc", (int)getpid());
	unlink(url + strlen("ipc://"));
	c = fx_client(url, 0);
	fx_peer_start(&p, url, FX_PEER_ECHO);
	cr_assert_eq(dobj_singleton(c, "Counter", "late", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call(&stub, "get", "hi", 2, &opts, &reply), DOBJ_OK, "%s", reply.message);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

/* sync_call_thread makes a synchronous call of 4 s from a thread of its own. */
static void *
sync_call_thread(void *arg)
{
	dobj_call_opts opts = {.timeout_ms = 4000};
	dobj_reply reply;

	FX_CHECK(dobj_call(arg, "get", NULL, 0, &opts, &reply) == DOBJ_OK);
	dobj_reply_fini(&reply);
	return NULL;
}

/* A call that waited for its connection carries the time it has left, not its whole timeout,
 * since the server counts the timeout again from its receipt: otherwise it could run the call
 * after the client gave up. */
Test(client, a_call_that_waited_for_a_connection_carries_the_time_left)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 4000};
	fx_async_result a = {.w = &w};
	char url[128];
	dobj_stub stub;
	dobj_client *c;
	pthread_t t;
	fx_peer p;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-left.ipc", (int)getpid());
	unlink(url + strlen("ipc://"));
	c = fx_client(url, 0);
	cr_assert_eq(dobj_singleton(c, "Counter", "left", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply, &a), DOBJ_OK);
	nng_msleep(1500);
	fx_peer_start(&p, url, FX_PEER_ECHO);
	fx_waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_OK, "%s", a.message);
	pthread_mutex_lock(&p.mtx);
	cr_assert(p.last->timeout_ms > 0 && p.last->timeout_ms <= 4000 - 1500, "async: %u",
	          p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	fx_peer_stop(&p);

	/* the same, synchronous */
	unlink(url + strlen("ipc://"));
	c = fx_client(url, 0);
	cr_assert_eq(dobj_singleton(c, "Counter", "left", &stub), DOBJ_OK);
	cr_assert_eq(pthread_create(&t, NULL, sync_call_thread, &stub), 0);
	nng_msleep(1500);
	fx_peer_start(&p, url, FX_PEER_ECHO);
	pthread_join(t, NULL);
	pthread_mutex_lock(&p.mtx);
	cr_assert(p.last->timeout_ms > 0 && p.last->timeout_ms <= 4000 - 1500, "sync: %u",
	          p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, close_cancels_calls_waiting_for_a_connection)
{
	enum { NCALLS = 4 };
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	fx_async_result a[NCALLS];
	char url[128];
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-never.ipc", (int)getpid());
	c = fx_client(url, 0);
	cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
	for (int i = 0; i < NCALLS; i++) {
		a[i] = (fx_async_result){.w = &w};
		cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, fx_on_reply, &a[i]),
		             DOBJ_OK);
	}
	dobj_client_close(c);
	cr_assert_eq(w.done, NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		cr_assert_eq(a[i].runs, 1);
		cr_assert_eq(a[i].status, DOBJ_CANCELLED, "call %d: %s", i, a[i].message);
	}
}

/* ---- calls that wait for a connection, under stress ---- */

Test(client, connected_client_carries_full_timeout)
{
	dobj_call_opts opts = {.timeout_ms = 1234};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "full", &stub);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_OK);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_OK);
	dobj_reply_fini(&reply);
	pthread_mutex_lock(&p.mtx);
	cr_assert_eq(p.last->timeout_ms, 1234);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, many_waiting_async_calls_time_out_once, .timeout = 60)
{
	enum { NCALLS = 300 };
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	static fx_async_result a[NCALLS];
	char url[128];
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-many.ipc", (int)getpid());
	c = fx_client(url, 0);
	cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
	int started = 0, wrong = -1;

	for (int i = 0; i < NCALLS; i++) {
		dobj_call_opts opts = {.timeout_ms = 1 + i % 23};
		a[i] = (fx_async_result){.w = &w};
		started +=
		    dobj_call_async(&stub, "get", "x", 1, &opts, fx_on_reply, &a[i]) == DOBJ_OK;
	}
	cr_assert_eq(started, NCALLS);
	fx_waiter_wait(&w, NCALLS);
	dobj_client_close(c);
	/* one assertion, not one per call (criterion's bookkeeping of many is slow) */
	for (int i = 0; i < NCALLS && wrong < 0; i++)
		if (a[i].runs != 1 || a[i].status != DOBJ_DEADLINE_EXCEEDED)
			wrong = i;
	cr_assert_eq(wrong, -1, "call %d: %u runs, %s", wrong, a[wrong < 0 ? 0 : wrong].runs,
	             a[wrong < 0 ? 0 : wrong].message);
}

Test(client, close_races_waiting_calls, .timeout = 120)
{
	for (int round = 0; round < 200; round++) {
		enum { NCALLS = 20 };
		fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
		fx_async_result a[NCALLS];
		char url[128];
		dobj_stub stub;
		dobj_client *c;

		snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-race.ipc",
		         (int)getpid());
		c = fx_client(url, 0);
		cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
		int started = 0, twice = 0;

		for (int i = 0; i < NCALLS; i++) {
			dobj_call_opts opts = {.timeout_ms = 1 + (i + round) % 7};
			a[i] = (fx_async_result){.w = &w};
			started += dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply,
			                           &a[i]) == DOBJ_OK;
		}
		nng_msleep(round % 6);
		dobj_client_close(c);
		for (int i = 0; i < NCALLS; i++)
			twice += a[i].runs != 1;
		if (started != NCALLS || w.done != NCALLS || twice != 0)
			cr_assert_fail("round %d: %d started, %u callbacks, %d calls not run once",
			               round, started, w.done, twice);
	}
}
