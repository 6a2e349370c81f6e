// SPDX-License-Identifier: MIT
// listener.c - the server's nng rep0 socket and its receive contexts. Each context loops
// recv -> decode -> (answer at once | route to a shard) -> send -> recv. Decoding draws from
// the context's arena, which the call carries to its shard and which dies after the send.
// Callbacks run on nng's threads; a context is only ever touched by one of them at a time.

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include <dobj/server.h>

#include "clock.h"
#include "dobj/wire.pb-c.h"
#include "listener.h"
#include "log.h"
#include "nngfix.h"
#include "sockclose.h" /* sdk/src's */
#include "utf8.h"

#define CLOSE_WAIT_MS 10000 /* for replies still being sent, when the caller sets no limit */
/* A reply whose send completed is only handed to its connection: nng 1.5 may still be writing
 * it, and closing the socket cuts that write (nng has no linger). Close waits this long after
 * the last reply was handed over (never past its limit) before it closes the socket. */
#define CLOSE_LINGER_MS 1000
#define CLOSE_SOCKET_MS 2000 /* nng_close, at most (sockclose.h) */

typedef struct lctx {
	dobj__call call; /* first: lctx_send finds the context from the call */
	dobj__listener *l;
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
	size_t reserved; /* bytes of its request and reply, counted in the listener's budget */
	nng_msg *spare;  /* its request's message, decoded, to carry the reply; or NULL */
} lctx;

/* A request's message of at most this many bytes carries its reply, so that a call allocates
 * no message of its own; a larger one is freed once decoded, not held while the call runs. */
#define LCTX_SPARE_MAX 4096

struct dobj__listener {
	nng_socket sock;
	bool open;
	bool listening; /* dobj__listener_start succeeded */
	const dobj__registry *reg;
	dobj__shard *const *shards;
	unsigned nshards;
	dobj__call_stats *stats;
	dobj__inflight *budget;
	lctx *ctxs;
	unsigned nctxs;
	atomic_bool draining;
	atomic_bool closing; /* contexts receive no more requests after their current reply */
	pthread_mutex_t mu;  /* with idle: wakes wait_idle when busy drops to 0 */
	pthread_cond_t idle;
	atomic_uint busy;              /* contexts between a received request and its sent reply */
	atomic_bool idle_waiter;       /* wait_idle is waiting: the last busy_add must wake it */
	_Atomic int64_t last_reply_ms; /* monotonic, when the last reply was handed to nng */
};

static void lctx_cb(void *arg);
static void lctx_done(lctx *lc);

