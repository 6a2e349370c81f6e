// SPDX-License-Identifier: MIT
// server.c - a dobj server's life cycle: options and defaults, the schema check, shards and
// listener started in order, and the graceful drain that stops them. Serving itself happens
// in shard.c and listener.c. The server's methods run on the thread that owns the server;
// only `draining` (an atomic) is read by other threads (the HTTP endpoint's).

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <dobj/server.h>

#include "clock.h"
#include "echo.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "pgstore.h"
#include "poller.h"
#include "registry.h"
#include "committer.h"
#include "server_int.h"
#include "shard.h"
#include "tls.h" /* sdk/src's */

struct dobj_server {
	dobj_server_opts opts;
	char *listen_url;
	char *database_url;
	dobj__shard_cfg cfg;
	dobj__registry reg;
	dobj__shard **shards;
	unsigned nshards;
	dobj__committer *committer;
	dobj__listener *listener;
	nng_tls_config *tls; /* for a tls+tcp:// listen URL, else NULL */
	dobj__http *http;    /* NULL when --http-listen is "" */
	dobj__poller *poller;
	dobj__poller_cfg alarm_cfg;
	dobj__call_stats *calls; /* made at start, when the classes are known */
	dobj__inflight inflight; /* the listener's memory budget for requests */
	int drain_timeout_ms;
	dobj_err drain_rc; /* the first drain's outcome, for later calls */
	char drain_msg[256];
	bool wedged;       /* a shard thread outlived the drain: nothing may be freed */
	char node_id[128]; /* hostname:pid:random, this server's name in alarm leases */
	atomic_bool draining;
	bool started, stopped;
	/* the writer lock (writer.h): taken before anything serves */
	bool writer_held, writer_said, http_started; /* owner thread */
	atomic_bool serving;                         /* the listener is started */
	atomic_bool lost;                            /* the commit thread lost the lock */
	pthread_mutex_t reason_mu;                   /* protects wait_reason */
	char wait_reason[320];                       /* why it does not serve yet; "": starting */
};

static void
set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* check_schema refuses a database whose schema this build does not match. */
static dobj_err
check_schema(const char *dsn, char *err, size_t errlen)
{
	PGconn *conn = dobj__pg_connect(dsn);
	char msg[512];
	dobj_err rc;

	if (PQstatus(conn) != CONNECTION_OK) {
		snprintf(msg, sizeof(msg), "could not connect to PostgreSQL: %s",
		         PQerrorMessage(conn));
		dobj__chomp(msg);
		PQfinish(conn);
		set_err(err, errlen, msg);
		return DOBJ_UNAVAILABLE;
	}
	rc = dobj__migrate_check(conn, msg, sizeof(msg));
	PQfinish(conn);
	if (rc != DOBJ_OK)
		set_err(err, errlen, msg);
	return rc;
}

static bool
opt_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* server_tls checks the TLS options against the listen URL and, for tls+tcp://, reads the
 * certificate, key and client CA into s->tls. */
static dobj_err
server_tls(dobj_server *s, const dobj_server_opts *o, char *err, size_t errlen)
{
	dobj__tls_files f = {
	    .ca_file = opt_set(o->tls_client_ca_file) ? o->tls_client_ca_file : NULL,
	    .cert_file = o->tls_cert_file,
	    .key_file = o->tls_key_file,
	    .ca_what = "--tls-client-ca",
	    .cert_what = "--tls-cert",
	    .key_what = "--tls-key",
	};
	char msg[512];

	if (!dobj__tls_url(s->listen_url)) {
		if (opt_set(o->tls_cert_file) || opt_set(o->tls_key_file) || f.ca_file != NULL) {
			snprintf(
			    msg, sizeof(msg),
			    "--tls-cert, --tls-key and --tls-client-ca need a tls+tcp:// listen "
			    "URL; %s is not one",
			    s->listen_url);
			set_err(err, errlen, msg);
			return DOBJ_INVALID_ARGUMENT;
		}
		return DOBJ_OK;
	}
	if (!opt_set(o->tls_cert_file)) {
		snprintf(
		    msg, sizeof(msg),
		    "listening on %s needs a certificate and its key: give --tls-cert FILE and "
		    "--tls-key FILE (DOBJ_TLS_CERT, DOBJ_TLS_KEY; the key may be in the "
		    "certificate's file)",
		    s->listen_url);
		set_err(err, errlen, msg);
		return DOBJ_INVALID_ARGUMENT;
	}
	return dobj__tls_config(&s->tls, NNG_TLS_MODE_SERVER, &f, err, errlen);
}

