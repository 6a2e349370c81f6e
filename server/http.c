// SPDX-License-Identifier: MIT
// http.c - the operator endpoint: /healthz, /readyz and /metrics over httpd.c's server. It
// owns the readiness cache and the thread that refreshes it (pgping.c does the query); the
// numbers come from the server through dobj__http_ops, never from its structs.
//
// Threads: httpd.c's thread runs the handlers and every ops call; the checker thread
// ("dobj-readyz") runs the readiness checks. A /readyz whose cached answer is older than
// HTTP_READY_CACHE_MS is parked in httpd.c; after its next check the checker wakes the server's
// thread, which answers every parked request from the new result, so that no thread that
// serves HTTP waits on PostgreSQL. Lock: h->mu only, never held while calling ops, httpd.c
// or PostgreSQL.

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>

#include <dobj/version.h>

#include "http.h"
#include "httpd.h"
#include "thread.h"
#include "log.h"
#include "pgping.h"

#define HTTP_READY_TIMEOUT_MS \
	2000                     /* one readiness check: connect and read the applied migrations */
#define HTTP_READY_CACHE_MS 1000 /* a check's answer is reused this long */
/* /readyz requests waiting for one check, at most: half the connections, so that waiting
 * readiness checks never take the slots of /healthz and /metrics. */
#define HTTP_PENDING_MAX (DOBJ__HTTPD_CONN_MAX / 2)
/* A parked /readyz is answered 503 if no check ended this long after it came: one check
 * under way and the next, with time to spare. Only a check stuck in name resolution, which
 * HTTP_READY_TIMEOUT_MS does not bound, gets there. */
#define HTTP_PARK_MS (2 * HTTP_READY_TIMEOUT_MS + 1000)
#define HTTP_REASON_MAX 256

struct dobj__http {
	char *url;
	const dobj__http_ops *ops;
	void *arg;
	dobj__pgping *ping; /* checker thread only */
	dobj__httpd *srv;   /* owner thread only; its own thread runs the handlers */
	pthread_t checker;
	bool checker_running; /* owner thread only */
	int64_t start_mono_ms;
	int64_t start_unix_ms;

