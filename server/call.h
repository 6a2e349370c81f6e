/* SPDX-License-Identifier: MIT */
/* call.h - one unit of work for a shard: a client's call (decoded by the listener) or a due
 * alarm (claimed by the poller). The shard runs it as a turn of its object, records the
 * outcome in the call, and hands it back through `done` once the outcome is durable. The
 * call's arena holds the request and everything the turn allocates. */
#ifndef DOBJ_SERVER_CALL_H
#define DOBJ_SERVER_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include <dobj/object.h>

#include "arena.h"
#include "registry.h"

struct dobj__object;

typedef enum dobj__call_kind {
	DOBJ_CALL_METHOD, /* run method with arg */
	DOBJ_CALL_ALARM,  /* run the class's alarm entry for the alarm due at alarm_due_ms */
} dobj__call_kind;

typedef struct dobj__call dobj__call;

/* dobj__call_done_fn: the outcome is final (committed, or failed); called once, on the shard
 * thread, or on the thread that refused the call. It takes the call back. */
typedef void (*dobj__call_done_fn)(dobj__call *c);

struct dobj__call {
	dobj__call *next; /* shard queue and batch links */
	dobj__call_kind kind;
	dobj__call_done_fn done;
	void *owner; /* for done: whoever submitted the call */
	/* the request */
	uint64_t request_id;
	const dobj__class_reg *cls;
	const dobj_method *method; /* DOBJ_CALL_METHOD */
	dobj_id id;
	dobj_bytes arg;
	int64_t deadline_mono_ms; /* 0: none */
	int64_t received_us;      /* monotonic, when the listener received it (for metrics) */
	int64_t alarm_due_ms;     /* DOBJ_CALL_ALARM: the claimed alarm */
	int alarm_attempts;       /* DOBJ_CALL_ALARM: its failed runs so far */
	dobj__call *claim_next;   /* DOBJ_CALL_ALARM: the poller's claims (claims.h) */
	int64_t alarm_leased_ms;  /* DOBJ_CALL_ALARM: when the poller last set its lease */
	bool alarm_reclaimed;     /* DOBJ_CALL_ALARM: a claim found it again while on its way */
	dobj__arena arena;
	/* the outcome, set by the shard */
	struct dobj__object *obj; /* the object the turn ran on, if it was activated */
	dobj_err status;
	const char *message; /* never NULL once answered; in the arena or static */
	dobj_bytes result;   /* in the arena */
	bool fired;          /* DOBJ_CALL_ALARM: the alarm ran and is deleted by the commit */
	bool in_commit;      /* its outcome depends on the commit it waits for */
	bool not_run;        /* refused before any of it ran: the reply says so (wire.proto) */
	bool stopping;       /* refused, not run, because the server is shutting down */
	int64_t started_ms;  /* DOBJ_CALL_ALARM: server clock when the turn began */
};

/* dobj__call_answer records the outcome of c (replacing any earlier one), copying message and
 * result into the call's arena: they may point at memory a later turn reuses. Bytes of the
 * message that are not UTF-8 are copied as U+FFFD. Out of memory,
 * the status stays and the message becomes a fixed text; but a result that cannot be copied
 * makes the outcome RESOURCE_EXHAUSTED (never an OK without its result) and the return value
 * DOBJ_RESOURCE_EXHAUSTED, so that the caller can undo what the call did. Else DOBJ_OK. */
dobj_err dobj__call_answer(dobj__call *c, dobj_err status, const char *message,
                           const dobj_bytes *result);

#endif /* DOBJ_SERVER_CALL_H */
