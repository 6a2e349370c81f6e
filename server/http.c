// SPDX-License-Identifier: MIT
// http.c - the operator endpoint on nng's HTTP server: /healthz, /readyz and /metrics. It
// owns the readiness cache and the thread that refreshes it (pgping.c does the query); the
// numbers come from the server through dobj__http_ops, never from its structs.
//
// Threads: nng's threads run the handlers; one checker thread runs readiness checks. A
// /readyz whose cached answer is older than HTTP_READY_CACHE_MS parks its aio in `pending`
// and the checker finishes it after the next check, so no nng thread waits on PostgreSQL.
// Lock: h->mu only, never held while calling ops, nng_aio_finish or PostgreSQL.

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include <dobj/version.h>

#include "http.h"
#include "thread.h"
#include "log.h"
#include "pgping.h"

#define HTTP_READY_TIMEOUT_MS 2000 /* one readiness check: connect and SELECT 1 */
#define HTTP_READY_CACHE_MS 1000   /* a check's answer is reused this long */
#define HTTP_PENDING_MAX 64        /* /readyz requests waiting for one check */
#define HTTP_REASON_MAX 256

struct dobj__http {
	char *url;
	const dobj__http_ops *ops;
	void *arg;
	dobj__pgping *ping;   /* checker thread only */
	nng_http_server *srv; /* owner thread only */
	pthread_t checker;
	bool checker_running; /* owner thread only */
	int64_t start_mono_ms;
	int64_t start_unix_ms;

	pthread_mutex_t mu; /* protects everything below */
	pthread_cond_t cv;
	int refs;          /* the owner's, plus one per nng handler that points here */
	bool serving;      /* ops may be called */
	bool stopping;     /* the checker exits; /readyz answers 503 */
	unsigned inflight; /* handlers calling ops right now */
	nng_aio *pending[HTTP_PENDING_MAX];
	size_t npending;
	int64_t checked_ms; /* when the last check ended; 0: never */
	bool pg_ok;
	char pg_reason[HTTP_REASON_MAX];
};

static int64_t
http_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
http_unref(dobj__http *h)
{
	int left;

	pthread_mutex_lock(&h->mu);
	left = --h->refs;
	pthread_mutex_unlock(&h->mu);
	if (left > 0)
		return;
	dobj__pgping_close(h->ping);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->url);
	free(h);
}

/* http_handler_dtor runs when nng frees a handler, possibly after dobj__http_close. */
static void
http_handler_dtor(void *arg)
{
	http_unref(arg);
}

/* --- replies ------------------------------------------------------------------------- */