	pthread_mutex_t mu; /* protects everything below */
	pthread_cond_t cv;  /* the checker waits on it for want_check or stopping */
	bool stopping;      /* the checker exits; /readyz answers 503 */
	bool want_check;    /* a /readyz is parked until the next check ends */
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

/* --- replies ------------------------------------------------------------------------- */

static void http_reply_text(dobj__httpd_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
http_reply_text(dobj__httpd_req *req, int status, const char *fmt, ...)
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
	dobj__httpd_reply(req, status, "text/plain; charset=utf-8", body, (size_t)n);
}

/* --- /readyz ------------------------------------------------------------------------- */

/* http_ready_answer answers one /readyz from a check's result. */
static void
http_ready_answer(dobj__http *h, dobj__httpd_req *req, bool pg_ok, const char *pg_reason)
{
	char buf[HTTP_REASON_MAX];
	const char *why = h->ops->not_ready(h->arg, buf, sizeof(buf));

	if (why != NULL)
		http_reply_text(req, 503, "not ready: %s\n", why);
	else if (!pg_ok)
		http_reply_text(req, 503, "not ready: %s\n", pg_reason);
	else
		http_reply_text(req, 200, "ok\n");
}

static void
http_readyz(dobj__http *h, dobj__httpd_req *req)
{
	bool full = dobj__httpd_parked(h->srv) >= HTTP_PENDING_MAX, park = false, ok = false;
	char reason[HTTP_REASON_MAX];
	const char *why;

	if ((why = h->ops->not_ready(h->arg, reason, sizeof(reason))) != NULL) {
		http_reply_text(req, 503, "not ready: %s\n", why);
		return;
	}
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		snprintf(reason, sizeof(reason), "server is stopping");
	} else if (h->checked_ms != 0 && http_mono_ms() - h->checked_ms < HTTP_READY_CACHE_MS) {
		ok = h->pg_ok;
		snprintf(reason, sizeof(reason), "%s", h->pg_reason);
	} else if (full) {
		snprintf(reason, sizeof(reason), "too many readiness checks waiting");
	} else {
		park = true;
		h->want_check = true;
		pthread_cond_signal(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	/* The checker's wake is read by this thread only after this returns: parked now, the
	 * request is answered from the next check (http_resume). */
	if (park)
		dobj__httpd_park(req, HTTP_PARK_MS);
	else
		http_ready_answer(h, req, ok, reason);
}

/* http_resume answers a parked /readyz: a check ended, the server stops, or it waited too
 * long. */
static void
http_resume(void *arg, dobj__httpd_req *req, bool timed_out)
{
	dobj__http *h = arg;
	char reason[HTTP_REASON_MAX];
	bool ok;

	pthread_mutex_lock(&h->mu);
	ok = h->pg_ok && !h->stopping && !timed_out;
	if (h->stopping)
		snprintf(reason, sizeof(reason), "server is stopping");
	else if (timed_out)
		snprintf(reason, sizeof(reason), "no readiness check ended within %d ms",
		         HTTP_PARK_MS);
	else
		snprintf(reason, sizeof(reason), "%s", h->pg_reason);
	pthread_mutex_unlock(&h->mu);
	http_ready_answer(h, req, ok, reason);
}

/* http_checker runs readiness checks while /readyz requests wait for one. */
static void *
http_checker(void *arg)
{
	dobj__http *h = arg;
	char reason[HTTP_REASON_MAX];
	bool ok;

	dobj__thread_name("dobj-readyz");
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stopping && !h->want_check)
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
		/* Every request parked so far is resumed by this wake; one parked later finds
		 * the fresh answer, or asks for another check. */
		h->want_check = false;
		pthread_mutex_unlock(&h->mu);
		dobj__httpd_wake(h->srv);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* --- /metrics ------------------------------------------------------------------------ */

static void
http_metrics_write(dobj__http *h, dobj__text *t)
{
	dobj__httpd_stats hc;
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
	dobj__metric_u64(t, "dobj_shards", "gauge", "Shard threads.", nshards);
	dobj__metric_u64(t, "dobj_live_objects", "gauge",
	                 "Objects held in memory, over all shards.", sum.live_objects);
	dobj__metric_head(t, "dobj_shard_queue_depth", "gauge",
	                  "Calls queued for a shard, not yet run.");
	for (unsigned i = 0; i < nshards; i++)
		dobj__text_printf(t, "dobj_shard_queue_depth{shard=\"%u\"} %zu\n", i,
		                  st[i].queue_depth);
	dobj__metric_u64(t, "dobj_turns_total", "counter",
	                 "Turns run: calls that reached an object.", sum.turns);
	dobj__metric_u64(t, "dobj_commits_total", "counter",
	                 "Group commits: PostgreSQL transactions that ended a batch of turns.",
	                 cs.commits);
	dobj__metric_u64(t, "dobj_commit_failures_total", "counter",
	                 "Group commits that failed; their calls were answered UNAVAILABLE.",
	                 cs.commit_failures);
	dobj__metric_u64(
	    t, "dobj_commit_retries_total", "counter",
	    "Group commits PostgreSQL skipped because the one ahead failed, sent again.",
	    cs.commit_retries);
	dobj__metric_u64(
	    t, "dobj_commit_splits_total", "counter",
	    "Group commits of several batches PostgreSQL refused, whose batches were sent "
	    "again one per transaction, so that only the failing one fails.",
	    cs.commit_splits);
	dobj__metric_u64(
	    t, "dobj_commit_fenced", "gauge",
	    "1 while a commit's outcome is unknown and the backend that ran it may still "
	    "commit: writes and the objects it wrote wait.",
	    cs.fenced);
	dobj__metric_u64(
	    t, "dobj_writer_lock_held", "gauge",
	    "1 while this dobjd's commit connection holds the writer lock of the database; "
	    "0 on a standby waiting for it, or while the lock is being taken again.",
	    cs.writer_held);
	dobj__metric_u64(
	    t, "dobj_writer_epoch", "gauge",
	    "The writer epoch this dobjd set when it last took the writer lock; 0 before.",
	    (uint64_t)cs.writer_epoch);
	dobj__metric_seconds(t, "dobj_commit_waiting_seconds",
	                     "How long the group commit in flight has waited for PostgreSQL; 0 "
	                     "when none is. A commit that does not end holds its calls' replies "
	                     "and every commit behind it.",
	                     cs.waiting_us / 1000);
	dobj__metric_head(t, "dobj_commit_busy_seconds_total", "counter",
	                  "Time with a group commit on the commit connection. Its rate near 1 "
	                  "means the durable path is saturated: a faster fsync or more turns a "
	                  "commit, not more calls, raise durable throughput.");
	dobj__text_printf(t, "dobj_commit_busy_seconds_total %llu.%06llu\n",
	                  (unsigned long long)(cs.busy_us / 1000000),
	                  (unsigned long long)(cs.busy_us % 1000000));
	dobj__metric_head(t, "dobj_commit_turns", "histogram",
	                  "Turns with writes made durable by one group commit.");
	dobj__hist_write(t, "dobj_commit_turns", "", DOBJ_HIST_SIZE, &cs.commit_turns);
	dobj__metric_head(t, "dobj_commit_duration_seconds", "histogram",
	                  "Time from sending one group commit to its outcome; one sent behind "
	                  "another also waits for that one's COMMIT.");
	dobj__hist_write(t, "dobj_commit_duration_seconds", "", DOBJ_HIST_SECONDS,
	                 &cs.commit_seconds);
	dobj__metric_u64(
	    t, "dobj_pg_errors_total", "counter",
	    "Failed PostgreSQL statements, commits and connection attempts of the shards "
	    "and the commit thread.",
	    sum.pg_errors);
	dobj__metric_u64(
	    t, "dobj_pg_reconnects_total", "counter",
	    "Connections of the shards and the commit thread to PostgreSQL re-established "
	    "after a failure.",
	    sum.pg_reconnects);
	free(st);
	dobj__httpd_get_stats(h->srv, &hc); /* this runs on the HTTP thread */
	dobj__metric_u64(
	    t, "dobj_http_evicted_total", "counter",
	    "Idle HTTP connections closed to make room for a new one at the connection cap.",
	    hc.evicted);
	dobj__metric_u64(
	    t, "dobj_http_refused_total", "counter",
	    "HTTP connections refused at the connection cap, every connection being busy.",
	    hc.refused);
	if (h->ops->call_metrics != NULL)
		h->ops->call_metrics(h->arg, t);
	if (h->ops->alarm_stats != NULL) {
		dobj__poller_stats a;
		h->ops->alarm_stats(h->arg, &a);
		dobj__metric_u64(t, "dobj_alarms_fired_total", "counter",
		                 "Alarm turns committed (each deleted its alarm).", a.fired);
		dobj__metric_u64(t, "dobj_alarms_retried_total", "counter",
		                 "Failed alarm runs rescheduled with backoff.", a.retried);
		dobj__metric_u64(t, "dobj_alarms_parked_total", "counter",
		                 "Alarms parked after their last retry (see dobj_alarms.parked).",
		                 a.parked);
		dobj__metric_seconds(t, "dobj_alarm_lag_seconds",
		                     "How late the last alarm turn started, after its due time.",
		                     a.last_lag_ms);
	}
}

static void
http_metrics(dobj__http *h, dobj__httpd_req *req)
{
	dobj__text t = {.cap = 4096};

	if ((t.p = malloc(t.cap)) == NULL)
		t.oom = true;
	else
		http_metrics_write(h, &t);
	if (t.oom)
		http_reply_text(req, 500, "out of memory\n");
	else
		dobj__httpd_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", t.p, t.len);
	free(t.p);
}

/* http_serve routes a request by its path; httpd.c answered any other method already. */
static void
http_serve(void *arg, dobj__httpd_req *req)
{
	dobj__http *h = arg;
	const char *path = dobj__httpd_req_path(req);

	if (strcmp(path, "/healthz") == 0)
		http_reply_text(req, 200, "ok\n");
	else if (strcmp(path, "/readyz") == 0)
		http_readyz(h, req);
	else if (strcmp(path, "/metrics") == 0)
		http_metrics(h, req);
	else
		http_reply_text(req, 404, "not found\n");
}

static const dobj__httpd_ops http_httpd_ops = {
    .serve = http_serve,
    .resume = http_resume,
};

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
	h->ops = ops;
	h->arg = arg;
	h->start_mono_ms = http_mono_ms();
	clock_gettime(CLOCK_REALTIME, &ts);
	h->start_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	*out = h;
	return DOBJ_OK;
}

dobj_err
dobj__http_start(dobj__http *h, char *err, size_t errlen)
{
	char cause[256];
	bool any_port;
	nng_url *u;
	dobj_err rc;
	int rv;

	if ((rv = nng_url_parse(&u, h->url)) != 0) {
		snprintf(err, errlen, "invalid HTTP listen URL \"%s\": %s", h->url,
		         nng_strerror(rv));
		return DOBJ_INVALID_ARGUMENT;
	}
	any_port = strcmp(u->u_port, "0") == 0;
	rc = dobj__httpd_open(&h->srv, u->u_hostname, u->u_port, &http_httpd_ops, h, cause,
	                      sizeof(cause));
	nng_url_free(u);
	if (rc != DOBJ_OK) {
		snprintf(err, errlen, "could not serve HTTP on %s: %s", h->url, cause);
		return rc;
	}
	if ((rv = pthread_create(&h->checker, NULL, http_checker, h)) != 0) {
		snprintf(err, errlen, "could not start the readiness thread: %s", strerror(rv));
		return DOBJ_UNAVAILABLE;
	}
	h->checker_running = true;
	if ((rc = dobj__httpd_start(h->srv, cause, sizeof(cause))) != DOBJ_OK) {
		snprintf(err, errlen, "could not serve HTTP on %s: %s", h->url, cause);
		dobj__http_stop(h);
		return rc;
	}
	if (any_port)
		dobj__log_info("serving /healthz, /readyz and /metrics on %s, port %d", h->url,
		               dobj__httpd_port(h->srv));
	else
		dobj__log_info("serving /healthz, /readyz and /metrics on %s", h->url);
	return DOBJ_OK;
}

void
dobj__http_stop(dobj__http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	/* Its thread answers the parked /readyz requests "server is stopping". */
	dobj__httpd_stop(h->srv);
	if (h->checker_running) {
		pthread_join(h->checker, NULL);
		h->checker_running = false;
	}
}

void
dobj__http_close(dobj__http *h)
{
	if (h == NULL)
		return;
	dobj__http_stop(h);
	dobj__httpd_close(h->srv);
	dobj__pgping_close(h->ping);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->url);
	free(h);
}
