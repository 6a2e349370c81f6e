// SPDX-License-Identifier: MIT
// client.c - dobj_client: one nng req0 socket, one nng context per call, the wire Request,
// stubs, and the mapping of nng errors to dobj_err. The Response and dobj_reply are reply.c's.
// Dialling and reconnecting are nng's, a TLS client's dial.c's; matching replies to contexts is
// nng's; running the call, the server's. Nothing here retries a call that may have reached the
// server.
//
// Threads and locks: any thread may call; asynchronous calls complete on nng's task threads; a
// TLS client dials on a thread of its own (dial.c). c->mtx is the only lock of this file. It is
// never held while a user callback runs, nor while dial.c's lock is taken; the only nng call
// made under it is nng_aio_cancel(), which completes aios on nng's threads.
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

#include "dial.h"
#include "reply.h"
#include "sockclose.h"
#include "tls.h"

#define CLIENT_MSG_MAX DOBJ_MESSAGE_MAX /* largest request or reply, in bytes */
#define CLIENT_RECONN_MIN_MS 100
#define CLIENT_RECONN_MAX_MS 2000
#define CLIENT_CANCEL_RETRY_MS 10
#define CLIENT_CLOSE_WAIT_MS 1000 /* the socket's close, at most (sockclose.h) */
#define CLIENT_CONNECT_POLL_MS 5  /* a call waiting for a connection looks this often */
/* A call the server refused without running it, for now, goes again after a backoff: from
 * CLIENT_RETRY_MIN_MS, doubling to CLIENT_RETRY_MAX_MS, each less up to half at random. */
#define CLIENT_RETRY_MIN_MS 10
#define CLIENT_RETRY_MAX_MS 1000

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

static bool
class_name_valid(const char *class_name)
{
	return class_name != NULL && class_name[0] != '\0' &&
	       strnlen(class_name, DOBJ_CLASS_NAME_MAX + 1) <= DOBJ_CLASS_NAME_MAX;
}

/* ---- opening and closing ---- */

static dobj_err
client_nng_err(int rv)
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
	open_errf(errbuf, errlen, client_nng_err(rv), "could not dial", c->url, rv);
	free(c->url);
	free(c);
	return client_nng_err(rv);
}

/* client_hold links a call that is about to start; false if the client is closing. */
static bool
client_hold(dobj_client *c, client_call *call)
{
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = !c->closing;
	if (ok) {
		call->prev = NULL;
		call->next = c->calls;
		if (c->calls != NULL)
			c->calls->prev = call;
		c->calls = call;
		c->ncalls++;
	}
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

/* client_rele unlinks a completed call. Its context must be closed already. The caller must
 * not touch c afterwards: a closing client may be freed as soon as the lock is released. */
static void
client_rele(dobj_client *c, client_call *call)
{
	pthread_mutex_lock(&c->mtx);
	if (call->prev != NULL)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	if (--c->ncalls == 0 && c->closing)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->mtx);
}

static bool
client_closing(dobj_client *c)
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
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += CLIENT_CANCEL_RETRY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->idle, &c->mtx, &until);
	}
	pthread_mutex_unlock(&c->mtx);

	if (c->tls)
		dobj__dial_stop(&c->dial);
	/* no context or dialer operation is left to race it; a close that hangs in nng is left
	 * behind */
	dobj__sock_close(c->sock, CLIENT_CLOSE_WAIT_MS);
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
	if (c == NULL || id == NULL || out == NULL || !class_name_valid(class_name))
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

	if (!class_name_valid(class_name) || name == NULL)
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

	if (!class_name_valid(class_name))
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

/* ---- requests and replies ---- */

/* call_check validates a call's arguments, filling *reply with the reason when they are bad. */
static dobj_err
call_check(const dobj_stub *s, const char *method, const void *arg, size_t len,
           const dobj_call_opts *opts, dobj_reply *reply)
{
	if (s == NULL || s->client == NULL)
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT, "call: stub has no client");
	if (memchr(s->class_name, '\0', sizeof(s->class_name)) == NULL ||
	    !class_name_valid(s->class_name))
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT,
		                          "call: class name must be 1 to %d bytes",
		                          DOBJ_CLASS_NAME_MAX);
	if (method == NULL || method[0] == '\0')
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT,
		                          "call: method name is empty");
	if (arg == NULL && len > 0)
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT, "call: argument is NULL");
	if (len > CLIENT_MSG_MAX - 4096)
		return dobj__reply_errorf(
		    reply, DOBJ_INVALID_ARGUMENT,
		    "call: argument of %zu bytes exceeds the limit of %u bytes", len,
		    CLIENT_MSG_MAX - 4096);
	if (opts != NULL && opts->timeout_ms < 0)
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT,
		                          "call: timeout_ms is negative");
	return DOBJ_OK;
}

