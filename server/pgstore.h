/* SPDX-License-Identifier: MIT */
/*
 * pgstore.h - a PostgreSQL connection: a shard's loads objects and reads keys that are not
 * cached; the committer's writes batches of turns, several shards' in one transaction (libpq
 * pipeline mode, one multi-row statement per kind of change and part, prepared once per
 * connection).
 */
#ifndef DOBJ_SERVER_PGSTORE_H
#define DOBJ_SERVER_PGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <dobj/err.h>
#include <dobj/storage.h>

#include "call.h"
#include "object.h"

typedef struct dobj__pg dobj__pg;

/* dobj__pg_connect connects to dsn with dobjd's defaults (5 s connect timeout, TCP
 * keepalives, application_name dobjd), each overridable in the DSN, and client_encoding
 * UTF8, which is not. Check PQstatus. */
PGconn *dobj__pg_connect(const char *dsn);

/* dobj__pg_open connects to dsn (blocking, with the 5 s connect timeout) and prepares the
 * statements; name ("shard 3") labels its log lines. After a failure the connection is
 * re-made in the background (see dobj__pg_ensure and dobj__pg_tick). */
dobj_err dobj__pg_open(dobj__pg **out, const char *dsn, const char *name, char *err, size_t errlen);

void dobj__pg_close(dobj__pg *pg);

/* dobj__pg_ensure returns DOBJ_OK when the connection is ready. Otherwise it advances the
 * reconnect: it starts an attempt if the backoff allows, and waits for an attempt at most
 * DOBJ_PG_ATTEMPT_WAIT_MS in all (so a quick reconnect serves the call), then answers
 * DOBJ_UNAVAILABLE ("PostgreSQL unavailable: <reason>") at once. Every read and the commit
 * call it first. */
dobj_err dobj__pg_ensure(dobj__pg *pg, char *err, size_t errlen);

#define DOBJ_PG_ATTEMPT_WAIT_MS 200
#define DOBJ_PG_CONNECT_TIMEOUT_MS 5000
#define DOBJ_PG_BACKOFF_MIN_MS 100
#define DOBJ_PG_BACKOFF_MAX_MS 5000

/* dobj__pg_tick advances a reconnect without waiting, for an idle shard. It returns how
 * many ms until it should run again, or -1 while the connection is up (nothing to do). */
int dobj__pg_tick(dobj__pg *pg);

/* dobj__pg_counters reads the connection's error and reconnect counts. Thread-safe. */
void dobj__pg_counters(dobj__pg *pg, uint64_t *errors, uint64_t *reconnects);

/* dobj__pg_load reads up to max_keys + 1 keys of o (a new, empty object); o becomes
 * complete when it has at most max_keys. */
dobj_err dobj__pg_load(dobj__pg *pg, dobj__object *o, size_t max_keys, char *err, size_t errlen);

/* dobj__pg_load_many is dobj__pg_load for n new, distinct objects in one query (it sorts
 * objs). On failure the objects hold whatever was read: free them. */
dobj_err dobj__pg_load_many(dobj__pg *pg, dobj__object **objs, size_t n, size_t max_keys, char *err,
                            size_t errlen);

/* dobj__pg_fetch_key caches the committed value (or absence) of key in o, which must not
 * hold key yet. */
dobj_err dobj__pg_fetch_key(dobj__pg *pg, dobj__object *o, const char *key, char *err,
                            size_t errlen);

/* dobj__pg_fetch_range caches up to limit (0: all) committed keys of o matching the list
 * options, in list order; keys o already holds are left as they are. lo/lo_after is the
 * effective lower bound. */
dobj_err dobj__pg_fetch_range(dobj__pg *pg, dobj__object *o, const char *lo, bool lo_after,
                              const char *end, const char *prefix, bool reverse, size_t limit,
                              char *err, size_t errlen);

/* dobj__pg_fetch_alarm makes o's alarm state known from PostgreSQL (a parked alarm is none). */
dobj_err dobj__pg_fetch_alarm(dobj__pg *pg, dobj__object *o, char *err, size_t errlen);

/* dobj__pg_part: the changes of one batch of turns, taken from its objects by
 * dobj__pg_part_build (on the thread that owns them; NULL when out of memory) and written by
 * dobj__pg_commit_send, possibly with other parts, in one transaction. */
typedef struct dobj__pg_part dobj__pg_part;
/* The most parameter bytes one statement of a commit may carry: PostgreSQL refuses a message
 * of 1 GiB or more (and drops the connection), and a Bind message adds a little to them. */
#define DOBJ__PG_STATEMENT_BYTES ((size_t)1023 << 20)
/* reuse: a part of an earlier batch to build into, its buffers kept (it is consumed, even on
 * failure), or NULL for a new one. */