/* The operator endpoint's view of the server (http.h). */
static unsigned
server_shard_count(void *arg)
{
	return ((dobj_server *)arg)->nshards;
}

static void
server_shard_stats(void *arg, unsigned i, dobj__shard_stats *out)
{
	dobj__shard_stats_get(((dobj_server *)arg)->shards[i], out);
}

static void
server_commit_stats(void *arg, dobj__committer_stats *out)
{
	dobj__committer_stats_get(((dobj_server *)arg)->committer, out);
}

static const char *
server_not_ready(void *arg, char *buf, size_t len)
{
	dobj_server *s = arg;

	if (atomic_load(&s->draining))
		return "server is stopping";
	if (atomic_load(&s->lost))
		return "this dobjd lost the writer lock of this database and is exiting";
	if (atomic_load(&s->serving))
		return NULL;
	pthread_mutex_lock(&s->reason_mu);
	snprintf(buf, len, "%s", s->wait_reason[0] ? s->wait_reason : "server is starting");
	pthread_mutex_unlock(&s->reason_mu);
	return buf;
}

/* server_lost runs on the commit thread when the writer lock turns out to be lost. */
static void
server_lost(void *arg)
{
	atomic_store(&((dobj_server *)arg)->lost, true);
}

static void
server_alarm_stats(void *arg, dobj__poller_stats *out)
{
	dobj__poller_stats_get(((dobj_server *)arg)->poller, out);
}

static void
server_call_metrics(void *arg, dobj__text *t)
{
	dobj_server *s = arg;

	if (s->calls != NULL)
		dobj__call_stats_write(s->calls, t);
	dobj__metric_u64(t, "dobj_request_bytes_in_flight", "gauge",
	                 "Bytes on the wire of the requests received and not yet answered, and "
	                 "of the replies being sent.",
	                 atomic_load(&s->inflight.bytes));
	dobj__metric_u64(t, "dobj_request_bytes_in_flight_max", "gauge",
	                 "The limit of dobj_request_bytes_in_flight (--inflight-bytes-max).",
	                 s->inflight.max);
	dobj__metric_u64(t, "dobj_requests_over_budget_total", "counter",
	                 "Requests answered RESOURCE_EXHAUSTED unread because they would have "
	                 "taken dobj_request_bytes_in_flight past its limit.",
	                 atomic_load(&s->inflight.refused));
}

static const dobj__http_ops server_http_ops = {
    .shard_count = server_shard_count,
    .shard_stats = server_shard_stats,
    .commit_stats = server_commit_stats,
    .not_ready = server_not_ready,
    .alarm_stats = server_alarm_stats,
    .call_metrics = server_call_metrics,
};

/* make_node_id names this server process uniquely among the replicas of one database. */
static void
make_node_id(char *buf, size_t len)
{
	char host[64] = "localhost";
	dobj_id r;
	char hex[DOBJ_ID_HEX_SIZE];

	gethostname(host, sizeof(host) - 1);
	dobj_id_unique(&r);
	dobj_id_to_string(&r, hex);
	snprintf(buf, len, "%.64s:%ld:%.12s", host, (long)getpid(), hex);
}

