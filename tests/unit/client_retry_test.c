// SPDX-License-Identifier: MIT
// client_retry_test.c - calls a server refuses because it is shutting down (UNAVAILABLE, with
// not_run and stopping on the wire) go again after a backoff, until their deadline, against a
// real nng rep0 peer run by the test (tests/support/peer.c); every other refusal comes back at
// once; and closing the client cuts a backoff short.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <dobj/client.h>

#include "peer.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
refuse_next(fx_peer *p, unsigned n)
{
	pthread_mutex_lock(&p->mtx);
	p->refuse_stopping = n;
	pthread_mutex_unlock(&p->mtx);
}

static unsigned
received(fx_peer *p)
{
	unsigned n;

	pthread_mutex_lock(&p->mtx);
	n = p->nreceived;
	pthread_mutex_unlock(&p->mtx);
	return n;
}

Test(client_retry, a_call_refused_by_a_stopping_server_goes_again_and_gets_through)
{
	dobj_call_opts opts = {.timeout_ms = 5000};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "moving", &stub);
	refuse_next(&p, 3);
	cr_assert_eq(dobj_call(&stub, "get", "abc", 3, &opts, &reply), DOBJ_OK, "%s",
	             reply.message);
	cr_assert_eq(reply.len, 3);
	cr_assert_arr_eq(reply.data, "abc", 3);
	dobj_reply_fini(&reply);
	pthread_mutex_lock(&p.mtx);
	cr_assert_eq(p.nreceived, 4, "sent %u times", p.nreceived);
	/* sent again with the time it had left, not its whole timeout */
	cr_assert_lt(p.last->timeout_ms, 5000 - 5, "%u", p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client_retry, an_async_call_refused_by_a_stopping_server_goes_again_and_gets_through)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 5000};
	fx_async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "moving", &stub);
	refuse_next(&p, 3);
	cr_assert_eq(dobj_call_async(&stub, "get", "xyz", 3, &opts, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	dobj_client_close(c);
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_OK, "%s", a.message);
	cr_assert_eq(a.len, 3);
	cr_assert_arr_eq(a.data, "xyz", 3);
	free(a.data);
	cr_assert_eq(received(&p), 4);
	fx_peer_stop(&p);
}

/* not_run alone (the server could not load the object: PostgreSQL is down) fails fast: the
 * caller decides, as with every other error. */
Test(client_retry, other_refusals_come_back_at_once)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	fx_async_result a = {.w = &w};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "down", &stub);
	cr_assert_eq(dobj_call(&stub, "notrun", NULL, 0, NULL, &reply), DOBJ_UNAVAILABLE);
	cr_assert_str_eq(reply.message, "could not load the object");
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, "fail", NULL, 0, NULL, &reply), DOBJ_FAILED_PRECONDITION);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, "notrun", NULL, 0, NULL, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "%s", a.message);
	cr_assert_eq(received(&p), 3, "sent again");
	dobj_client_close(c);
	fx_peer_stop(&p);
}

/* Refused until its deadline: the call ends with the refusal and their count, within its
 * timeout. */
Test(client_retry, refused_until_the_deadline_gives_the_refusal)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 300};
	fx_async_result a = {.w = &w};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	long t0;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "gone", &stub);
	refuse_next(&p, 100000);
	t0 = now_ms();
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_UNAVAILABLE);
	cr_assert_lt(now_ms() - t0, 1000);
	cr_assert(strncmp(reply.message, "server is shutting down (refusals: ", 35) == 0, "%s",
	          reply.message);
	cr_assert(strstr(reply.message, "no server took the call within 300 ms") != NULL, "%s",
	          reply.message);
	cr_assert_geq(received(&p), 3);
	dobj_reply_fini(&reply);

	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_UNAVAILABLE, "%s", a.message);
	cr_assert(strstr(a.message, "(refusals: ") != NULL, "%s", a.message);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

/* A backoff grows to a second: closing the client does not wait it out. */
Test(client_retry, close_cuts_a_backoff_short)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 60000};
	fx_async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	long t0;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "gone", &stub);
	refuse_next(&p, 100000);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply, &a), DOBJ_OK);
	fx_peer_wait_received(&p, 9); /* the backoff is now 0.5-1 s */
	/* Let the 9th refusal arrive first: a close while a reply arrives may hang in nng 1.5's
	 * socket close (dobj_client_close bounds that wait; see client.c). */
	usleep(100 * 1000);
	t0 = now_ms();
	dobj_client_close(c);
	cr_assert_lt(now_ms() - t0, 300, "close took %ld ms", now_ms() - t0);
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_CANCELLED, "%s", a.message);
	fx_peer_stop(&p);
}