static int
call_timeout(const dobj_stub *s, const dobj_call_opts *opts)
{
	if (opts != NULL && opts->timeout_ms > 0)
		return opts->timeout_ms;
	return s->client->default_timeout_ms;
}

/* request_encode packs the wire Request into a new message in *out. */
static dobj_err
request_encode(const dobj_stub *s, uint64_t request_id, const char *method, const void *arg,
               size_t len, int timeout_ms, nng_msg **out, dobj_reply *reply)
{
	Dobj__Wire__Request req = DOBJ__WIRE__REQUEST__INIT;
	nng_msg *msg;
	size_t size;

	req.request_id = request_id;
	req.class_name.data = (uint8_t *)s->class_name;
	req.class_name.len = strlen(s->class_name);
	req.id.data = (uint8_t *)s->id.bytes;
	req.id.len = DOBJ_ID_SIZE;
	req.method.data = (uint8_t *)method;
	req.method.len = strlen(method);
	req.timeout_ms = (uint32_t)timeout_ms;
	req.payload.data = (uint8_t *)arg;
	req.payload.len = len;

	size = dobj__wire__request__get_packed_size(&req);
	/* the whole request, method name included: dobjd drops the connection, and every call
	 * on it, on a message over its limit */
	if (size > CLIENT_MSG_MAX)
		return dobj__reply_errorf(
		    reply, DOBJ_INVALID_ARGUMENT,
		    "call: request of %zu bytes exceeds the limit of %u bytes", size,
		    CLIENT_MSG_MAX);
	if (nng_msg_alloc(&msg, size) != 0)
		return dobj__reply_errorf(reply, DOBJ_RESOURCE_EXHAUSTED,
		                          "call: could not allocate a request of %zu bytes", size);
	dobj__wire__request__pack(&req, nng_msg_body(msg));
	*out = msg;
	return DOBJ_OK;
}

/* reply_decode fills *reply from the server's message, which it frees; *stopping says whether
 * the server refused the call, not run, because it is shutting down (dobj__reply_decode). */
static dobj_err
reply_decode(dobj_client *c, uint64_t request_id, nng_msg *msg, dobj_reply *reply, bool *stopping)
{
	dobj_err err;

	err = dobj__reply_decode(c->url, request_id, nng_msg_body(msg), nng_msg_len(msg), reply,
	                         stopping);
	nng_msg_free(msg);
	return err;
}

/* call_fail fills *reply for an nng error rv in a call's send (sent == false) or receive.
 * Once the client is closing every failure is a cancellation: closing the socket closes its
 * connections first, and their errors are only the echo of the close. */
static dobj_err
call_fail(dobj_client *c, int rv, bool sent, int timeout_ms, dobj_reply *reply)
{
	if (client_closing(c))
		rv = NNG_ECLOSED;
	switch (rv) {
	case NNG_ETIMEDOUT:
		if (!sent) {
			char note[384] = ""; /* a TLS client's failed attempts; "" for others */

			if (c->tls)
				dobj__dial_note(&c->dial, note, sizeof(note));
			return dobj__reply_errorf(
			    reply, DOBJ_DEADLINE_EXCEEDED,
			    "no connection to %s within %d ms; request not sent%s", c->url,
			    timeout_ms, note);
		}
		return dobj__reply_errorf(reply, DOBJ_DEADLINE_EXCEEDED,
		                          "no reply from %s within %d ms", c->url, timeout_ms);
	case NNG_ECLOSED:
		return dobj__reply_errorf(reply, DOBJ_CANCELLED, "call cancelled: client closed");
	case NNG_ECANCELED:
		return dobj__reply_errorf(reply, DOBJ_CANCELLED, "call cancelled");
	case NNG_ENOMEM:
		return dobj__reply_errorf(reply, DOBJ_RESOURCE_EXHAUSTED, "call to %s: %s", c->url,
		                          nng_strerror(rv));
	default:
		if (!sent)
			return dobj__reply_errorf(reply, DOBJ_UNAVAILABLE,
			                          "could not send to %s: %s", c->url,
			                          nng_strerror(rv));
		return dobj__reply_errorf(
		    reply, DOBJ_UNAVAILABLE,
		    "lost connection to %s before the reply (the call may have run): %s", c->url,
		    nng_strerror(rv));
	}
}