dobj_err
dobj__call_answer(dobj__call *c, dobj_err status, const char *message, const dobj_bytes *result)
{
	size_t mlen = message != NULL ? strlen(message) : 0, flen;
	const char *m = "";
	char *fixed;
	uint8_t *r;

	/* An empty message needs no copy, so an OK reply never says "out of memory". A handler's
	 * message may quote bytes that are not UTF-8: the reply's message is a protobuf string,
	 * and an alarm's is stored as PostgreSQL text, so those bytes become U+FFFD. */
	if (mlen > 0 && dobj__utf8_valid(message, mlen)) {
		if ((m = dobj__arena_strndup(&c->arena, message, mlen)) == NULL)
			m = "out of memory copying this reply's message";
	} else if (mlen > 0) {
		flen = dobj__utf8_fixed_len(message, mlen);
		if ((fixed = dobj__arena_alloc(&c->arena, flen + 1)) != NULL) {
			dobj__utf8_fix(fixed, message, mlen);
			fixed[flen] = '\0';
			m = fixed;
		} else {
			m = "out of memory copying this reply's message";
		}
	}
	c->status = status;
	c->message = m;
	c->result.data = NULL;
	c->result.len = 0;
	if (result == NULL || result->len == 0)
		return DOBJ_OK;
	if ((r = dobj__arena_alloc(&c->arena, result->len)) == NULL) {
		/* never an OK without its result */
		c->status = DOBJ_RESOURCE_EXHAUSTED;
		c->message = "out of memory copying the result";
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	memcpy(r, result->data, result->len);
	c->result.data = r;
	c->result.len = result->len;
	return DOBJ_OK;
}

/* lctx_send encodes c's outcome as a Response and sends it on the call's context. */
static void
lctx_send(dobj__call *c)
{
	Dobj__Wire__Response resp = DOBJ__WIRE__RESPONSE__INIT;
	lctx *lc = (lctx *)c;
	nng_msg *m = NULL;
	size_t len;

	resp.request_id = c->request_id;
	resp.status = (uint32_t)c->status;
	resp.message = (char *)(c->message ? c->message : "");
	resp.payload.data = (uint8_t *)c->result.data;
	resp.payload.len = c->result.len;
	resp.not_run = c->not_run;
	resp.stopping = c->stopping;
	dobj__call_stats_record(lc->l->stats, c->cls, c->method, c->status,
	                        dobj__clock_mono_us() - c->received_us);
	len = dobj__wire__response__get_packed_size(&resp);
	if ((m = lc->spare) != NULL) {
		lc->spare = NULL;
		nng_msg_clear(m);
		if (nng_msg_realloc(m, len) != 0) {
			nng_msg_free(m);
			m = NULL;
		}
	}
	if (m == NULL && nng_msg_alloc(&m, len) != 0) {
		/* Nothing to send: give the context back to receiving. The client times out. */
		dobj__log_warn("out of memory for a reply of %zu bytes", len);
		lc->sending = false;
		lctx_done(lc);
		return;
	}
	dobj__wire__response__pack(&resp, nng_msg_body(m));
	/* until it is sent, the reply takes memory too: it counts (and is never refused) */
	atomic_fetch_add(&lc->l->budget->bytes, len);
	lc->reserved += len;
	lc->sending = true;
	nng_aio_set_msg(lc->aio, m);
	nng_ctx_send(lc->ctx, lc->aio);
}

/* call_clear makes c a call of nothing yet, to be decoded or refused. */
static void
call_clear(dobj__call *c)
{
	c->request_id = 0;
	c->obj = NULL;
	c->cls = NULL;
	c->method = NULL;
	c->kind = DOBJ_CALL_METHOD;
	c->status = DOBJ_OK;
	c->message = NULL;
	c->result.data = NULL;
	c->result.len = 0;
	c->not_run = true; /* nothing has run: a refusal says so */
	c->stopping = false;
}

bool
dobj__listener_decode(dobj__call *c, const dobj__registry *reg, bool draining, const void *buf,
                      size_t len)
{
	Dobj__Wire__Request *req;
	const char *cname, *mname;
	char errmsg[256];
	size_t clen, mlen;

	call_clear(c);
	/* Decoding may take a few times the message's size (protobuf-c copies strings and bytes
	 * and keeps unknown fields), not more: a message of many tiny fields must not make the
	 * server allocate gigabytes. */
	c->arena.limit = c->arena.total + DOBJ__DECODE_FACTOR * len + DOBJ__DECODE_SLACK;
	req = dobj__wire__request__unpack(dobj__arena_pb(&c->arena), len, buf);
	c->arena.limit = 0;
	if (req == NULL && c->arena.refused) {
		snprintf(errmsg, sizeof(errmsg),
		         "malformed request: %zu bytes that take more than %d times their size to "
		         "decode (too many fields)",
		         len, DOBJ__DECODE_FACTOR);
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT, errmsg, NULL);
		return false;
	}
	if (req == NULL) {
		snprintf(errmsg, sizeof(errmsg),
		         "malformed request: %zu bytes that are not a dobj.wire.Request", len);
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT, errmsg, NULL);
		return false;
	}
	c->request_id = req->request_id;
	cname = (const char *)req->class_name.data;
	clen = req->class_name.len;
	mname = (const char *)req->method.data;
	mlen = req->method.len;
	if (clen == 0 || mlen == 0) {
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT,
		                  "request must name a class and a method", NULL);
		return false;
	}
	/* bytes on the wire (wire.proto): a NUL would cut the name where C code reads it */
	if (memchr(cname, '\0', clen) != NULL || memchr(mname, '\0', mlen) != NULL) {
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT,
		                  "request's class or method name contains a NUL byte", NULL);
		return false;
	}
	/* quoted in the reply, whose message is a protobuf string: UTF-8 only */
	if (!dobj__utf8_valid(cname, clen) || !dobj__utf8_valid(mname, mlen)) {
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT,
		                  "request's class or method name is not valid UTF-8", NULL);
		return false;
	}
	if ((c->cls = dobj__registry_find(reg, cname, clen)) == NULL) {
		snprintf(errmsg, sizeof(errmsg), "unknown class \"%.*s\"",
		         (int)dobj__utf8_cut(cname, clen, 64), cname);
		dobj__call_answer(c, DOBJ_NOT_FOUND, errmsg, NULL);
		return false;
	}
	if ((c->method = dobj__registry_method(c->cls, mname, mlen)) == NULL) {
		snprintf(errmsg, sizeof(errmsg), "class %s has no method \"%.*s\"",
		         c->cls->cls->name, (int)dobj__utf8_cut(mname, mlen, 64), mname);
		dobj__call_answer(c, DOBJ_UNIMPLEMENTED, errmsg, NULL);
		return false;
	}
	if (draining) { /* checked after the lookups: metrics name the method */
		dobj__call_answer(c, DOBJ_UNAVAILABLE, "server is shutting down", NULL);
		c->stopping = true;
		return false;
	}
	if (req->id.len == DOBJ_ID_SIZE) {
		memcpy(c->id.bytes, req->id.data, DOBJ_ID_SIZE);
	} else if (req->id.len != 0) {
		snprintf(errmsg, sizeof(errmsg), "object id must be %d bytes, got %zu",
		         DOBJ_ID_SIZE, req->id.len);
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT, errmsg, NULL);
		return false;
	} else if (req->name.len != 0) {
		char *name;
		dobj_err rc;

		if (memchr(req->name.data, '\0', req->name.len) != NULL) {
			dobj__call_answer(c, DOBJ_INVALID_ARGUMENT,
			                  "request's object name contains a NUL byte", NULL);
			return false;
		}
		if ((name = dobj__arena_strndup(&c->arena, (const char *)req->name.data,
		                                req->name.len)) == NULL) {
			dobj__call_answer(c, DOBJ_RESOURCE_EXHAUSTED,
			                  "out of memory copying the object's name", NULL);
			return false;
		}
		if ((rc = dobj_id_from_name(c->cls->cls->name, name, &c->id)) != DOBJ_OK) {
			/* c->id still holds the previous request's object */
			dobj__call_answer(c, rc, "could not hash the object's name", NULL);
			return false;
		}
	} else {
		dobj__call_answer(c, DOBJ_INVALID_ARGUMENT,
		                  "request names no object: give an id or a name", NULL);
		return false;
	}
	c->arg.data = req->payload.data;
	c->arg.len = req->payload.len;
	c->deadline_mono_ms = req->timeout_ms ? dobj__clock_mono_ms() + req->timeout_ms : 0;
	c->not_run = false; /* the shard says otherwise if it refuses the call */
	return true;
}

