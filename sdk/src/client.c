// SPDX-License-Identifier: MIT
// client.c - dobj_client: one nng req0 socket (one nng context per call in flight, kept with
// its aios for a later asynchronous call when the call ends: call.c has the calls),
// its opening and closing, the calls in flight, and stubs. Dialling and reconnecting are nng's,
// a TLS client's dial.c's; matching replies to contexts is nng's; running the call, the
// server's.
//
// Threads and locks: any thread may call; asynchronous calls complete on nng's task threads; a
// TLS client dials on a thread of its own (dial.c). c->mtx is the client's only lock. It is
// never held while a user callback runs, nor while dial.c's lock is taken; the only nng calls
// made under it are nng_aio_cancel(), which completes aios on nng's threads, and a call's
// nng_aio_alloc for its sleeps (call.c).
//
// Closing: nng 1.5 may crash when a context operation races nng_close(), so close never lets
// them overlap. It cancels the calls in flight (again every CLIENT_CANCEL_RETRY_MS, for a call
// that was between two operations), waits until none is left, stops a TLS client's dialling,
// and only then closes the socket.

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <dobj/client.h>
#include <dobj/object.h>
#include <dobj/wire.pb-c.h>

#include "client_int.h"
#include "dial.h"
#include "mono.h"
#include "reply.h"
#include "sockclose.h"
#include "tls.h"

#define CLIENT_RECONN_MIN_MS 100
#define CLIENT_RECONN_MAX_MS 2000
#define CLIENT_CANCEL_RETRY_MS 10
#define CLIENT_CLOSE_WAIT_MS 1000 /* the socket's close, at most (sockclose.h) */

bool
dobj__class_name_valid(const char *class_name)
{
	return class_name != NULL && class_name[0] != '\0' &&
	       strnlen(class_name, DOBJ_CLASS_NAME_MAX + 1) <= DOBJ_CLASS_NAME_MAX;
}

/* ---- opening and closing ---- */

dobj_err
dobj__client_nng_err(int rv)
{
	switch (rv) {
	case NNG_ENOMEM:
		return DOBJ_RESOURCE_EXHAUSTED;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		return DOBJ_INVALID_ARGUMENT;
	default:
		return DOBJ_UNAVAILABLE;
	}
}

/* client_pipe_event counts the client's connections: a call made while there is none waits
 * for one before it sends, so that its request carries the time it has left. A TLS client's
 * dial learns of them too. */
static void
client_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	dobj_client *c = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_PRE)
		atomic_fetch_add(&c->npipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&c->npipes, 1);
	if (c->tls)
		dobj__dial_pipe(&c->dial, ev == NNG_PIPE_EV_ADD_PRE);
}

dobj_err
dobj_client_open(dobj_client **out, const dobj_client_opts *opts)
{
	return dobj_client_open_err(out, opts, NULL, 0);
}

static dobj_err
open_errf(char *errbuf, size_t errlen, dobj_err rc, const char *what, const char *url, int rv)
{
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s%s%s%s%s", what, url ? " " : "", url ? url : "",
		         rv ? ": " : "", rv ? nng_strerror(rv) : "");
	return rc;
}

