/* SPDX-License-Identifier: MIT */
/*
 * shard.h - a shard thread: it owns the live objects whose ids hash to it, runs their turns
 * one at a time in arrival order, commits every turn it ran since its last commit in one
 * PostgreSQL transaction (group commit), and only then releases their replies.
 */
#ifndef DOBJ_SERVER_SHARD_H
#define DOBJ_SERVER_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/server.h>

#include "call.h"

typedef struct dobj__shard dobj__shard;

/* dobj__shard_cfg: what every shard shares; owned by the server, read-only. */
typedef struct dobj__shard_cfg {
	dobj_limits limits;
	size_t cache_objects; /* per shard */
	int idle_timeout_ms;
	size_t load_all_max_keys;
	unsigned max_batch;
	const char *database_url;
	const char *node_id; /* this server's name in alarm leases */
} dobj__shard_cfg;

/* dobj__shard_open connects the shard to PostgreSQL; the thread starts in _start. */
dobj_err dobj__shard_open(dobj__shard **out, unsigned index, const dobj__shard_cfg *cfg, char *err,
                          size_t errlen);

dobj_err dobj__shard_start(dobj__shard *s);

/* dobj__shard_submit queues c for the shard. Thread-safe; never blocks on the shard. */
void dobj__shard_submit(dobj__shard *s, dobj__call *c);

/* dobj__shard_stop lets the shard finish (run, commit and answer) what is queued, then joins
 * its thread. Calls submitted afterwards are answered UNAVAILABLE. */
void dobj__shard_stop(dobj__shard *s);

void dobj__shard_close(dobj__shard *s);

/* dobj__shard_stats: a snapshot for logs and metrics. */
typedef struct dobj__shard_stats {
	size_t live_objects;
	size_t queue_depth;
	uint64_t turns;
	uint64_t commits;
	uint64_t commit_failures;
} dobj__shard_stats;

void dobj__shard_stats_get(dobj__shard *s, dobj__shard_stats *out);

#endif /* DOBJ_SERVER_SHARD_H */