/* varint reads a protobuf varint at *p, before end: false if it is cut short or too long. */
static bool
varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0)
			return true;
	}
	return false;
}

uint64_t
dobj__listener_peek_request_id(const void *buf, size_t len)
{
	const uint8_t *p = buf, *end = p + len;
	uint64_t id = 0, tag, v;

	while (p < end) {
		if (!varint(&p, end, &tag))
			return 0;
		switch (tag & 7) {
		case 0: /* varint */
			if (!varint(&p, end, &v))
				return 0;
			if (tag >> 3 == 1)
				id = v; /* the last one wins, as in a decoder */
			break;
		case 2: /* length-delimited */
			if (!varint(&p, end, &v) || v > (uint64_t)(end - p))
				return 0;
			p += v;
			break;
		case 1: /* fixed64 */
		case 5: /* fixed32 */
			v = (tag & 7) == 1 ? 8 : 4;
			if (v > (uint64_t)(end - p))
				return 0;
			p += v;
			break;
		default:
			return 0;
		}
	}
	return id;
}

/* budget_take counts len bytes of a request in l's budget: false, counting nothing, if they
 * would pass it. */
static bool
budget_take(dobj__listener *l, size_t len)
{
	uint64_t had = atomic_fetch_add(&l->budget->bytes, len);

	if (had + len <= l->budget->max)
		return true;
	atomic_fetch_sub(&l->budget->bytes, len);
	atomic_fetch_add_explicit(&l->budget->refused, 1, memory_order_relaxed);
	return false;
}