/* call_failing says whether a call without a connection fails at once, rather than wait for
 * one: a TLS client's handshakes keep failing (dial.h says when). Then *reply says why. */
static bool
call_failing(dobj_client *c, dobj_reply *reply)
{
	char why[128], note[384];

	if (!c->tls || !dobj__dial_failing(&c->dial, why, sizeof(why), note, sizeof(note)))
		return false;
	dobj__reply_errorf(reply, DOBJ_UNAVAILABLE, "no connection to %s: %s; request not sent%s",
	                   c->url, why, note);
	return true;
}

static int
remaining_ms(nng_time deadline)
{
	nng_time now = nng_clock();

	return now >= deadline ? 0 : (int)(deadline - now);
}

/* retry_wait is how long a call refused for now waits before it goes again: the backoff
 * after `refusals` refusals, or -1 if the call should not go again (the reply is not such a
 * refusal, or the deadline leaves no time for another try). A refusal for now is an
 * UNAVAILABLE the server gave without running the call because it is shutting down: another
 * server, or this one restarted, will take it, as after a lost connection. */
static int
retry_wait(const client_call *call, dobj_err err, bool stopping)
{
	unsigned shift = call->refusals < 7 ? call->refusals : 7;
	int base = CLIENT_RETRY_MIN_MS << shift, wait;

	if (err != DOBJ_UNAVAILABLE || !stopping || client_closing(call->client))
		return -1;
	if (base > CLIENT_RETRY_MAX_MS)
		base = CLIENT_RETRY_MAX_MS;
	wait = base - (int)(nng_random() % (uint32_t)(base / 2 + 1));
	return remaining_ms(call->deadline) > wait ? wait : -1;
}

/* refusal_note counts the refusal in *reply on call and frees *reply; the first one's message
 * is kept for the call's outcome, should it not go through (the first says most: the later
 * ones come from a server already refusing everything). */
static void
refusal_note(client_call *call, dobj_reply *reply)
{
	if (call->refusals++ == 0)
		snprintf(call->refusal, sizeof(call->refusal), "%s", reply->message);
	dobj_reply_fini(reply);
}

/* refusal_final makes *reply, a refusal for now that is not sent again, the call's outcome:
 * with no time left, the first refusal's message and how many there were; with the client
 * closing, a cancellation. */
static void
refusal_final(client_call *call, dobj_reply *reply, bool stopping)
{
	if (!stopping || reply->status != DOBJ_UNAVAILABLE)
		return;
	if (client_closing(call->client)) { /* not sent again because of that */
		dobj_reply_fini(reply);
		call_fail(call->client, NNG_ECLOSED, false, call->timeout_ms, reply);
		return;
	}
	refusal_note(call, reply);
	dobj__reply_errorf(reply, DOBJ_UNAVAILABLE,
	                   "%s (refusals: %u; no server took the call within %d ms)", call->refusal,
	                   call->refusals, call->timeout_ms);
}

/* call_fail_again is call_fail for a call the server may have refused for now before: when it
 * then found no server to take it within its deadline, the refusal says more than that; any
 * other failure says that refusals came first. */
static dobj_err
call_fail_again(client_call *call, int rv, bool sent, dobj_reply *reply)
{
	char why[256];
	dobj_err err;

	if (call->refusals == 0 || client_closing(call->client))
		return call_fail(call->client, rv, sent, call->timeout_ms, reply);
	if (!sent && rv == NNG_ETIMEDOUT)
		return dobj__reply_errorf(reply, DOBJ_UNAVAILABLE,
		                          "%s (refusals: %u; no server took the call within %d ms)",
		                          call->refusal, call->refusals, call->timeout_ms);
	err = call_fail(call->client, rv, sent, call->timeout_ms, reply);
	snprintf(why, sizeof(why), "%s", reply->message);
	dobj_reply_fini(reply);
	return dobj__reply_errorf(reply, err, "%s (after refusals: %u; the first: %s)", why,
	                          call->refusals, call->refusal);
}