dobj__pg_part *dobj__pg_part_build(dobj__pg_part *reuse, dobj__object *batch,
                                   const dobj__call *calls, size_t nturns);
void dobj__pg_part_free(dobj__pg_part *part);
/* dobj__pg_part_keep returns part if its buffers are worth keeping for the next build (they
 * take DOBJ__PG_PART_KEEP_BYTES at most), else frees it and returns NULL. */
#define DOBJ__PG_PART_KEEP_BYTES ((size_t)256 << 10)
dobj__pg_part *dobj__pg_part_keep(dobj__pg_part *part);
/* dobj__pg_part_bytes is what part's parameters add up to, in bytes. */
size_t dobj__pg_part_bytes(const dobj__pg_part *part);

/* dobj__pg_txn: one commit transaction sent on the commit connection, read in two steps. */
typedef struct dobj__pg_txn {
	int nstmts;      /* statements sent: BEGIN, the changes, maybe a notify, COMMIT */
	int nread;       /* statements whose results have been read */
	int naborted;    /* statements the server skipped after an earlier failure */
	size_t nturns;   /* turns with writes in it */
	bool committed;  /* COMMIT answered OK: durable */
	bool failed;     /* the server refused or skipped a statement: nothing of it was written */
	bool errored;    /* one of its own statements failed (err says why) */
	bool broken;     /* the connection broke before its results were all read */
	int64_t sent_us; /* when it was sent (monotonic clock) */
	int64_t next_warn_us; /* when a wait for its results is next worth a warning */
	char err[448];
} dobj__pg_txn;

/* dobj__pg_commit_send sends, without waiting, one transaction that writes the parts (each of
 * different objects); owner fences the fired alarms' deletion. It goes behind the
 * transactions still in flight on the connection, and the server skips it if one of those
 * fails. Each transaction sent must be read with dobj__pg_commit_read, in the order sent. */
dobj_err dobj__pg_commit_send(dobj__pg *pg, dobj__pg_part *const *parts, size_t nparts,
                              const char *owner, dobj__pg_txn *t, char *err, size_t errlen);

/* dobj__pg_commit_read waits for t's results: those of its changes (the server is then
 * committing it) or, with through_commit, all of them. A wait of more than
 * DOBJ__COMMIT_WARN_MS is logged, and again every DOBJ__COMMIT_REWARN_MS while it lasts. */
#define DOBJ__COMMIT_WARN_MS 5000
#define DOBJ__COMMIT_REWARN_MS 10000
void dobj__pg_commit_read(dobj__pg *pg, dobj__pg_txn *t, bool through_commit);

/* dobj__pg_commit_outcome says what became of t, once read through COMMIT: DOBJ_OK once
 * COMMIT is durable; otherwise nothing of it is assumed written (the caller reloads the
 * objects) and err says why (with "outcome unknown" when the connection died before COMMIT
 * was answered). */
dobj_err dobj__pg_commit_outcome(dobj__pg *pg, const dobj__pg_txn *t, char *err, size_t errlen);

/* dobj__pg_commit_skipped: t was certainly not applied, only skipped because a transaction
 * ahead of it failed (it may be sent again). */
bool dobj__pg_commit_skipped(const dobj__pg_txn *t);

/* dobj__pg_commit_settle is called when no transaction is in flight any more: after a
 * failure it brings the connection back to a clean state; otherwise it lets the server report
 * ready without waiting for it. */
void dobj__pg_commit_settle(dobj__pg *pg, bool failed);

/* The fence. When the connection dies before COMMIT is answered, the backend that ran the
 * transaction may still be finishing it (a slow deferred trigger, a synchronous standby) and
 * commit after the objects it wrote were reloaded, which would leave them stale. Until that
 * backend has ended, those objects must not reload.
 *
 * dobj__pg_fence_set records the backend of the connection that just broke under a commit:
 * false if it cannot be told apart from a later one (no start time), and nothing is fenced.
 * dobj__pg_fence_check, on a connection made since (not yet in pipeline mode), ends that
 * backend (pg_terminate_backend: its transaction then commits or aborts for good) and waits
 * for it to be gone, up to FENCE_WAIT_MS: DOBJ_OK once it is, or if no fence is set;
 * otherwise err says what it waits for. dobj__pg_fence_pid: the fenced backend's pid. */
bool dobj__pg_fence_set(dobj__pg *pg);
dobj_err dobj__pg_fence_check(dobj__pg *pg, char *err, size_t errlen);
int dobj__pg_fence_pid(const dobj__pg *pg);

#endif /* DOBJ_SERVER_PGSTORE_H */
