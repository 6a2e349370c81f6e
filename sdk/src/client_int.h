/* SPDX-License-Identifier: MIT */
/* client_int.h - dobj_client's internals, shared by client.c (opening, closing, stubs) and
 * call.c (the calls). Not installed. */
#ifndef DOBJ_SRC_CLIENT_INT_H
#define DOBJ_SRC_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include <dobj/client.h>
#include <dobj/object.h>

#include "dial.h"

#define CLIENT_MSG_MAX DOBJ_MESSAGE_MAX /* largest request or reply, in bytes */
#define CLIENT_POOL_MAX 1024            /* finished asynchronous calls a client keeps for reuse */

typedef struct client_call client_call;

struct dobj_client {
	nng_socket sock;
	char *url;
	int default_timeout_ms;
	atomic_uint_least64_t next_request_id;

	pthread_mutex_t mtx; /* protects closing, calls and ncalls */
	pthread_cond_t idle; /* signalled when ncalls drops to 0 while closing */
	bool closing;        /* set once by dobj_client_close; no call starts after it */
	client_call *calls;  /* the calls in flight, sync and async */
	unsigned ncalls;     /* the length of calls */
	client_call *pool;   /* finished asynchronous calls kept for reuse: context and aios open */
	unsigned npool;      /* the length of pool, at most CLIENT_POOL_MAX */
	atomic_int npipes;   /* connections up (nng's pipe events) */
	bool tls;            /* a tls+tcp:// URL, dialled by dial */
	dobj__dial dial;
};

/* call_phase: where an asynchronous call is in its send -> recv -> done state machine. */
typedef enum call_phase {
	CALL_WAIT, /* no connection yet: the request waits in pending */
	CALL_SEND,
	CALL_RECV,
} call_phase;

/* client_call: one call in flight. A synchronous call's lives on its caller's stack; an
 * asynchronous call's is owned by its aio callback once started, and freed by it after the
 * user's callback returns. */
struct client_call {
	dobj_client *client;
	client_call *prev, *next; /* in client->calls, under client->mtx */
	nng_ctx ctx;
	bool has_ctx; /* ctx is open (a call taken from the pool has one already) */
	nng_aio *aio; /* set before the call is linked; close cancels it */
	call_phase phase;
	uint64_t request_id;
	int timeout_ms;
	nng_time deadline;
	dobj_call_cb cb; /* NULL for a synchronous call */
	void *cbarg;
	nng_msg *pending;  /* CALL_WAIT: the encoded request */
	nng_aio *wait_aio; /* CALL_WAIT: its sleeps (an aio that slept may not serve a recv) */
	nng_msg *request;  /* asynchronous: a copy of the request, to send again; NULL: none */
	unsigned refusals; /* times the server refused it without running it, for now */
	char refusal[200]; /* the last such refusal's message */
};

/* dobj__class_name_valid: a class name a stub may carry (not empty, at most
 * DOBJ_CLASS_NAME_MAX bytes). */
bool dobj__class_name_valid(const char *class_name);

/* dobj__client_nng_err maps an nng error of the client's socket to a dobj_err. */
dobj_err dobj__client_nng_err(int rv);

/* dobj__client_hold links a call that is about to start; false if the client is closing. */
bool dobj__client_hold(dobj_client *c, client_call *call);

/* dobj__client_rele unlinks a completed call. Its context must be closed already. The caller
 * must not touch c afterwards: a closing client may be freed as soon as the lock is released. */
void dobj__client_rele(dobj_client *c, client_call *call);

/* dobj__client_take links a finished asynchronous call from the pool as a new call in flight,
 * its context and aios ready for another request; NULL if the pool is empty or the client is
 * closing (*closing says which). */
client_call *dobj__client_take(dobj_client *c, bool *closing);

/* dobj__client_keep unlinks a finished asynchronous call into the pool, context and aios
 * open, and says so; false (nothing done) if the client is closing or the pool is full. Called
 * at the end of the call's own aio callback: the next user of the aio may start an operation
 * on it before that callback has returned, which nng allows. */
bool dobj__client_keep(dobj_client *c, client_call *call);

/* dobj__client_call_free frees a call that is no longer linked, its context closed, outside
 * its own callbacks: its aios (nng_aio_free waits for a callback still ending), its request
 * copy and the call. */
void dobj__client_call_free(client_call *call);

/* dobj__client_closing says whether dobj_client_close has begun. */
bool dobj__client_closing(dobj_client *c);

#endif /* DOBJ_SRC_CLIENT_INT_H */