static bool
client_connected(dobj_client *c)
{
	return atomic_load(&c->npipes) > 0;
}

/* wait_step is how long a call without a connection sleeps before it looks again. */
static int
wait_step(int left)
{
	return left < CLIENT_CONNECT_POLL_MS ? left : CLIENT_CONNECT_POLL_MS;
}

/* request_restamp sets the timeout of the encoded request *msg to timeout_ms, the time the call
 * has left after waiting for a connection; out of memory, *msg stays as it was. */
static void
request_restamp(nng_msg **msg, int timeout_ms)
{
	Dobj__Wire__Request *req =
	    dobj__wire__request__unpack(NULL, nng_msg_len(*msg), nng_msg_body(*msg));
	nng_msg *m;

	if (req == NULL)
		return;
	req->timeout_ms = (uint32_t)timeout_ms;
	if (nng_msg_alloc(&m, dobj__wire__request__get_packed_size(req)) == 0) {
		dobj__wire__request__pack(req, nng_msg_body(m));
		nng_msg_free(*msg);
		*msg = m;
	}
	dobj__wire__request__free_unpacked(req, NULL);
}

/* ---- synchronous calls ---- */

/* wait_connected waits, while the client has no connection, until one is up (DOBJ_OK), the
 * call's deadline passes, the client closes (close waits for the call meanwhile) or its TLS
 * handshakes keep failing (DOBJ_UNAVAILABLE). */
static dobj_err
wait_connected(dobj_client *c, client_call *call, dobj_reply *reply)
{
	while (!client_connected(c)) {
		int left = remaining_ms(call->deadline);

		if (call_failing(c, reply))
			return reply->status;
		if (left == 0)
			return call_fail_again(call, NNG_ETIMEDOUT, false, reply);
		if (client_closing(c))
			return call_fail(c, NNG_ECLOSED, false, call->timeout_ms, reply);
		nng_msleep(wait_step(left));
	}
	return DOBJ_OK;
}

/* nap sleeps ms, or less if the client closes meanwhile. */
static void
nap(dobj_client *c, int ms)
{
	while (ms > 0 && !client_closing(c)) {
		int step = ms < 20 ? ms : 20;

		nng_msleep(step);
		ms -= step;
	}
}

/* call_once makes one try of a synchronous call on its context: it waits for a connection if
 * there is none, sends the request with the time the call has left, and waits for the reply;
 * *stopping is the reply's (reply_decode). */