/* refuse answers the request in msg RESOURCE_EXHAUSTED: it would pass the budget. */
static void
refuse(lctx *lc, nng_msg *msg)
{
	dobj__call *c = &lc->call;
	size_t len = nng_msg_len(msg);
	char errmsg[256];

	call_clear(c);
	c->request_id = dobj__listener_peek_request_id(nng_msg_body(msg), len);
	nng_msg_free(msg);
	snprintf(errmsg, sizeof(errmsg),
	         "server is busy: this request's %zu bytes would take the requests and replies in "
	         "flight past the server's limit of %llu bytes (inflight_bytes_max); try again "
	         "later",
	         len, (unsigned long long)lc->l->budget->max);
	dobj__call_answer(c, DOBJ_RESOURCE_EXHAUSTED, errmsg, NULL);
	lctx_send(c);
}

/* route decodes and checks one request; it either submits the call to its shard or answers
 * it at once. */
static void
route(lctx *lc, nng_msg *msg)
{
	dobj__listener *l = lc->l;
	dobj__call *c = &lc->call;
	bool ok;

	ok = dobj__listener_decode(c, l->reg, atomic_load(&l->draining), nng_msg_body(msg),
	                           nng_msg_len(msg));
	/* the call holds copies of what it needs: the message may carry the reply */
	if (nng_msg_len(msg) <= LCTX_SPARE_MAX)
		lc->spare = msg;
	else
		nng_msg_free(msg);
	if (ok)
		dobj__shard_submit(l->shards[dobj_id_shard(&c->id, l->nshards)], c);
	else
		lctx_send(c);
}

/* busy_add counts a context in (+1) or out (-1) without a lock on the hot path; only the
 * drop to zero while wait_idle waits takes the mutex (seq_cst atomics: either the waiter sees
 * zero, or the decrement sees the waiter and wakes it under the mutex). */
static void
busy_add(dobj__listener *l, int delta)
{
	if (delta > 0) {
		atomic_fetch_add(&l->busy, 1);
		return;
	}
	if (atomic_fetch_sub(&l->busy, 1) == 1 && atomic_load(&l->idle_waiter)) {
		pthread_mutex_lock(&l->mu);
		pthread_cond_broadcast(&l->idle);
		pthread_mutex_unlock(&l->mu);
	}
}

/* lctx_done ends lc's request, its reply sent or given up: its memory goes back, to the
 * budget too, and the context receives the next request. */
static void
lctx_done(lctx *lc)
{
	if (lc->spare != NULL) { /* not sent: a reply that could not be made */
		nng_msg_free(lc->spare);
		lc->spare = NULL;
	}
	dobj__arena_reset(&lc->call.arena);
	if (lc->reserved > 0) {
		atomic_fetch_sub(&lc->l->budget->bytes, lc->reserved);
		lc->reserved = 0;
	}
	busy_add(lc->l, -1);
	if (!atomic_load(&lc->l->closing))
		nng_ctx_recv(lc->ctx, lc->aio);
}