dobj_err
dobj_client_open_err(dobj_client **out, const dobj_client_opts *opts, char *errbuf, size_t errlen)
{
	nng_tls_config *tls = NULL;
	pthread_condattr_t ca;
	dobj_client *c;
	dobj_err rc;
	int rv;

	if (out == NULL)
		return open_errf(errbuf, errlen, DOBJ_INVALID_ARGUMENT, "no place for the client",
		                 NULL, 0);
	*out = NULL;
	if (opts == NULL || opts->url == NULL || opts->url[0] == '\0')
		return open_errf(errbuf, errlen, DOBJ_INVALID_ARGUMENT, "no URL to dial", NULL, 0);
	if (opts->default_timeout_ms < 0)
		return open_errf(errbuf, errlen, DOBJ_INVALID_ARGUMENT,
		                 "default_timeout_ms is negative", NULL, 0);
	if ((rc = dobj__tls_client_config(opts, &tls, errbuf, errlen)) != DOBJ_OK)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->url = strdup(opts->url)) == NULL) {
		free(c);
		if (tls != NULL)
			nng_tls_config_free(tls);
		return open_errf(errbuf, errlen, DOBJ_RESOURCE_EXHAUSTED, "out of memory", NULL, 0);
	}
	c->tls = tls != NULL;
	c->default_timeout_ms =
	    opts->default_timeout_ms ? opts->default_timeout_ms : DOBJ_DEFAULT_TIMEOUT_MS;
	atomic_init(&c->next_request_id, 1);
	pthread_mutex_init(&c->mtx, NULL);
	/* close's timed waits run on the monotonic clock: a wall-clock step must not stall them */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->idle, &ca);
	pthread_condattr_destroy(&ca);

	if ((rv = nng_req0_open(&c->sock)) != 0)
		goto fail_sock;
	/* nng runs REM_POST for every pipe that had ADD_PRE, so the count stays paired */
	if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE, client_pipe_event, c)) != 0 ||
	    (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, client_pipe_event, c)) != 0)
		goto fail;
	/* Options first: contexts copy the resend time when they are opened, pipes the limits. */
	if ((rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE)) != 0 ||
	    (rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, CLIENT_MSG_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, CLIENT_RECONN_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, CLIENT_RECONN_MAX_MS)) != 0 ||
	    (rv = tls != NULL ? dobj__dial_start(&c->dial, c->sock, c->url, tls)
	                      : nng_dial(c->sock, c->url, NULL, NNG_FLAG_NONBLOCK)) != 0)
		goto fail;
	if (tls != NULL)
		nng_tls_config_free(tls); /* c->dial holds it */
	*out = c;
	return DOBJ_OK;

fail:
	nng_close(c->sock);
fail_sock:
	if (tls != NULL)
		nng_tls_config_free(tls);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->mtx);
	open_errf(errbuf, errlen, dobj__client_nng_err(rv), "could not dial", c->url, rv);
	free(c->url);
	free(c);
	return dobj__client_nng_err(rv);
}

/* calls_link puts call in c's calls in flight; calls_unlink takes it out. Under c->mtx. */
static void
calls_link(dobj_client *c, client_call *call)
{
	call->prev = NULL;
	call->next = c->calls;
	if (c->calls != NULL)
		c->calls->prev = call;
	c->calls = call;
	c->ncalls++;
}

static void
calls_unlink(dobj_client *c, client_call *call)
{
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	c->ncalls--;
}

/* dobj__client_hold links a call that is about to start; false if the client is closing. */
bool
dobj__client_hold(dobj_client *c, client_call *call)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = !c->closing;
	if (ok)
		calls_link(c, call);
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

/* dobj__client_rele unlinks a completed call. Its context must be closed already. The caller must
 * not touch c afterwards: a closing client may be freed as soon as the lock is released. */
void
dobj__client_rele(dobj_client *c, client_call *call)
{
	pthread_mutex_lock(&c->mtx);
	calls_unlink(c, call);
	if (c->ncalls == 0 && c->closing)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mtx);
}

client_call *
dobj__client_take(dobj_client *c, bool *closing)
{
	client_call *call = NULL;

	pthread_mutex_lock(&c->mtx);
	*closing = c->closing;
	if (!c->closing && (call = c->pool) != NULL) {
		c->pool = call->next;
		c->npool--;
		calls_link(c, call);
	}
	pthread_mutex_unlock(&c->mtx);
	return call;
}

bool
dobj__client_keep(dobj_client *c, client_call *call)
{
	bool kept;

	pthread_mutex_lock(&c->mtx);
	kept = !c->closing && c->npool < CLIENT_POOL_MAX;
	if (kept) {
		calls_unlink(c, call); /* not closing: no one waits for the count */
		call->prev = NULL;
		call->next = c->pool;
		c->pool = call;
		c->npool++;
	}
	pthread_mutex_unlock(&c->mtx);
	return kept;
}

/* pool_drain closes the contexts and frees the aios of the pooled calls. Once no call is in
 * flight: no operation of theirs is left but the end of the callbacks that pooled them, which
 * nng_aio_free waits for. */
