/* SPDX-License-Identifier: MIT */
/* peer.h - a server played by the client's unit tests: an nng rep0 socket whose workers record
 * each request and answer it as told (fx_peer), and the bookkeeping of async calls' callbacks
 * (fx_waiter). No dobjd and no database. */
#ifndef DOBJ_TEST_PEER_H
#define DOBJ_TEST_PEER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <nng/nng.h>

#include <dobj/client.h>
#include <dobj/wire.pb-c.h>

#include "check.h" /* FX_CHECK: peer threads cannot cr_assert */

#define FX_PEER_WORKERS 4
#define FX_WAIT_MS 10000    /* longest a test waits for something that should happen at once */
#define FX_PEER_SLOW_MS 400 /* how long the peer takes to answer method "slow" */

/* fx_peer_mode: how the test's server answers. */
typedef enum fx_peer_mode {
	FX_PEER_ECHO,     /* OK with the request's payload; method "fail" gets FAILED_PRECONDITION,
	                 * method "notrun" UNAVAILABLE with not_run (and not stopping), method
	                 * "slow" the payload after FX_PEER_SLOW_MS */
	FX_PEER_SILENT,   /* never answers */
	FX_PEER_WRONG_ID, /* answers with another request id */
	FX_PEER_GARBAGE,  /* answers with bytes that are no Response */
} fx_peer_mode;

typedef struct fx_peer fx_peer;

/* fx_peer_worker: one thread answering on one rep context. The context and aio are made before
 * the thread starts and freed after it ends: nng 1.5 must not see a context operation race
 * nng_close(). */
typedef struct fx_peer_worker {
	fx_peer *p;
	nng_ctx ctx;
	nng_aio *aio;
	pthread_t thread;
} fx_peer_worker;

struct fx_peer {
	nng_socket sock;
	char url[128];
	fx_peer_mode mode;
	fx_peer_worker workers[FX_PEER_WORKERS];

	pthread_mutex_t mtx;       /* protects last, nreceived and refuse_stopping */
	pthread_cond_t cv;         /* signalled on each request received */
	Dobj__Wire__Request *last; /* the last request received */
	unsigned nreceived;
	/* refuse_stopping: the next this many requests are answered as by a dobjd shutting down
	 * (UNAVAILABLE, not_run and stopping), whatever the mode but SILENT */
	unsigned refuse_stopping;
};

/* fx_peer_start listens on url ("tcp://127.0.0.1:0" picks a free port, written to p->url). */
void fx_peer_start(fx_peer *p, const char *url, fx_peer_mode mode);

/* fx_peer_stop ends the workers, closes the socket and frees the last request. */
void fx_peer_stop(fx_peer *p);

/* fx_peer_wait_received waits until the peer has received n requests; fails the test if not. */
void fx_peer_wait_received(fx_peer *p, unsigned n);

/* fx_peer_client starts a peer on a free TCP port, connects a client to it and makes the stub
 * of the singleton cls/name. */
dobj_client *fx_peer_client(fx_peer *p, fx_peer_mode mode, const char *cls, const char *name,
                            dobj_stub *stub);

/* fx_waiter counts the callbacks of a test's async calls. */
typedef struct fx_waiter {
	pthread_mutex_t mtx; /* protects done and every fx_async_result pointing here */
	pthread_cond_t cv;
	unsigned done;
} fx_waiter;

/* fx_async_result: what fx_on_reply saw of one call. */
typedef struct fx_async_result {
	fx_waiter *w;
	unsigned runs;
	dobj_err status;
	char message[256];
	uint8_t *data; /* taken from the reply; free it */
	size_t len;
} fx_async_result;

/* fx_on_reply is a dobj_call_cb whose arg is an fx_async_result: it records the reply, takes
 * its data and counts one callback of the result's waiter. */
void fx_on_reply(void *arg, dobj_reply *r);

/* fx_waiter_wait waits until n callbacks of w have run; fails the test after FX_WAIT_MS. */
void fx_waiter_wait(fx_waiter *w, unsigned n);

#endif /* DOBJ_TEST_PEER_H */