static void
lctx_cb(void *arg)
{
	lctx *lc = arg;
	int rv = nng_aio_result(lc->aio);
	nng_msg *msg;

	if (lc->sending) {
		lc->sending = false;
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(lc->aio));
			nng_aio_set_msg(lc->aio, NULL);
		} else {
			atomic_store_explicit(&lc->l->last_reply_ms, dobj__clock_mono_ms(),
			                      memory_order_relaxed);
		}
		lctx_done(lc);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		dobj__log_warn("receive failed: %s", nng_strerror(rv));
		nng_ctx_recv(lc->ctx, lc->aio);
		return;
	}
	lc->call.received_us = dobj__clock_mono_us();
	lc->call.done = lctx_send;
	busy_add(lc->l, 1);
	msg = nng_aio_get_msg(lc->aio);
	nng_aio_set_msg(lc->aio, NULL); /* ours now: a message left on the aio is nng's (close) */
	if (!budget_take(lc->l, nng_msg_len(msg))) {
		refuse(lc, msg);
		return;
	}
	lc->reserved = nng_msg_len(msg);
	route(lc, msg);
}

dobj_err
dobj__listener_open(dobj__listener **out, const dobj__registry *reg, dobj__shard *const *shards,
                    unsigned nshards, dobj__call_stats *stats, dobj__inflight *budget,
                    unsigned ncontexts, char *err, size_t errlen)
{
	dobj__listener *l = calloc(1, sizeof(*l));
	int rv;

	*out = NULL;
	if (l == NULL || (l->ctxs = calloc(ncontexts, sizeof(lctx))) == NULL) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&l->mu, NULL);
	dobj__cond_init(&l->idle);
	l->reg = reg;
	l->shards = shards;
	l->nshards = nshards;
	l->stats = stats;
	l->budget = budget;
	if ((rv = nng_rep0_open(&l->sock)) != 0) {
		snprintf(err, errlen, "could not open rep socket: %s", nng_strerror(rv));
		free(l->ctxs);
		free(l);
		return DOBJ_INTERNAL;
	}
	l->open = true;
	nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, DOBJ_REQUEST_MAX_BYTES);
	for (unsigned i = 0; i < ncontexts; i++) {
		lctx *lc = &l->ctxs[i];
		lc->l = l;
		dobj__arena_init(&lc->call.arena);
		if ((rv = nng_aio_alloc(&lc->aio, lctx_cb, lc)) != 0 ||
		    (rv = nng_ctx_open(&lc->ctx, l->sock)) != 0) {
			snprintf(err, errlen, "could not open receive context %u: %s", i,
			         nng_strerror(rv));
			l->nctxs = i + 1;
			dobj__listener_close(l, dobj__clock_mono_ms());
			return DOBJ_INTERNAL;
		}
		l->nctxs = i + 1;
	}
	*out = l;
	return DOBJ_OK;
}

/* listen_tls is nng_listen with a TLS configuration. */
static int
listen_tls(nng_socket sock, const char *url, nng_tls_config *tls)
{
	nng_listener nl;
	int rv;

	if ((rv = nng_listener_create(&nl, sock, url)) != 0)
		return rv;
	if ((rv = nng_listener_set_ptr(nl, NNG_OPT_TLS_CONFIG, tls)) != 0 ||
	    (rv = nng_listener_start(nl, 0)) != 0)
		nng_listener_close(nl);
	return rv;
}

