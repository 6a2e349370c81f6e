// SPDX-License-Identifier: MIT
// call.c - the calls of a dobj_client (client.c has the client): the wire Request, synchronous
// and asynchronous calls on nng contexts, the wait for a connection, a stopping server's
// refusals sent again after a backoff, and the mapping of nng errors to the call's outcome.
// The Response and dobj_reply are reply.c's. Nothing here sends again a call that may have
// reached a server that ran it.

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include <dobj/client.h>
#include <dobj/object.h>
#include <dobj/wire.pb-c.h>

#include "client_int.h"
#include "dial.h"
#include "reply.h"

#define CLIENT_CONNECT_POLL_MS 5 /* a call waiting for a connection looks this often */
/* A call the server refused without running it, for now, goes again after a backoff: from
 * CLIENT_RETRY_MIN_MS, doubling to CLIENT_RETRY_MAX_MS, each less up to half at random. */
#define CLIENT_RETRY_MIN_MS 10
#define CLIENT_RETRY_MAX_MS 1000

/* ---- requests and replies ---- */

/* call_check validates a call's arguments, filling *reply with the reason when they are bad. */
static dobj_err
call_check(const dobj_stub *s, const char *method, const void *arg, size_t len,
           const dobj_call_opts *opts, dobj_reply *reply)
{
	if (s == NULL || s->client == NULL)
		return dobj__reply_errorf(reply, DOBJ_INVALID_ARGUMENT, "call: stub has no client");
	if (memchr(s->class_name, '\0', sizeof(s->class_name)) == NULL ||
	    !dobj__class_name_valid(s->class_name))
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
	if (dobj__client_closing(c))
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

	if (err != DOBJ_UNAVAILABLE || !stopping || dobj__client_closing(call->client))
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
	if (dobj__client_closing(call->client)) { /* not sent again because of that */
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

	if (call->refusals == 0 || dobj__client_closing(call->client))
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
		if (dobj__client_closing(c))
			return call_fail(c, NNG_ECLOSED, false, call->timeout_ms, reply);
		nng_msleep(wait_step(left));
	}
	return DOBJ_OK;
}

/* nap sleeps ms, or less if the client closes meanwhile. */
static void
nap(dobj_client *c, int ms)
{
	while (ms > 0 && !dobj__client_closing(c)) {
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
	if (dobj__client_closing(c))
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
	if (!dobj__client_hold(c, &call)) {
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
	dobj__client_rele(c, &call);
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
	if (call->request != NULL) {
		nng_msg_free(call->request);
		call->request = NULL;
	}
	/* kept for a later call: its next send starts the context afresh, whatever this one
	 * left (a request timed out, a connection reset) */
	if (dobj__client_keep(call->client, call))
		return;
	nng_ctx_close(call->ctx);
	dobj__client_rele(call->client, call);
	nng_aio_reap(call->aio);
	if (call->wait_aio != NULL)
		nng_aio_reap(call->wait_aio);
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

	if (left == 0 || dobj__client_closing(c)) {
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
		if ((left = remaining_ms(call->deadline)) == 0 || dobj__client_closing(c)) {
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
	bool closing;
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
	/* a finished call's context and aios if the client keeps one, else new ones */
	if ((call = dobj__client_take(c, &closing)) == NULL) {
		if (closing)
			return DOBJ_CANCELLED;
		if ((call = calloc(1, sizeof(*call))) == NULL)
			return DOBJ_RESOURCE_EXHAUSTED;
		call->client = c;
		if (nng_aio_alloc(&call->aio, call_cb, call) != 0) {
			free(call);
			return DOBJ_RESOURCE_EXHAUSTED;
		}
		if (!dobj__client_hold(c, call)) {
			nng_aio_free(call->aio);
			free(call);
			return DOBJ_CANCELLED;
		}
	}
	call->phase = CALL_SEND;
	call->cb = cb;
	call->cbarg = cbarg;
	call->timeout_ms = call_timeout(s, opts);
	call->deadline = nng_clock() + (nng_time)call->timeout_ms;
	call->refusals = 0;
	call->refusal[0] = '\0';

	call->request_id = atomic_fetch_add(&c->next_request_id, 1);
	if ((err = request_encode(s, call->request_id, method, arg, len, call->timeout_ms, &msg,
	                          &reply)) != DOBJ_OK) {
		dobj_reply_fini(&reply);
		goto fail;
	}
	/* a copy, should the server refuse it for now (call_again); none: it is not sent again */
	if (nng_msg_dup(&call->request, msg) != 0)
		call->request = NULL;
	if (!call->has_ctx && (rv = nng_ctx_open(&call->ctx, c->sock)) != 0) {
		nng_msg_free(msg);
		err = dobj__client_nng_err(rv);
		goto fail;
	}
	call->has_ctx = true;
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
	if (call->has_ctx)
		nng_ctx_close(call->ctx);
	dobj__client_rele(c, call);
	dobj__client_call_free(call);
	return err;
}
