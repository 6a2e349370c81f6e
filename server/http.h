/* SPDX-License-Identifier: MIT */
/*
 * http.h - dobjd's operator endpoint on its own port: GET /healthz (the process runs),
 * GET /readyz (the server serves, PostgreSQL answers and the server is not stopping) and GET /metrics
 * (Prometheus text format 0.0.4), served by httpd.c with its limits on connections and time.
 * The server's state reaches it only through dobj__http_ops.
 */
#ifndef DOBJ_SERVER_HTTP_H
#define DOBJ_SERVER_HTTP_H

#include <stddef.h>

#include <dobj/err.h>

#include "metrics.h"
#include "committer.h"
#include "poller.h"
#include "shard.h"

typedef struct dobj__http dobj__http;

/* dobj__http_ops: what the endpoint asks of the server. The HTTP thread ("dobj-http") calls
 * these between dobj__http_start and the return of dobj__http_stop, one at a time; they must
 * be quick and must not block on PostgreSQL: every request on the port waits for them. */
typedef struct dobj__http_ops {
	/* shard_count: how many shards shard_stats answers for. */
	unsigned (*shard_count)(void *arg);
	/* shard_stats: a snapshot of one shard's counters. */
	void (*shard_stats)(void *arg, unsigned shard, dobj__shard_stats *out);
	/* commit_stats: the commit thread's counters. */
	void (*commit_stats)(void *arg, dobj__committer_stats *out);
	/* not_ready: NULL while the server serves calls, else why not: static text, or written
	 * into buf (len bytes, HTTP_REASON_MAX) and buf returned. */
	const char *(*not_ready)(void *arg, char *buf, size_t len);
	/* alarm_stats: the alarm poller's counters (may be NULL: no alarm metrics). */
	void (*alarm_stats)(void *arg, dobj__poller_stats *out);
	/* call_metrics: writes the per-call series (may be NULL). */
	void (*call_metrics)(void *arg, dobj__text *t);
} dobj__http_ops;

/* dobj__http_url_check accepts http://HOST:PORT (no path, query or userinfo); else
 * DOBJ_INVALID_ARGUMENT with the reason in err. */
dobj_err dobj__http_url_check(const char *url, char *err, size_t errlen);

/* dobj__http_open checks url and prepares an endpoint that is not listening yet; readiness
 * checks connect to database_url. ops (static) and arg must stay valid until
 * dobj__http_stop returns. Free with dobj__http_close(). */
dobj_err dobj__http_open(dobj__http **out, const char *url, const char *database_url,
                         const dobj__http_ops *ops, void *arg, char *err, size_t errlen);

/* dobj__http_start binds the URL (port 0 picks a free one, logged) and serves; on failure
 * err says why (port in use, ...); dobj__http_close() cleans up. */
dobj_err dobj__http_start(dobj__http *h, char *err, size_t errlen);

/* dobj__http_stop closes the port, answers waiting readiness checks 503 ("server is
 * stopping"), closes every connection and joins the threads, so that ops are no longer called.
 * Idempotent; never call it from an ops callback. */
void dobj__http_stop(dobj__http *h);

/* dobj__http_close stops h if needed and frees it. NULL is allowed. */
void dobj__http_close(dobj__http *h);

#endif /* DOBJ_SERVER_HTTP_H */