dobj_err
dobj__listener_start(dobj__listener *l, const char *url, nng_tls_config *tls, char *err,
                     size_t errlen)
{
	int rv;

	dobj__nngfix_init(); /* before the first connection: nng 1.5 may stop accepting */
	rv = tls != NULL ? listen_tls(l->sock, url, tls) : nng_listen(l->sock, url, NULL, 0);
	if (rv != 0) {
		snprintf(err, errlen, "could not listen on %s: %s", url, nng_strerror(rv));
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? DOBJ_INVALID_ARGUMENT
		                                                 : DOBJ_UNAVAILABLE;
	}
	l->listening = true;
	for (unsigned i = 0; i < l->nctxs; i++)
		nng_ctx_recv(l->ctxs[i].ctx, l->ctxs[i].aio);
	return DOBJ_OK;
}

void
dobj__listener_drain(dobj__listener *l)
{
	atomic_store(&l->draining, true);
}

/* wait_idle waits until every reply released by the shards has been sent, or until. */
static void
wait_idle(dobj__listener *l, int64_t until)
{
	pthread_mutex_lock(&l->mu);
	atomic_store(&l->idle_waiter, true);
	while (atomic_load(&l->busy) > 0)
		if (!dobj__cond_wait_until_mono_ms(&l->idle, &l->mu, until))
			break;
	atomic_store(&l->idle_waiter, false);
	if (atomic_load(&l->busy) > 0)
		dobj__log_warn("closing with %u requests unanswered or replies unsent",
		               atomic_load(&l->busy));
	pthread_mutex_unlock(&l->mu);
}

void
dobj__listener_close(dobj__listener *l, int64_t until_mono_ms)
{
	int64_t until, linger;

	if (l == NULL)
		return;
	atomic_store(&l->draining, true);
	atomic_store(&l->closing, true);
	until = until_mono_ms != 0 ? until_mono_ms : dobj__clock_mono_ms() + CLOSE_WAIT_MS;
	wait_idle(l, until);
	/* Let the connections take the last replies nng may still be writing: the socket stays
	 * open until CLOSE_LINGER_MS after the last reply (closing the nng listener would close
	 * the connections it accepted, so new ones are still answered UNAVAILABLE meanwhile). */
	linger = atomic_load(&l->last_reply_ms);
	if (linger != 0 && (linger += CLOSE_LINGER_MS) > until)
		linger = until;
	if (l->listening && linger != 0 && dobj__clock_mono_ms() < linger) {
		pthread_mutex_lock(&l->mu);
		while (dobj__cond_wait_until_mono_ms(&l->idle, &l->mu, linger))
			;
		pthread_mutex_unlock(&l->mu);
	}
	/* Stop every context's aio before closing the socket: closing a socket while another
	 * thread still works one of its contexts is not safe in nng 1.5. */
	for (unsigned i = 0; i < l->nctxs; i++)
		if (l->ctxs[i].aio != NULL)
			nng_aio_stop(l->ctxs[i].aio);
	for (unsigned i = 0; i < l->nctxs; i++)
		if (l->ctxs[i].aio != NULL)
			nng_ctx_close(l->ctxs[i].ctx);
	if (l->open && !dobj__sock_close(l->sock, CLOSE_SOCKET_MS))
		dobj__log_warn(
		    "the RPC socket's close did not end within %d ms (nng before 1.8 can "
		    "wait for good when a request arrives as it closes); going on "
		    "without it",
		    CLOSE_SOCKET_MS);
	for (unsigned i = 0; i < l->nctxs; i++) {
		lctx *lc = &l->ctxs[i];
		if (lc->aio != NULL) {
			/* A reply whose send began after the aio was stopped (its request came in
			 * as the contexts stopped) was neither sent nor completed by nng 1.5: its
			 * message is still on the aio. */
			nng_msg *left = nng_aio_get_msg(lc->aio);

			if (left != NULL)
				nng_msg_free(left);
			nng_aio_free(lc->aio);
		}
		if (lc->spare != NULL)
			nng_msg_free(lc->spare);
		dobj__arena_fini(&lc->call.arena);
	}
	pthread_cond_destroy(&l->idle);
	pthread_mutex_destroy(&l->mu);
	free(l->ctxs);
	free(l);
}
