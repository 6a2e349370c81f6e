/* SPDX-License-Identifier: MIT */
/* call.h - one call on its way through the server: decoded by the listener, run as a turn by
 * the shard that owns its object, answered by the listener once the shard's commit is
 * durable. The call's arena holds the decoded request and everything the turn allocates. */
#ifndef DOBJ_SERVER_CALL_H
#define DOBJ_SERVER_CALL_H

#include <stdint.h>

#include <nng/nng.h>

#include <dobj/object.h>

#include "arena.h"
#include "registry.h"

struct dobj__object;

typedef struct dobj__call {
	struct dobj__call *next; /* shard queue and batch links */
	/* set by the listener */
	uint64_t request_id;
	const dobj__class_reg *cls;
	const dobj_method *method;
	dobj_id id;
	dobj_bytes arg;
	int64_t deadline_mono_ms; /* 0: none */
	dobj__arena arena;
	/* set by the shard */
	struct dobj__object *obj; /* the object the turn ran on, if it was activated */
	nng_msg *reply;           /* encoded Response, sent after the commit */
} dobj__call;

/* dobj__call_answer encodes the Response for c into c->reply (replacing any earlier one).
 * result may be NULL. Thread: the shard's, or the listener's for calls never routed. */
void dobj__call_answer(dobj__call *c, dobj_err status, const char *message,
                       const dobj_bytes *result);

/* dobj__call_send hands c->reply to the listener to send; c must not be used afterwards. */
void dobj__call_send(dobj__call *c);

#endif /* DOBJ_SERVER_CALL_H */