static void
http_reply(nng_aio *aio, uint16_t status, const char *ctype, const char *body, size_t len)
{
	nng_http_res *res;
	int rv;

	if ((rv = nng_http_res_alloc(&res)) != 0) {
		nng_aio_finish(aio, rv);
		return;
	}
	if ((rv = nng_http_res_set_status(res, status)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Content-Type", ctype)) != 0 ||
	    (rv = nng_http_res_set_header(res, "Cache-Control", "no-store")) != 0 ||
	    (rv = nng_http_res_copy_data(res, body, len)) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void http_reply_text(nng_aio *aio, uint16_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
http_reply_text(nng_aio *aio, uint16_t status, const char *fmt, ...)
{
	char body[HTTP_REASON_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(body))
		n = (int)sizeof(body) - 1;
	http_reply(aio, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* http_enter returns the endpoint of a handler's aio and counts the caller as using ops,
 * or answers 503 and returns NULL when the endpoint is stopping. */
static dobj__http *
http_enter(nng_aio *aio)
{
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	dobj__http *h = nng_http_handler_get_data(hd);

	pthread_mutex_lock(&h->mu);
	if (!h->serving) {
		pthread_mutex_unlock(&h->mu);
		http_reply_text(aio, 503, "not ready: server is stopping\n");
		return NULL;
	}
	h->inflight++;
	pthread_mutex_unlock(&h->mu);
	return h;
}

static void
http_leave(dobj__http *h)
{
	pthread_mutex_lock(&h->mu);
	if (--h->inflight == 0)
		pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* --- /healthz and /readyz ------------------------------------------------------------ */

static void
http_healthz(nng_aio *aio)
{
	http_reply_text(aio, 200, "ok\n");
}

/* http_ready_answer answers one /readyz from a check's result; the caller uses ops. */
static void
http_ready_answer(dobj__http *h, nng_aio *aio, bool pg_ok, const char *pg_reason)
{
	const char *why = h->ops->not_ready(h->arg);

	if (why != NULL)
		http_reply_text(aio, 503, "not ready: %s\n", why);
	else if (!pg_ok)
		http_reply_text(aio, 503, "not ready: %s\n", pg_reason);
	else
		http_reply_text(aio, 200, "ok\n");
}

/* http_readyz_cancel: nng gives up on a parked /readyz (connection closed, server stop). */
static void
http_readyz_cancel(nng_aio *aio, void *arg, int rv)
{
	dobj__http *h = arg;
	bool found = false;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->npending; i++) {
		if (h->pending[i] == aio) {
			h->pending[i] = h->pending[--h->npending];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&h->mu);
	if (found)
		nng_aio_finish(aio, rv);
}

static void
http_readyz(nng_aio *aio)
{
	dobj__http *h = http_enter(aio);
	char reason[HTTP_REASON_MAX];
	const char *why;
	bool ok;

	if (h == NULL)
		return;
	if ((why = h->ops->not_ready(h->arg)) != NULL) {
		http_reply_text(aio, 503, "not ready: %s\n", why);
		http_leave(h);
		return;
	}
	pthread_mutex_lock(&h->mu);
	if (h->stopping || h->npending == HTTP_PENDING_MAX) {
		ok = false;
		snprintf(reason, sizeof(reason), "%s",
		         h->stopping ? "server is stopping" : "too many readiness checks waiting");
	} else if (h->checked_ms != 0 && http_mono_ms() - h->checked_ms < HTTP_READY_CACHE_MS) {
		ok = h->pg_ok;
		snprintf(reason, sizeof(reason), "%s", h->pg_reason);
	} else {
		/* Park it; the checker answers after its next check. */
		h->pending[h->npending++] = aio;
		nng_aio_defer(aio, http_readyz_cancel, h);
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		http_leave(h);
		return;
	}
	pthread_mutex_unlock(&h->mu);
	http_ready_answer(h, aio, ok, reason);
	http_leave(h);
}

/* http_checker runs readiness checks while /readyz requests wait for one. */
static void *
http_checker(void *arg)
{
	dobj__http *h = arg;
	nng_aio *batch[HTTP_PENDING_MAX];
	char reason[HTTP_REASON_MAX];
	size_t n;
	bool ok;

	dobj__thread_name("dobj-http");
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stopping && h->npending == 0)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stopping)
			break;
		pthread_mutex_unlock(&h->mu);

		reason[0] = '\0';
		ok = dobj__pgping_run(h->ping, HTTP_READY_TIMEOUT_MS, reason, sizeof(reason)) ==
		     DOBJ_OK;
		dobj__log_redact(reason, sizeof(reason)); /* it is served to anyone who asks */

		pthread_mutex_lock(&h->mu);
		if (ok != h->pg_ok || h->checked_ms == 0) {
			if (ok)
				dobj__log_info("readiness: PostgreSQL answers");
			else
				dobj__log_warn("readiness: %s", reason);
		}
		h->pg_ok = ok;
		snprintf(h->pg_reason, sizeof(h->pg_reason), "%s", reason);
		h->checked_ms = http_mono_ms();
		n = h->npending;
		memcpy(batch, h->pending, n * sizeof(batch[0]));
		h->npending = 0;
		pthread_mutex_unlock(&h->mu);
		/* dobj__http_stop joins this thread before ops go away. */
		for (size_t i = 0; i < n; i++)
			http_ready_answer(h, batch[i], ok, reason);
		pthread_mutex_lock(&h->mu);
	}
	n = h->npending;
	memcpy(batch, h->pending, n * sizeof(batch[0]));
	h->npending = 0;
	pthread_mutex_unlock(&h->mu);
	for (size_t i = 0; i < n; i++)
		http_reply_text(batch[i], 503, "not ready: server is stopping\n");
	return NULL;
}

/* --- /metrics ------------------------------------------------------------------------ */

/* metric_u64 writes one unlabelled series with an integer value. */
static void
metric_u64(dobj__text *t, const char *name, const char *type, const char *help, uint64_t v)
{
	dobj__metric_head(t, name, type, help);
	dobj__text_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

static void
http_metrics_write(dobj__http *h, dobj__text *t)
{
	unsigned nshards = h->ops->shard_count(h->arg);
	dobj__shard_stats *st = calloc(nshards ? nshards : 1, sizeof(*st));
	dobj__shard_stats sum;
	dobj__committer_stats cs;
	int64_t up_ms = http_mono_ms() - h->start_mono_ms;

	if (st == NULL) {
		t->oom = true;
		return;
	}
	memset(&sum, 0, sizeof(sum));
	for (unsigned i = 0; i < nshards; i++) {
		h->ops->shard_stats(h->arg, i, &st[i]);
		sum.live_objects += st[i].live_objects;
		sum.turns += st[i].turns;
		sum.pg_errors += st[i].pg_errors;
		sum.pg_reconnects += st[i].pg_reconnects;
	}
	h->ops->commit_stats(h->arg, &cs);
	sum.pg_errors += cs.pg_errors;
	sum.pg_reconnects += cs.pg_reconnects;
	dobj__metric_head(t, "dobj_build_info", "gauge",
	                  "Version of this dobjd; the value is always 1.");
	dobj__text_printf(t, "dobj_build_info{version=\"");
	dobj__text_label(t, DOBJ_VERSION_STRING);
	dobj__text_printf(t, "\"} 1\n");
	dobj__metric_seconds(t, "dobj_start_time_seconds",
	                     "When this server started, in seconds since the Unix epoch.",
	                     h->start_unix_ms);
	dobj__metric_seconds(t, "dobj_uptime_seconds", "Seconds since this server started.", up_ms);
	metric_u64(t, "dobj_shards", "gauge", "Shard threads.", nshards);
	metric_u64(t, "dobj_live_objects", "gauge", "Objects held in memory, over all shards.",
	           sum.live_objects);
	dobj__metric_head(t, "dobj_shard_queue_depth", "gauge",
	                  "Calls queued for a shard, not yet run.");
	for (unsigned i = 0; i < nshards; i++)
		dobj__text_printf(t, "dobj_shard_queue_depth{shard=\"%u\"} %zu\n", i,
		                  st[i].queue_depth);
	metric_u64(t, "dobj_turns_total", "counter", "Turns run: calls that reached an object.",
	           sum.turns);
	metric_u64(t, "dobj_commits_total", "counter",
	           "Group commits: PostgreSQL transactions that ended a batch of turns.",
	           cs.commits);
	metric_u64(t, "dobj_commit_failures_total", "counter",
	           "Group commits that failed; their calls were answered UNAVAILABLE.",
	           cs.commit_failures);
	metric_u64(t, "dobj_commit_retries_total", "counter",
	           "Group commits PostgreSQL skipped because the one ahead failed, sent again.",
	           cs.commit_retries);
	metric_u64(t, "dobj_commit_splits_total", "counter",
	           "Group commits of several batches PostgreSQL refused, whose batches were sent "
	           "again one per transaction, so that only the failing one fails.",
	           cs.commit_splits);
	metric_u64(t, "dobj_commit_fenced", "gauge",
	           "1 while a commit's outcome is unknown and the backend that ran it may still "
	           "commit: writes and the objects it wrote wait.",
	           cs.fenced);
	dobj__metric_seconds(t, "dobj_commit_waiting_seconds",
	                     "How long the group commit in flight has waited for PostgreSQL; 0 "
	                     "when none is. A commit that does not end holds its calls' replies "
	                     "and every commit behind it.",
	                     cs.waiting_us / 1000);
	dobj__metric_head(t, "dobj_commit_turns", "histogram",
	                  "Turns with writes made durable by one group commit.");
	dobj__hist_write(t, "dobj_commit_turns", "", DOBJ_HIST_SIZE, &cs.commit_turns);
	dobj__metric_head(t, "dobj_commit_duration_seconds", "histogram",
	                  "Time from sending one group commit to its outcome; one sent behind "
	                  "another also waits for that one's COMMIT.");
	dobj__hist_write(t, "dobj_commit_duration_seconds", "", DOBJ_HIST_SECONDS,
	                 &cs.commit_seconds);
	metric_u64(t, "dobj_pg_errors_total", "counter",
	           "Failed PostgreSQL statements, commits and connection attempts of the shards "
	           "and the commit thread.",
	           sum.pg_errors);
	metric_u64(t, "dobj_pg_reconnects_total", "counter",
	           "Connections of the shards and the commit thread to PostgreSQL re-established "
	           "after a failure.",
	           sum.pg_reconnects);
	free(st);
	if (h->ops->call_metrics != NULL)
		h->ops->call_metrics(h->arg, t);
	if (h->ops->alarm_stats != NULL) {
		dobj__poller_stats a;
		h->ops->alarm_stats(h->arg, &a);
		metric_u64(t, "dobj_alarms_fired_total", "counter",
		           "Alarm turns committed (each deleted its alarm).", a.fired);
		metric_u64(t, "dobj_alarms_retried_total", "counter",
		           "Failed alarm runs rescheduled with backoff.", a.retried);
		metric_u64(t, "dobj_alarms_parked_total", "counter",
		           "Alarms parked after their last retry (see dobj_alarms.parked).",
		           a.parked);
		dobj__metric_seconds(t, "dobj_alarm_lag_seconds",
		                     "How late the last alarm turn started, after its due time.",
		                     a.last_lag_ms);
	}
}

static void
http_metrics(nng_aio *aio)
{
	dobj__http *h = http_enter(aio);
	dobj__text t = {.cap = 4096};

	if (h == NULL)
		return;
	if ((t.p = malloc(t.cap)) == NULL)
		t.oom = true;
	else
		http_metrics_write(h, &t);
	http_leave(h);
	if (t.oom)
		http_reply_text(aio, 500, "out of memory\n");
	else
		http_reply(aio, 200, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len);
	free(t.p);
}

/* --- life cycle ---------------------------------------------------------------------- */

dobj_err
dobj__http_url_check(const char *url, char *err, size_t errlen)
{
	nng_url *u = NULL;
	const char *why = NULL;

	if (url == NULL || nng_url_parse(&u, url) != 0)
		why = "expected http://HOST:PORT";
	else if (strcmp(u->u_scheme, "http") != 0)
		why = "the scheme must be http://";
	else if ((u->u_userinfo != NULL && u->u_userinfo[0] != '\0') ||
	         (u->u_query != NULL && u->u_query[0] != '\0') ||
	         (u->u_fragment != NULL && u->u_fragment[0] != '\0') ||
	         (u->u_path != NULL && u->u_path[0] != '\0' && strcmp(u->u_path, "/") != 0))
		why = "give only http://HOST:PORT, without a path";
	if (u != NULL)
		nng_url_free(u);
	if (why == NULL)
		return DOBJ_OK;
	snprintf(err, errlen, "invalid HTTP listen URL \"%s\": %s", url ? url : "", why);
	return DOBJ_INVALID_ARGUMENT;
}

dobj_err
dobj__http_open(dobj__http **out, const char *url, const char *database_url,
                const dobj__http_ops *ops, void *arg, char *err, size_t errlen)
{
	struct timespec ts;
	dobj__http *h;
	dobj_err rc;

	*out = NULL;
	if ((rc = dobj__http_url_check(url, err, errlen)) != DOBJ_OK)
		return rc;
	if ((h = calloc(1, sizeof(*h))) == NULL || (h->url = strdup(url)) == NULL ||
	    dobj__pgping_open(&h->ping, database_url) != DOBJ_OK) {
		if (h != NULL)
			free(h->url);
		free(h);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->refs = 1;
	h->ops = ops;
	h->arg = arg;
	h->start_mono_ms = http_mono_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	h->start_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	*out = h;
	return DOBJ_OK;
}

/* http_add registers one GET handler that holds a reference to h. */
static int
http_add(dobj__http *h, const char *path, void (*cb)(nng_aio *))
{
	nng_http_handler *hd;
	int rv;

	if ((rv = nng_http_handler_alloc(&hd, path, cb)) != 0)
		return rv;
	pthread_mutex_lock(&h->mu);
	h->refs++;
	pthread_mutex_unlock(&h->mu);
	nng_http_handler_set_data(hd, h, http_handler_dtor);
	if ((rv = nng_http_handler_set_method(hd, "GET")) != 0 ||
	    (rv = nng_http_server_add_handler(h->srv, hd)) != 0) {
		nng_http_handler_free(hd); /* runs the dtor */
		return rv;
	}
	return 0;
}

dobj_err
dobj__http_start(dobj__http *h, char *err, size_t errlen)
{
	nng_url *u;
	int rv;

	if ((rv = nng_url_parse(&u, h->url)) != 0) {
		snprintf(err, errlen, "invalid HTTP listen URL \"%s\": %s", h->url,
		         nng_strerror(rv));
		return DOBJ_INVALID_ARGUMENT;
	}
	rv = nng_http_server_hold(&h->srv, u);
	nng_url_free(u);
	if (rv != 0) {
		snprintf(err, errlen, "could not serve HTTP on %s: %s", h->url, nng_strerror(rv));
		return DOBJ_UNAVAILABLE;
	}
	pthread_mutex_lock(&h->mu);
	h->serving = true;
	pthread_mutex_unlock(&h->mu);
	if ((rv = http_add(h, "/healthz", http_healthz)) != 0 ||
	    (rv = http_add(h, "/readyz", http_readyz)) != 0 ||
	    (rv = http_add(h, "/metrics", http_metrics)) != 0) {
		snprintf(err, errlen, "could not serve HTTP on %s: %s", h->url, nng_strerror(rv));
		dobj__http_stop(h);
		return DOBJ_UNAVAILABLE;
	}
	if ((rv = pthread_create(&h->checker, NULL, http_checker, h)) != 0) {
		snprintf(err, errlen, "could not start the readiness thread: %s", strerror(rv));
		dobj__http_stop(h);
		return DOBJ_UNAVAILABLE;
	}
	h->checker_running = true;
	if ((rv = nng_http_server_start(h->srv)) != 0) {
		snprintf(err, errlen, "could not serve HTTP on %s: %s", h->url, nng_strerror(rv));
		dobj__http_stop(h);
		return DOBJ_UNAVAILABLE;
	}
	dobj__log_info("serving /healthz, /readyz and /metrics on %s", h->url);
	return DOBJ_OK;
}

void
dobj__http_stop(dobj__http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->serving = false;
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->checker_running) {
		pthread_join(h->checker, NULL);
		h->checker_running = false;
	}
	pthread_mutex_lock(&h->mu);
	while (h->inflight > 0)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (h->srv != NULL) {
		nng_http_server_stop(h->srv);
		nng_http_server_release(h->srv);
		h->srv = NULL;
	}
}

void
dobj__http_close(dobj__http *h)
{
	if (h == NULL)
		return;
	dobj__http_stop(h);
	http_unref(h);
}