dobj_err
dobj_server_open(dobj_server **out, const dobj_server_opts *opts, char *err, size_t errlen)
{
	dobj_server *s;
	char msg[512];
	dobj_err rc;
	long ncpu;

	*out = NULL;
	if (opts == NULL || opts->database_url == NULL || opts->database_url[0] == '\0') {
		set_err(err, errlen, "no database URL: give --database-url or DOBJ_DATABASE_URL");
		return DOBJ_INVALID_ARGUMENT;
	}
	if (opts->limits.key_max > DOBJ_KEY_MAX_LIMIT) {
		snprintf(msg, sizeof(msg),
		         "key limit of %zu bytes is over the %d bytes PostgreSQL's index can hold",
		         opts->limits.key_max, DOBJ_KEY_MAX_LIMIT);
		set_err(err, errlen, msg);
		return DOBJ_INVALID_ARGUMENT;
	}
	if (opts->inflight_bytes_max != 0 && opts->inflight_bytes_max < DOBJ_REQUEST_MAX_BYTES) {
		snprintf(
		    msg, sizeof(msg),
		    "a budget of %zu bytes for requests in flight is below the largest request, "
		    "%u bytes",
		    opts->inflight_bytes_max, DOBJ_REQUEST_MAX_BYTES);
		set_err(err, errlen, msg);
		return DOBJ_INVALID_ARGUMENT;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		set_err(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	pthread_mutex_init(&s->reason_mu, NULL);
	dobj__log_hide_dsn(opts->database_url); /* before any message can carry it */
	s->opts = *opts;
	s->drain_timeout_ms = opts->drain_timeout_ms > 0 ? opts->drain_timeout_ms : 25000;
	s->inflight.max =
	    opts->inflight_bytes_max ? opts->inflight_bytes_max : DOBJ_DEFAULT_INFLIGHT_BYTES_MAX;
	s->listen_url = strdup(opts->listen_url ? opts->listen_url : "tcp://127.0.0.1:7700");
	s->database_url = strdup(opts->database_url);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	s->nshards = opts->shards ? opts->shards : (unsigned)(ncpu > 0 ? ncpu : 1);
	s->cfg.database_url = s->database_url;
	s->cfg.limits.key_max = opts->limits.key_max ? opts->limits.key_max : DOBJ_DEFAULT_KEY_MAX;
	s->cfg.limits.value_max =
	    opts->limits.value_max ? opts->limits.value_max : DOBJ_DEFAULT_VALUE_MAX;
	s->cfg.limits.many_max =
	    opts->limits.many_max ? opts->limits.many_max : DOBJ_DEFAULT_MANY_MAX;
	s->cfg.cache_objects = (opts->cache_objects ? opts->cache_objects : 100000) / s->nshards;
	if (s->cfg.cache_objects == 0)
		s->cfg.cache_objects = 1;
	s->cfg.idle_timeout_ms = opts->idle_timeout_ms ? opts->idle_timeout_ms : 300000;
	s->cfg.load_all_max_keys = opts->load_all_max_keys ? opts->load_all_max_keys : 1000;
	s->cfg.max_batch = opts->max_batch ? opts->max_batch : 512;
	if (opts->clock_offset_ms != 0)
		dobj__clock_advance(opts->clock_offset_ms);
	make_node_id(s->node_id, sizeof(s->node_id));
	s->alarm_cfg.first_retry_ms = opts->alarm_retry_ms > 0 ? opts->alarm_retry_ms : 2000;
	s->alarm_cfg.max_retries = opts->alarm_max_retries < 0   ? 0
	                           : opts->alarm_max_retries > 0 ? opts->alarm_max_retries
	                                                         : 6;
	if (s->listen_url == NULL || s->database_url == NULL ||
	    (s->shards = calloc(s->nshards, sizeof(*s->shards))) == NULL) {
		dobj_server_close(s);
		set_err(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	if ((rc = server_tls(s, opts, err, errlen)) != DOBJ_OK) {
		dobj_server_close(s);
		return rc;
	}
	if (opts->http_listen_url == NULL || opts->http_listen_url[0] != '\0') {
		rc = dobj__http_open(&s->http,
		                     opts->http_listen_url ? opts->http_listen_url
		                                           : "http://127.0.0.1:9700",
		                     s->database_url, &server_http_ops, s, err, errlen);
		if (rc != DOBJ_OK) {
			dobj_server_close(s);
			return rc;
		}
	}
	if ((rc = check_schema(s->database_url, err, errlen)) != DOBJ_OK) {
		dobj_server_close(s);
		return rc;
	}
	if ((rc = dobj__committer_open(&s->committer, s->database_url, s->node_id, s->nshards, msg,
	                               sizeof(msg))) != DOBJ_OK) {
		set_err(err, errlen, msg);
		dobj_server_close(s);
		return rc;
	}
	dobj__committer_on_lost(s->committer, server_lost, s);
	s->cfg.committer = s->committer;
	for (unsigned i = 0; i < s->nshards; i++) {
		if ((rc = dobj__shard_open(&s->shards[i], i, &s->cfg, msg, sizeof(msg))) !=
		    DOBJ_OK) {
			set_err(err, errlen, msg);
			dobj_server_close(s);
			return rc;
		}
	}
	/* dobj.Echo: the no-op class that measures transport and dispatch (dobj-bench echo). */
	if ((rc = dobj__registry_add(&s->reg, dobj__echo_class())) != DOBJ_OK) {
		set_err(err, errlen, "could not register the built-in class dobj.Echo");
		dobj_server_close(s);
		return rc;
	}
	*out = s;
	return DOBJ_OK;
}

dobj_err
dobj_server_register(dobj_server *s, const dobj_class *cls)
{
	if (s->started)
		return DOBJ_FAILED_PRECONDITION;
	return dobj__registry_add(&s->reg, cls);
}

dobj_err
dobj__server_take_writer(dobj_server *s, bool *wait, char *msg, size_t msglen)
{
	char why[400];
	dobj__committer_stats st;
	dobj__writer_rc wrc;
	dobj_err rc;

	*wait = false;
	if (s->writer_held)
		return DOBJ_OK;
	if (s->started) {
		snprintf(msg, msglen, "server already started");
		return DOBJ_FAILED_PRECONDITION;
	}
	/* the operator endpoint answers while this server waits: live, not ready, and why */
	if (s->http != NULL && !s->http_started) {
		if ((rc = dobj__http_start(s->http, msg, msglen)) != DOBJ_OK)
			return rc;
		s->http_started = true;
	}
	wrc = dobj__committer_take_writer(s->committer, why, sizeof(why));
	if (wrc == DOBJ__WRITER_HELD) {
		s->writer_held = true;
		pthread_mutex_lock(&s->reason_mu);
		s->wait_reason[0] = '\0';
		pthread_mutex_unlock(&s->reason_mu);
		dobj__committer_stats_get(s->committer, &st);
		dobj__log_info("took the writer lock of this database (writer epoch %lld)%s",
		               (long long)st.writer_epoch,
		               s->writer_said ? "; the standby serves now" : "");
		return DOBJ_OK;
	}
	snprintf(msg, msglen, "waiting for the writer lock of this database%s%s",
	         wrc == DOBJ__WRITER_BUSY ? ", " : ": ", why);
	pthread_mutex_lock(&s->reason_mu);
	snprintf(s->wait_reason, sizeof(s->wait_reason), "%s", msg);
	dobj__log_redact(s->wait_reason, sizeof(s->wait_reason)); /* /readyz serves it */
	pthread_mutex_unlock(&s->reason_mu);
	/* another dobjd serves this database: this one stands by, without serving */
	dobj__log(s->writer_said ? DOBJ_LOG_DEBUG : DOBJ_LOG_WARN,
	          "%s; standing by (trying again every second) so that one dobjd alone writes "
	          "the database",
	          msg);
	s->writer_said = true;
	*wait = true;
	return DOBJ_UNAVAILABLE;
}

bool
dobj__server_lost(dobj_server *s, char *msg, size_t msglen)
{
	return atomic_load(&s->lost) && dobj__committer_lost(s->committer, msg, msglen);
}

dobj_err
dobj_server_start(dobj_server *s, char *err, size_t errlen)
{
	char msg[512];
	dobj_err rc;
	bool wait;

	if (s->started) {
		set_err(err, errlen, "server already started");
		return DOBJ_FAILED_PRECONDITION;
	}
	/* Before anything serves: one dobjd alone writes a database (writer.h). */
	while ((rc = dobj__server_take_writer(s, &wait, msg, sizeof(msg))) != DOBJ_OK) {
		struct timespec ts = {1, 0};

		if (!wait) {
			set_err(err, errlen, msg);
			return rc;
		}
		nanosleep(&ts, NULL);
	}
	if ((rc = dobj__call_stats_open(&s->calls, &s->reg)) != DOBJ_OK) {
		set_err(err, errlen, "out of memory");
		return rc;
	}
	rc = dobj__listener_open(&s->listener, &s->reg, s->shards, s->nshards, s->calls,
	                         &s->inflight, s->opts.contexts ? s->opts.contexts : 1024, msg,
	                         sizeof(msg));
	if (rc != DOBJ_OK) {
		set_err(err, errlen, msg);
		return rc;
	}
	if ((rc = dobj__committer_start(s->committer)) != DOBJ_OK) {
		set_err(err, errlen, "could not start the commit thread");
		return rc;
	}
	for (unsigned i = 0; i < s->nshards; i++) {
		if ((rc = dobj__shard_start(s->shards[i])) != DOBJ_OK) {
			set_err(err, errlen, "could not start shard thread");
			return rc;
		}
	}
	s->started = true;
	rc = dobj__poller_open(&s->poller, s->database_url, s->node_id, &s->alarm_cfg, &s->reg,
	                       s->shards, s->nshards, msg, sizeof(msg));
	if (rc != DOBJ_OK || (rc = dobj__poller_start(s->poller)) != DOBJ_OK) {
		set_err(err, errlen, rc == DOBJ_OK ? "could not start the alarm poller" : msg);
		return rc;
	}
	if ((rc = dobj__listener_start(s->listener, s->listen_url, s->tls, msg, sizeof(msg))) !=
	    DOBJ_OK) {
		set_err(err, errlen, msg);
		return rc;
	}
	{
		char names[512] = "";
		size_t off = 0;
		for (size_t i = 0; i < s->reg.n && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			                        i ? ", " : "", s->reg.classes[i].cls->name);
		dobj__log_info("listening on %s with %u shards; classes: %s", s->listen_url,
		               s->nshards, names);
	}
	atomic_store(&s->serving, true); /* /readyz: ready once PostgreSQL answers */
	return DOBJ_OK;
}

#define DRAIN_GRACE_MS 1000   /* past the timeout: refusing what is queued, sending replies */
#define COMMITTER_STOP_MS 500 /* the commit thread's least time to end, once all is reported */

/* drain_wedged ends a drain that left a thread behind (what: why): the server is left as it
 * is for the process to exit, and the drain fails with DOBJ_DEADLINE_EXCEEDED. */
static dobj_err
drain_wedged(dobj_server *s, const char *what, char *err, size_t errlen)
{
	s->wedged = true;
	s->drain_rc = DOBJ_DEADLINE_EXCEEDED;
	snprintf(s->drain_msg, sizeof(s->drain_msg), "drain timeout of %d ms passed %s",
	         s->drain_timeout_ms, what);
	set_err(err, errlen, s->drain_msg);
	return s->drain_rc;
}

dobj_err
dobj_server_drain(dobj_server *s, char *err, size_t errlen)
{
	int64_t t0 = dobj__clock_mono_ms(), deadline = t0 + s->drain_timeout_ms, least;
	uint64_t refused = 0;
	bool joined = true, poller_stopped, committer_stopped;

	if (s->stopped) {
		set_err(err, errlen, s->drain_msg);
		return s->drain_rc;
	}
	s->stopped = true;
	atomic_store(&s->draining, true); /* /readyz answers 503 from here on */
	if (s->listener != NULL)
		dobj__listener_drain(s->listener);
	for (unsigned i = 0; i < s->nshards; i++)
		if (s->shards[i] != NULL)
			dobj__shard_drain(s->shards[i], deadline);
	/* no new alarm turns; those under way finish below */
	poller_stopped = dobj__poller_stop(s->poller, deadline + DRAIN_GRACE_MS);
	for (unsigned i = 0; i < s->nshards; i++) {
		if (s->shards[i] != NULL &&
		    !dobj__shard_join(s->shards[i], deadline + DRAIN_GRACE_MS))
			joined = false;
	}
	if (!joined)
		return drain_wedged(s,
		                    "with a turn or a commit still running; its caller gets no "
		                    "reply",
		                    err, errlen);
	for (unsigned i = 0; i < s->nshards; i++) {
		dobj__shard_stats st;
		memset(&st, 0, sizeof(st));
		if (s->shards[i] != NULL) {
			dobj__shard_stats_get(s->shards[i], &st);
			refused += st.drain_refused;
		}
	}
	dobj__listener_close(s->listener, deadline + DRAIN_GRACE_MS);
	s->listener = NULL;
	dobj__http_stop(s->http); /* before the poller goes: /metrics reads its counters */
	/* The shards have heard about all their commits, so the commit thread has nothing left
	 * to write, but a fence check may still wait for PostgreSQL. It gets a moment of its own
	 * even when the grace is spent (on a stuck poller, say): an idle thread is not stuck. */
	least = dobj__clock_mono_ms() + COMMITTER_STOP_MS;
	committer_stopped = dobj__committer_stop(
	    s->committer, deadline + DRAIN_GRACE_MS > least ? deadline + DRAIN_GRACE_MS : least);
	/* every reply is out; a thread that still waits in a query keeps using the server:
	 * leave it all as it is, the process is about to exit */
	if (!poller_stopped)
		return drain_wedged(s, "with the alarm poller still waiting for PostgreSQL", err,
		                    errlen);
	dobj__poller_close(s->poller); /* records the last alarm turns' outcomes */
	s->poller = NULL;
	if (!committer_stopped)
		return drain_wedged(s, "with the commit thread still waiting for PostgreSQL", err,
		                    errlen);
	if (refused > 0) {
		s->drain_rc = DOBJ_DEADLINE_EXCEEDED;
		snprintf(s->drain_msg, sizeof(s->drain_msg),
		         "drain timeout of %d ms passed: %llu queued calls were answered "
		         "UNAVAILABLE without running",
		         s->drain_timeout_ms, (unsigned long long)refused);
	} else {
		s->drain_rc = DOBJ_OK;
		snprintf(s->drain_msg, sizeof(s->drain_msg), "drained in %lld ms",
		         (long long)(dobj__clock_mono_ms() - t0));
	}
	set_err(err, errlen, s->drain_msg);
	return s->drain_rc;
}

void
dobj_server_stop(dobj_server *s)
{
	if (s != NULL)
		dobj_server_drain(s, NULL, 0);
}

void
dobj_server_advance_clock(dobj_server *s, int64_t delta_ms)
{
	dobj__clock_advance(delta_ms);
	dobj__poller_wake(s->poller);
}

void
dobj_server_close(dobj_server *s)
{
	if (s == NULL)
		return;
	dobj_server_stop(s);
	if (s->wedged)
		return; /* a shard thread may still use all of it; the process is about to exit */
	for (unsigned i = 0; s->shards != NULL && i < s->nshards; i++)
		dobj__shard_close(s->shards[i]);
	dobj__committer_close(s->committer);
	dobj__http_close(s->http);
	free(s->shards);
	dobj__registry_fini(&s->reg);
	dobj__call_stats_close(s->calls);
	if (s->tls != NULL)
		nng_tls_config_free(s->tls);
	free(s->listen_url);
	free(s->database_url);
	pthread_mutex_destroy(&s->reason_mu);
	free(s);
}
