/* SPDX-License-Identifier: MIT */
/*
 * shard.h - a shard thread: it owns the live objects whose ids hash to it, runs their turns
 * one at a time in arrival order, hands each batch of turns to the committer (group commit)
 * and releases their replies once the committer says the batch is durable.
 */
#ifndef DOBJ_SERVER_SHARD_H
#define DOBJ_SERVER_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/server.h>

#include "call.h"
#include "metrics.h"

typedef struct dobj__shard dobj__shard;

/* A shard hands its open batch over once the requests run in it and what their turns wrote add
 * up to this many bytes, whatever max_batch says: a transaction, sent as one message per kind
 * of change, must stay well under PostgreSQL's 1 GiB message limit (the commit thread joins
 * batches up to DOBJ__TXN_BYTES, committer.h; a turn writes DOBJ__TURN_WRITE_BYTES at most,
 * object.h). */
#define DOBJ__BATCH_BYTES (64u << 20)

/* dobj__shard_cfg: what every shard shares; owned by the server, read-only. */
typedef struct dobj__shard_cfg {
	dobj_limits limits;
	size_t cache_objects; /* per shard */
	int idle_timeout_ms;
	size_t load_all_max_keys;
	unsigned max_batch;
	const char *database_url;
	struct dobj__committer *committer;
} dobj__shard_cfg;

/* dobj__shard_open connects the shard to PostgreSQL; the thread starts in _start. */
dobj_err dobj__shard_open(dobj__shard **out, unsigned index, const dobj__shard_cfg *cfg, char *err,
                          size_t errlen);

dobj_err dobj__shard_start(dobj__shard *s);

/* dobj__shard_submit queues c for the shard. Thread-safe; never blocks on the shard. */
void dobj__shard_submit(dobj__shard *s, dobj__call *c);

/* dobj__shard_drain makes the shard refuse new calls (UNAVAILABLE) and finish (run, commit
 * and answer) what is queued, then end its thread. Calls still queued at deadline_mono_ms
 * (0: none) are answered UNAVAILABLE without running. Returns at once; an earlier deadline
 * replaces a later one. */
void dobj__shard_drain(dobj__shard *s, int64_t deadline_mono_ms);

/* dobj__shard_join waits until the drained shard's thread has ended, until until_mono_ms at
 * most (0: no limit); false if it is still running then (a turn or a commit that does not
 * end), in which case the shard must not be closed. */
bool dobj__shard_join(dobj__shard *s, int64_t until_mono_ms);

/* dobj__shard_stop is dobj__shard_drain without a deadline, then dobj__shard_join. */
void dobj__shard_stop(dobj__shard *s);

void dobj__shard_close(dobj__shard *s);

/* dobj__shard_stats: a snapshot for logs and metrics. */
typedef struct dobj__shard_stats {
	size_t live_objects;
	size_t queue_depth;
	uint64_t turns;
	uint64_t drain_refused; /* calls refused because the drain timeout passed */
	uint64_t pg_errors;     /* failed statements, commits and connection attempts */
	uint64_t pg_reconnects; /* connections re-established after a failure */
} dobj__shard_stats;

/* dobj__shard_stats_get fills out. Thread-safe. */
void dobj__shard_stats_get(dobj__shard *s, dobj__shard_stats *out);

#endif /* DOBJ_SERVER_SHARD_H */
