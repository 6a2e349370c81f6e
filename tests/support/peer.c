// SPDX-License-Identifier: MIT
// peer.c - the server the client's unit tests talk to (nng rep0, a few worker threads that
// record and answer requests) and the waiter their async calls report to. The client under
// test is libdobj's own; what a reply means is left to the tests.

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "calls.h"
#include "peer.h"

static void
peer_answer(fx_peer *p, nng_ctx ctx, nng_aio *aio, const Dobj__Wire__Request *req, bool refuse)
{
	Dobj__Wire__Response resp = DOBJ__WIRE__RESPONSE__INIT;
	static const uint8_t garbage[] = {0x08, 0x80}; /* a varint cut short */
	nng_msg *msg;

	resp.request_id = req->request_id;
	if (p->mode == FX_PEER_WRONG_ID)
		resp.request_id += 1000;
	if (refuse) {
		resp.status = DOBJ_UNAVAILABLE;
		resp.message = "server is shutting down";
		resp.not_run = true;
		resp.stopping = true;
	} else if (req->method.len == 4 && memcmp(req->method.data, "fail", 4) == 0) {
		resp.status = DOBJ_FAILED_PRECONDITION;
		resp.message = "state is \"done\"";
	} else if (req->method.len == 6 && memcmp(req->method.data, "notrun", 6) == 0) {
		resp.status = DOBJ_UNAVAILABLE;
		resp.message = "could not load the object";
		resp.not_run = true;
	} else {
		resp.payload = req->payload;
	}
	if (req->method.len == 4 && memcmp(req->method.data, "slow", 4) == 0) {
		struct timespec ts = {0, FX_PEER_SLOW_MS * 1000000L};

		nanosleep(&ts, NULL);
	}
	if (p->mode == FX_PEER_GARBAGE) {
		FX_CHECK(nng_msg_alloc(&msg, sizeof(garbage)) == 0);
		memcpy(nng_msg_body(msg), garbage, sizeof(garbage));
	} else {
		FX_CHECK(nng_msg_alloc(&msg, dobj__wire__response__get_packed_size(&resp)) == 0);
		dobj__wire__response__pack(&resp, nng_msg_body(msg));
	}
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0)
		nng_msg_free(msg);
}

static void *
peer_work(void *arg)
{
	fx_peer_worker *w = arg;
	fx_peer *p = w->p;
	nng_ctx ctx = w->ctx;
	nng_aio *aio = w->aio;
	Dobj__Wire__Request *req, *seen;
	nng_msg *msg;
	bool refuse;

	for (;;) {
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0)
			break; /* fx_peer_stop stopped the aio: the test is over */
		msg = nng_aio_get_msg(aio);
		/* decoded twice: one copy is recorded (before answering, so that a test that has
		 * its reply sees the request), the other answers */
		req = dobj__wire__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
		seen = dobj__wire__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
		nng_msg_free(msg);
		FX_CHECK(req != NULL && seen != NULL);
		pthread_mutex_lock(&p->mtx);
		if (p->last != NULL)
			dobj__wire__request__free_unpacked(p->last, NULL);
		p->last = seen;
		p->nreceived++;
		if ((refuse = p->refuse_stopping > 0))
			p->refuse_stopping--;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mtx);
		if (p->mode != FX_PEER_SILENT)
			peer_answer(p, ctx, aio, req, refuse);
		dobj__wire__request__free_unpacked(req, NULL);
	}
	return NULL;
}

void
fx_peer_start(fx_peer *p, const char *url, fx_peer_mode mode)
{
	nng_listener l;
	int port;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cv, NULL);
	cr_assert_eq(nng_rep0_open(&p->sock), 0);
	cr_assert_eq(nng_listen(p->sock, url, &l, 0), 0, "listen on %s", url);
	if (strncmp(url, "tcp://", 6) == 0) {
		cr_assert_eq(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), 0);
		snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", port);
	} else {
		snprintf(p->url, sizeof(p->url), "%s", url);
	}
	for (int i = 0; i < FX_PEER_WORKERS; i++) {
		p->workers[i].p = p;
		cr_assert_eq(nng_ctx_open(&p->workers[i].ctx, p->sock), 0);
		cr_assert_eq(nng_aio_alloc(&p->workers[i].aio, NULL, NULL), 0);
		cr_assert_eq(pthread_create(&p->workers[i].thread, NULL, peer_work, &p->workers[i]),
		             0);
	}
}

void
fx_peer_stop(fx_peer *p)
{
	/* a stopped aio fails its operation and every later one, so each worker ends */
	for (int i = 0; i < FX_PEER_WORKERS; i++)
		nng_aio_stop(p->workers[i].aio);
	for (int i = 0; i < FX_PEER_WORKERS; i++) {
		pthread_join(p->workers[i].thread, NULL);
		nng_ctx_close(p->workers[i].ctx);
		nng_aio_free(p->workers[i].aio);
	}
	nng_close(p->sock);
	if (p->last != NULL)
		dobj__wire__request__free_unpacked(p->last, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
}

/* deadline_in: the CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static struct timespec
deadline_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

void
fx_peer_wait_received(fx_peer *p, unsigned n)
{
	struct timespec until = deadline_in(FX_WAIT_MS);

	pthread_mutex_lock(&p->mtx);
	while (p->nreceived < n)
		if (pthread_cond_timedwait(&p->cv, &p->mtx, &until) != 0)
			break;
	cr_assert_geq(p->nreceived, n, "the peer received %u of %u requests", p->nreceived, n);
	pthread_mutex_unlock(&p->mtx);
}

dobj_client *
fx_peer_client(fx_peer *p, fx_peer_mode mode, const char *cls, const char *name, dobj_stub *stub)
{
	dobj_client *c;

	fx_peer_start(p, "tcp://127.0.0.1:0", mode);
	c = fx_client(p->url, 0);
	cr_assert_eq(dobj_singleton(c, cls, name, stub), DOBJ_OK);
	return c;
}

void
fx_on_reply(void *arg, dobj_reply *r)
{
	fx_async_result *a = arg;

	FX_CHECK(r->message != NULL);
	pthread_mutex_lock(&a->w->mtx);
	a->runs++;
	a->status = r->status;
	snprintf(a->message, sizeof(a->message), "%s", r->message);
	a->data = r->data; /* the callback may take the data */
	a->len = r->len;
	r->data = NULL;
	a->w->done++;
	pthread_cond_broadcast(&a->w->cv);
	pthread_mutex_unlock(&a->w->mtx);
}

void
fx_waiter_wait(fx_waiter *w, unsigned n)
{
	struct timespec until = deadline_in(FX_WAIT_MS);

	pthread_mutex_lock(&w->mtx);
	while (w->done < n)
		if (pthread_cond_timedwait(&w->cv, &w->mtx, &until) != 0)
			break;
	cr_assert_geq(w->done, n, "%u of %u callbacks ran", w->done, n);
	pthread_mutex_unlock(&w->mtx);
}