static void
pool_drain(dobj_client *c)
{
	client_call *call, *next;

	pthread_mutex_lock(&c->mtx);
	call = c->pool;
	c->pool = NULL;
	c->npool = 0;
	pthread_mutex_unlock(&c->mtx);
	for (; call != NULL; call = next) {
		next = call->next;
		nng_ctx_close(call->ctx);
		dobj__client_call_free(call);
	}
}

void
dobj__client_call_free(client_call *call)
{
	nng_aio_free(call->aio);
	if (call->wait_aio != NULL)
		nng_aio_free(call->wait_aio);
	if (call->request != NULL)
		nng_msg_free(call->request);
	free(call);
}

bool
dobj__client_closing(dobj_client *c)
{
	bool closing;

	pthread_mutex_lock(&c->mtx);
	closing = c->closing;
	pthread_mutex_unlock(&c->mtx);
	return closing;
}

void
dobj_client_close(dobj_client *c)
{
	struct timespec until;
	bool dialled;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	c->closing = true;
	while (c->ncalls > 0) {
		/* Each cancelled call completes (async callbacks run with DOBJ_CANCELLED), sees
		 * closing, starts nothing more and unlinks itself. */
		for (client_call *call = c->calls; call != NULL; call = call->next) {
			nng_aio_cancel(call->aio);
			if (call->wait_aio != NULL) /* set under mtx: see call_again */
				nng_aio_cancel(call->wait_aio);
		}
		until = dobj__mono_in_ms(CLIENT_CANCEL_RETRY_MS);
		pthread_cond_timedwait(&c->idle, &c->mtx, &until);
	}
	pthread_mutex_unlock(&c->mtx);
	pool_drain(c);

	dialled = !c->tls || dobj__dial_stop(&c->dial);
	/* no context or dialer operation is left to race it; a close that hangs in nng is left
	 * behind, and so is the client if its dialling thread is stuck in nng (dial.h) */
	nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_PRE, NULL, NULL);
	nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, NULL, NULL);
	dobj__sock_close(c->sock, CLIENT_CLOSE_WAIT_MS);
	if (!dialled)
		return;
	if (c->tls)
		dobj__dial_fini(&c->dial);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->mtx);
	free(c->url);
	free(c);
}

/* ---- stubs ---- */

dobj_err
dobj_stub_from_id(dobj_client *c, const char *class_name, const dobj_id *id, dobj_stub *out)
{
	if (c == NULL || id == NULL || out == NULL || !dobj__class_name_valid(class_name))
		return DOBJ_INVALID_ARGUMENT;
	memset(out, 0, sizeof(*out));
	out->client = c;
	memcpy(out->class_name, class_name, strlen(class_name) + 1);
	out->id = *id;
	return DOBJ_OK;
}

dobj_err
dobj_stub_from_name(dobj_client *c, const char *class_name, const char *name, dobj_stub *out)
{
	dobj_id id;
	dobj_err err;

	if (!dobj__class_name_valid(class_name) || name == NULL)
		return DOBJ_INVALID_ARGUMENT;
	if ((err = dobj_id_from_name(class_name, name, &id)) != DOBJ_OK)
		return err;
	return dobj_stub_from_id(c, class_name, &id, out);
}

dobj_err
dobj_singleton(dobj_client *c, const char *class_name, const char *name, dobj_stub *out)
{
	return dobj_stub_from_name(c, class_name, name, out);
}

dobj_err
dobj_stub_unique(dobj_client *c, const char *class_name, dobj_stub *out)
{
	dobj_id id;
	dobj_err err;

	if (!dobj__class_name_valid(class_name))
		return DOBJ_INVALID_ARGUMENT;
	if ((err = dobj_id_unique(&id)) != DOBJ_OK)
		return err;
	return dobj_stub_from_id(c, class_name, &id, out);
}

dobj_err
dobj_stub_from_string(dobj_client *c, const char *class_name, const char *hex, dobj_stub *out)
{
	dobj_id id;
	dobj_err err;

	if ((err = dobj_id_from_string(hex, &id)) != DOBJ_OK)
		return err;
	return dobj_stub_from_id(c, class_name, &id, out);
}