static dobj_err
call_once(const dobj_stub *s, client_call *call, const char *method, const void *arg, size_t len,
          dobj_reply *reply, bool *stopping)
{
	dobj_client *c = call->client;
	nng_msg *msg = NULL;
	dobj_err err;
	int rv, left;

	*stopping = false;
	/* the server counts the timeout from its receipt: after a wait, it gets what is left */
	left = call->refusals == 0 ? call->timeout_ms : remaining_ms(call->deadline);
	if (!client_connected(c)) {
		if ((err = wait_connected(c, call, reply)) != DOBJ_OK)
			return err;
		left = remaining_ms(call->deadline);
	}
	if (left == 0)
		return call_fail_again(call, NNG_ETIMEDOUT, false, reply);
	if ((err = request_encode(s, call->request_id, method, arg, len, left, &msg, reply)) !=
	    DOBJ_OK)
		return err;
	nng_aio_set_msg(call->aio, msg);
	nng_aio_set_timeout(call->aio, left);
	nng_ctx_send(call->ctx, call->aio);
	nng_aio_wait(call->aio);
	if ((rv = nng_aio_result(call->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(call->aio));
		return call_fail_again(call, rv, false, reply);
	}
	if (client_closing(c))
		return call_fail(c, NNG_ECLOSED, true, call->timeout_ms, reply);
	nng_aio_set_timeout(call->aio, remaining_ms(call->deadline));
	nng_ctx_recv(call->ctx, call->aio);
	nng_aio_wait(call->aio);
	if ((rv = nng_aio_result(call->aio)) != 0)
		return call_fail_again(call, rv, true, reply);
	return reply_decode(c, call->request_id, nng_aio_get_msg(call->aio), reply, stopping);
}

dobj_err
dobj_call(const dobj_stub *s, const char *method, const void *arg, size_t len,
          const dobj_call_opts *opts, dobj_reply *reply)
{
	client_call call = {0};
	dobj_client *c;
	dobj_err err;
	int rv;

	if (reply == NULL)
		return DOBJ_INVALID_ARGUMENT;
	if ((err = call_check(s, method, arg, len, opts, reply)) != DOBJ_OK)
		return err;
	c = s->client;
	call.client = c;
	call.timeout_ms = call_timeout(s, opts);
	call.deadline = nng_clock() + (nng_time)call.timeout_ms;
	if ((rv = nng_aio_alloc(&call.aio, NULL, NULL)) != 0)
		return call_fail(c, rv, false, call.timeout_ms, reply);
	if (!client_hold(c, &call)) {
		nng_aio_free(call.aio);
		return dobj__reply_errorf(reply, DOBJ_CANCELLED, "call cancelled: client closed");
	}

	call.request_id = atomic_fetch_add(&c->next_request_id, 1);
	if ((rv = nng_ctx_open(&call.ctx, c->sock)) != 0) {
		err = call_fail(c, rv, false, call.timeout_ms, reply);
		goto done;
	}
	for (;;) {
		bool stopping;
		int wait;

		err = call_once(s, &call, method, arg, len, reply, &stopping);
		if ((wait = retry_wait(&call, err, stopping)) < 0) {
			refusal_final(&call, reply, stopping);
			err = reply->status;
			break;
		}
		refusal_note(&call, reply);
		nap(c, wait);
	}
	nng_ctx_close(call.ctx);
done:
	client_rele(c, &call);
	nng_aio_free(call.aio);
	return err;
}

/* ---- asynchronous calls ---- */

/* call_finish runs the user's callback with *reply, then unlinks and frees the call. Runs on
 * the call's aio callback (an nng task thread), so the aio is reaped, not freed. */
static void
call_finish(client_call *call, dobj_reply *reply)
{
	call->cb(call->cbarg, reply);
	dobj_reply_fini(reply);
	nng_ctx_close(call->ctx);
	client_rele(call->client, call);
	nng_aio_reap(call->aio);
	if (call->wait_aio != NULL)
		nng_aio_reap(call->wait_aio);
	if (call->request != NULL)
		nng_msg_free(call->request);
	free(call);
}

/* wait_cb: an asynchronous call without a connection looks again; once one is up it sends,
 * with the time it has left (call_cb takes it from there). */
static void
wait_cb(void *arg)
{
	client_call *call = arg;
	dobj_client *c = call->client;
	int left = remaining_ms(call->deadline);
	dobj_reply reply;

	if (left == 0 || client_closing(c)) {
		nng_msg_free(call->pending);
		call->pending = NULL;
		call_fail_again(call, left == 0 ? NNG_ETIMEDOUT : NNG_ECLOSED, false, &reply);
		call_finish(call, &reply);
		return;
	}
	if (!client_connected(c)) {
		if (call_failing(c, &reply)) {
			nng_msg_free(call->pending);
			call->pending = NULL;
			call_finish(call, &reply);
			return;
		}
		nng_sleep_aio(wait_step(left), call->wait_aio);
		return;
	}
	request_restamp(&call->pending, left);
	call->phase = CALL_SEND;
	nng_aio_set_msg(call->aio, call->pending);
	call->pending = NULL;
	nng_aio_set_timeout(call->aio, left);
	nng_ctx_send(call->ctx, call->aio);
}

/* wait_aio_alloc gives call the aio of its sleeps, if it has none: false out of memory. It is
 * set under the client's mtx, since close reads it to cancel a sleep. */
static bool
wait_aio_alloc(client_call *call)
{
	dobj_client *c = call->client;
	bool ok;

	pthread_mutex_lock(&c->mtx);
	ok = call->wait_aio != NULL || nng_aio_alloc(&call->wait_aio, wait_cb, call) == 0;
	pthread_mutex_unlock(&c->mtx);
	return ok;
}

/* call_again sends an asynchronous call the server refused for now again, after its backoff
 * (wait_cb sends it): true if it goes again, *reply freed; false to end the call with it. */
static bool
call_again(client_call *call, dobj_reply *reply, bool stopping)
{
	int wait = retry_wait(call, reply->status, stopping);

	if (wait < 0 || call->request == NULL)
		return false;
	if (!wait_aio_alloc(call) || nng_msg_dup(&call->pending, call->request) != 0)
		return false;
	refusal_note(call, reply);
	call->phase = CALL_WAIT;
	nng_sleep_aio(wait, call->wait_aio);
	return true;
}

/* call_cb is the aio callback of an asynchronous call: send -> recv -> done. */
static void
call_cb(void *arg)
{
	client_call *call = arg;
	dobj_client *c = call->client;
	dobj_reply reply;
	int rv = nng_aio_result(call->aio);
	bool stopping;
	int left;

	switch (call->phase) {
	case CALL_WAIT: /* wait_cb's, on its own aio: sent by now */
	case CALL_SEND:
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(call->aio));
			nng_aio_set_msg(call->aio, NULL);
			call_fail_again(call, rv, false, &reply);
			break;
		}
		if ((left = remaining_ms(call->deadline)) == 0 || client_closing(c)) {
			call_fail_again(call, NNG_ETIMEDOUT, true, &reply);
			break;
		}
		call->phase = CALL_RECV;
		nng_aio_set_timeout(call->aio, left);
		nng_ctx_recv(call->ctx, call->aio);
		return;
	case CALL_RECV:
		if (rv != 0) {
			call_fail_again(call, rv, true, &reply);
			break;
		}
		reply_decode(c, call->request_id, nng_aio_get_msg(call->aio), &reply, &stopping);
		if (call_again(call, &reply, stopping))
			return;
		refusal_final(call, &reply, stopping);
		break;
	}
	call_finish(call, &reply);
}

