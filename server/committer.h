// SPDX-License-Identifier: MIT
/* committer.h - the server's commit thread: it writes the shards' batches of turns to
 * PostgreSQL, the batches of several shards in one transaction, so that one fsync and one
 * transaction's overhead serve them all. Each shard hands over its batches in order and hears
 * back, in the same order, whether each one is durable. */
#ifndef DOBJ_SERVER_COMMITTER_H
#define DOBJ_SERVER_COMMITTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>

#include "metrics.h"
#include "pgstore.h"
#include "writer.h"

typedef struct dobj__committer dobj__committer;

/* The start of the message of a call failed because a commit it depended on failed. */
#define DOBJ__COMMIT_DEPENDED "an earlier commit this call depended on failed"

/* dobj__commit_req: one batch's changes on their way. The submitter fills part, nturns,
 * source, gen, failed_gen and done; the committer sets rc and err and calls done (on its own
 * thread), after which it no longer touches the request. */
/* The commit thread takes batches of more shards into a transaction only while their
 * parameters add up to less than this: one statement per kind of change carries all of them. */
#define DOBJ__TXN_BYTES ((size_t)256 << 20)

typedef struct dobj__commit_req {
	struct dobj__commit_req *next; /* the committer's queue */
	dobj__pg_part *part;
	size_t nturns; /* turns with writes in the part */
	/* One request per source goes into a transaction, in the order submitted. A source's
	 * requests made before it learned that one of its commits failed may depend on it: the
	 * committer fails a request whose gen is below *failed_gen, and on a failure raises
	 * *failed_gen past the failed request's gen. */
	const void *source;
	uint64_t gen;
	_Atomic uint64_t *failed_gen;
	void (*taken)(struct dobj__commit_req *r); /* it left the queue for a transaction */
	void (*done)(struct dobj__commit_req *r);
	dobj_err rc;
	bool depended; /* failed without being sent: an earlier request of its source failed */
	/* committer only: it was in a failed transaction with other sources' requests and goes
	 * into a transaction alone, so that one batch's failure fails only its own calls */
	bool alone;
	char err[512];
} dobj__commit_req;

typedef struct dobj__committer_stats {
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t commit_retries; /* transactions skipped behind a failed one and sent again */
	uint64_t commit_splits;  /* failed transactions of several batches, sent again one each */
	bool fenced;             /* dobj__committer_fenced */
	bool writer_held;        /* the commit connection holds the writer lock (writer.h) */
	int64_t writer_epoch;    /* the writer epoch this dobjd set when it last took it */
	int64_t waiting_us;      /* how long the transaction in flight has waited; 0: none */
	uint64_t busy_us;        /* time with a transaction on the commit connection, in all */
	uint64_t pg_errors;
	uint64_t pg_reconnects;
	dobj__hist commit_turns;   /* turns with writes per transaction */
	dobj__hist commit_seconds; /* from sending BEGIN to COMMIT's answer */
} dobj__committer_stats;

/* dobj__committer_open connects to PostgreSQL (a failure there is not fatal: it reconnects
 * when work comes). owner fences fired alarms (the server's node id). */
dobj_err dobj__committer_open(dobj__committer **out, const char *dsn, const char *owner,
                              unsigned max_sources, char *err, size_t errlen);
dobj_err dobj__committer_start(dobj__committer *c);
void dobj__committer_submit(dobj__committer *c, dobj__commit_req *r);
/* dobj__committer_stop finishes what was submitted and ends the thread; submit no more. It
 * waits until until_mono_ms (0: no limit) and returns false if the thread is still inside a
 * PostgreSQL call then: the committer is left as it is, not to be closed. */
bool dobj__committer_stop(dobj__committer *c, int64_t until_mono_ms);
void dobj__committer_close(dobj__committer *c);
/* dobj__committer_fenced: a commit's outcome is unknown and the backend that ran it may still
 * commit it; objects dropped after a failed commit must not reload yet (pgstore.h). */
bool dobj__committer_fenced(dobj__committer *c);
/* dobj__committer_take_writer takes the writer lock on the commit connection, before
 * dobj__committer_start (writer.h); the commit thread takes it again after a reconnect, and
 * commits nothing on a connection that does not hold it. */
dobj__writer_rc dobj__committer_take_writer(dobj__committer *c, char *msg, size_t msglen);
/* dobj__committer_on_lost: fn(arg) is called, once, on the commit thread, when the lock
 * turns out to have been another's (another session holds it, or the epoch moved): from then
 * on every commit fails. Set it before dobj__committer_start. */
void dobj__committer_on_lost(dobj__committer *c, void (*fn)(void *arg), void *arg);
/* dobj__committer_lost: the lock was lost (msg says how). Thread-safe. */
bool dobj__committer_lost(dobj__committer *c, char *msg, size_t msglen);
void dobj__committer_stats_get(dobj__committer *c, dobj__committer_stats *out);

#endif /* DOBJ_SERVER_COMMITTER_H */
