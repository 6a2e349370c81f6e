/* SPDX-License-Identifier: MIT */
/* listener.h - the nng rep socket: receives and decodes requests on many contexts at once,
 * answers bad ones itself, routes good ones to the shard that owns their object, and sends
 * the replies the shards release. */
#ifndef DOBJ_SERVER_LISTENER_H
#define DOBJ_SERVER_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <dobj/err.h>

#include "call.h"
#include "metrics.h"
#include "registry.h"
#include "shard.h"

typedef struct dobj__listener dobj__listener;

/* dobj__inflight: the memory budget for requests (dobj_server_opts.inflight_bytes_max). bytes
 * counts the wire size of the requests received and not yet answered, and of the replies
 * being sent; a request that would take it past max is answered RESOURCE_EXHAUSTED without being decoded, and counted in
 * refused. Its owner sets max (at least DOBJ_REQUEST_MAX_BYTES) and zeroes the rest; the
 * listener updates it, and anyone may read the counters at any time. */
typedef struct dobj__inflight {
	uint64_t max;
	_Atomic uint64_t bytes;
	_Atomic uint64_t refused;
} dobj__inflight;

/* dobj__listener_open prepares ncontexts receive contexts; nothing is received until
 * dobj__listener_start. registry, shards, stats (every reply is counted there) and budget
 * must outlive the listener. */
dobj_err dobj__listener_open(dobj__listener **out, const dobj__registry *reg,
                             dobj__shard *const *shards, unsigned nshards, dobj__call_stats *stats,
                             dobj__inflight *budget, unsigned ncontexts, char *err, size_t errlen);

/* dobj__listener_start listens on url (tcp://, ipc://, or tls+tcp:// with tls, which the
 * listener holds; NULL for the others) and starts receiving. */
dobj_err dobj__listener_start(dobj__listener *l, const char *url, nng_tls_config *tls, char *err,
                              size_t errlen);

/* dobj__listener_drain answers every new request UNAVAILABLE ("server is shutting down")
 * from now on. Thread-safe. */
void dobj__listener_drain(dobj__listener *l);

/* dobj__listener_close waits until every reply the shards released has been sent (until
 * until_mono_ms at most; 0: 10 s), then stops the contexts, closes the socket and frees l.
 * Call it after the shards have stopped. NULL is allowed. */
void dobj__listener_close(dobj__listener *l, int64_t until_mono_ms);

/* dobj__listener_decode decodes and checks one request, buf[0..len) from the wire, into c,
 * drawing from c's arena: true when c is a call of a method of a class in reg on an object,
 * ready for its shard (c->arg points into the arena); false when c holds the error to answer
 * (dobj__call_answer's outcome). With draining, a valid request is answered UNAVAILABLE. No
 * socket: the listener's receive callback and the request fuzzer (tests/fuzz) call it. */
bool dobj__listener_decode(dobj__call *c, const dobj__registry *reg, bool draining, const void *buf,
                           size_t len);

/* dobj__listener_peek_request_id reads the request_id of a Request, buf[0..len) from the wire,
 * without decoding the rest: 0 if the bytes are not a Request that has one. A request refused
 * unread is answered with it, so that the client matches the answer to its call. */
uint64_t dobj__listener_peek_request_id(const void *buf, size_t len);

#endif /* DOBJ_SERVER_LISTENER_H */