dobj_err
dobj_call_async(const dobj_stub *s, const char *method, const void *arg, size_t len,
                const dobj_call_opts *opts, dobj_call_cb cb, void *cbarg)
{
	client_call *call;
	dobj_client *c;
	dobj_reply reply = {0};
	nng_msg *msg;
	dobj_err err;
	int rv;

	if (cb == NULL)
		return DOBJ_INVALID_ARGUMENT;
	if ((err = call_check(s, method, arg, len, opts, &reply)) != DOBJ_OK) {
		dobj_reply_fini(&reply);
		return err;
	}
	c = s->client;
	if ((call = calloc(1, sizeof(*call))) == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	call->client = c;
	call->phase = CALL_SEND;
	call->cb = cb;
	call->cbarg = cbarg;
	call->timeout_ms = call_timeout(s, opts);
	call->deadline = nng_clock() + (nng_time)call->timeout_ms;
	if (nng_aio_alloc(&call->aio, call_cb, call) != 0) {
		free(call);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	if (!client_hold(c, call)) {
		nng_aio_free(call->aio);
		free(call);
		return DOBJ_CANCELLED;
	}

	call->request_id = atomic_fetch_add(&c->next_request_id, 1);
	if ((err = request_encode(s, call->request_id, method, arg, len, call->timeout_ms, &msg,
	                          &reply)) != DOBJ_OK) {
		dobj_reply_fini(&reply);
		goto fail;
	}
	/* a copy, should the server refuse it for now (call_again); none: it is not sent again */
	if (nng_msg_dup(&call->request, msg) != 0)
		call->request = NULL;
	if ((rv = nng_ctx_open(&call->ctx, c->sock)) != 0) {
		nng_msg_free(msg);
		err = client_nng_err(rv);
		goto fail;
	}
	/* No connection yet: wait_cb sends once there is one (close waits for it meanwhile). The
	 * aio is made under mtx: close reads it to cancel the sleep. */
	if (!client_connected(c) && wait_aio_alloc(call)) {
		call->phase = CALL_WAIT;
		call->pending = msg;
		nng_sleep_aio(wait_step(call->timeout_ms), call->wait_aio);
		return DOBJ_OK;
	}
	/* From here on call_cb owns the call and completes it exactly once. */
	nng_aio_set_msg(call->aio, msg);
	nng_aio_set_timeout(call->aio, call->timeout_ms);
	nng_ctx_send(call->ctx, call->aio);
	return DOBJ_OK;

fail:
	client_rele(c, call);
	nng_aio_free(call->aio);
	if (call->request != NULL)
		nng_msg_free(call->request);
	free(call);
	return err;
}
