// SPDX-License-Identifier: MIT
// shard.c - a shard thread: the live-object map with its LRU, the turn loop, and the group
// commit that holds replies until their writes are durable (the output gate).
//
// Threads: the queue (qhead, qtail, qlen) and the stop state (stopping, drain_deadline_ms,
// exited) are shared with the listener's threads and the server under `mu`; everything else
// belongs to the shard thread alone, except the counters (atomics). No other lock is taken
// while `mu` is held.

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "log.h"
#include "object.h"
#include "objmap.h"
#include "pgstore.h"
#include "shard.h"

#define IDLE_WAIT_MS 1000

struct dobj__shard {
	unsigned index;
	const dobj__shard_cfg *cfg;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu; /* protects qhead, qtail, qlen, stopping, drain_deadline_ms, exited */
	pthread_cond_t cv;  /* the shard thread waits for calls or stopping */
	pthread_cond_t exit_cv; /* the server waits for exited */
	dobj__call *qhead, *qtail;
	size_t qlen;
	bool stopping;
	int64_t drain_deadline_ms; /* once stopping: calls not run by then are refused */
	bool exited;               /* the thread has answered everything and returns */

	/* shard thread only */
	dobj__pg *pg;
	dobj__objmap objs; /* the live objects */
	dobj__undo undo;
	/* the commit in flight: its calls (replies held) and the objects it writes (pinned) */
	dobj__call *fl_calls;
	dobj__object **fl_objs;
	size_t fl_nobjs, fl_cap;
	int64_t fl_t0;
	uint64_t fl_wrote;
	char taint[512];       /* the flight failed while a batch ran: fail that batch too */
	dobj__object **doomed; /* objects to drop after the current batch */
	size_t ndoomed, doomed_cap;

	/* counters, read by dobj__shard_stats_get from other threads */
	_Atomic uint64_t turns, commits, commit_failures, drain_refused;
	_Atomic size_t live;
	dobj__hist commit_turns, commit_seconds;
};

/* evict_cold drops objects beyond the cache size and objects idle for too long; objects on
 * the batch being built or written by the commit in flight stay. */
static void
evict_cold(dobj__shard *s)
{
	dobj__objmap_evict_cold(&s->objs, s->cfg->cache_objects,
	                        dobj__clock_mono_ms() - s->cfg->idle_timeout_ms);
	atomic_store(&s->live, s->objs.n);
}

static void
map_evict(dobj__shard *s, dobj__object *o)
{
	dobj__objmap_evict(&s->objs, o);
	atomic_store(&s->live, s->objs.n);
}

/* activate returns the live object, loading it from PostgreSQL on first use. */
static dobj_err
activate(dobj__shard *s, dobj__call *c, dobj__object **out, char *err, size_t errlen)
{
	dobj__object *o = dobj__objmap_find(&s->objs, c->cls, &c->id);
	dobj_err rc;

	if (o != NULL) {
		dobj__objmap_touch(&s->objs, o);
		*out = o;
		return DOBJ_OK;
	}
	if ((rc = dobj__pg_ensure(s->pg, err, errlen)) != DOBJ_OK)
		return rc;
	if ((o = dobj__object_new(c->cls, &c->id)) == NULL) {
		snprintf(err, errlen, "out of memory activating object");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	if ((rc = dobj__pg_load(s->pg, o, s->cfg->load_all_max_keys, err, errlen)) != DOBJ_OK) {
		dobj__object_free(o);
		return rc;
	}
	if (dobj__objmap_insert(&s->objs, o) != 0) {
		dobj__object_free(o);
		snprintf(err, errlen, "out of memory activating object");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	atomic_store(&s->live, s->objs.n);
	*out = o;
	return DOBJ_OK;
}

/* prefetch activates, in one query, the objects of a batch that are not live yet (a cold
 * start, a burst of alarms): one round trip instead of one per object. What it cannot load
 * is left to each turn's own activation, which reports the error to its call. */
#define PREFETCH_MAX 256

static void
prefetch(dobj__shard *s, dobj__call *calls)
{
	dobj__object *objs[PREFETCH_MAX];
	char err[256];
	size_t n = 0;

	for (dobj__call *c = calls; c != NULL && n < PREFETCH_MAX; c = c->next) {
		bool dup = false;
		if (dobj__objmap_find(&s->objs, c->cls, &c->id) != NULL)
			continue;
		for (size_t i = 0; i < n && !dup; i++)
			dup = objs[i]->cls == c->cls && dobj_id_equal(&objs[i]->id, &c->id);
		if (!dup && (objs[n] = dobj__object_new(c->cls, &c->id)) != NULL)
			n++;
	}
	if (n >= 2 && dobj__pg_load_many(s->pg, objs, n, s->cfg->load_all_max_keys, err,
	                                 sizeof(err)) == DOBJ_OK) {
		for (size_t i = 0; i < n; i++) {
			objs[i]->last_used_ms = dobj__clock_mono_ms();
			if (dobj__objmap_insert(&s->objs, objs[i]) == 0)
				objs[i] = NULL;
		}
		atomic_store(&s->live, s->objs.n);
	}
	for (size_t i = 0; i < n; i++)
		dobj__object_free(objs[i]);
}

/* --- turns and the group commit --------------------------------------------------------- */

static void
batch_add(dobj__object *o, dobj__object **batch)
{
	if (!o->in_batch) {
		o->in_batch = true;
		o->batch_next = *batch;
		*batch = o;
	}
}

static void
ctx_init(dobj__shard *s, dobj_ctx *ctx, dobj__call *c, dobj__object *o, const char *what)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->obj = o;
	ctx->method = what;
	ctx->arena = &c->arena;
	ctx->undo = &s->undo;
	ctx->pg = s->pg;
	ctx->limits = &s->cfg->limits;
}

/* run_alarm runs the class's alarm entry for the alarm the poller claimed, unless the object
 * has replaced or deleted that alarm since. The alarm is cleared for the turn (the handler
 * may set a new one); the commit deletes the claimed row, fenced by its lease. */
static void
run_alarm(dobj__shard *s, dobj__call *c, dobj__object *o, dobj__object **batch)
{
	dobj_ctx ctx;
	char err[256];
	dobj_err rc;

	c->fired = false;
	if (!o->alarm_known && (rc = dobj__pg_fetch_alarm(s->pg, o, err, sizeof(err))) != DOBJ_OK) {
		dobj__call_answer(c, rc, err, NULL);
		return;
	}
	if (!o->has_alarm || o->alarm_ms != c->alarm_due_ms) {
		dobj__call_answer(c, DOBJ_OK, "superseded", NULL);
		return;
	}
	ctx_init(s, &ctx, c, o, "alarm");
	ctx.alarm = c;
	c->started_ms = dobj__clock_now_ms();
	if (dobj__object_set_alarm(o, &s->undo, false, 0, false) != 0) {
		dobj__call_answer(c, DOBJ_RESOURCE_EXHAUSTED, "out of memory", NULL);
		return;
	}
	if (c->cls->cls->alarm == NULL) {
		dobj__log_warn("class %s has no alarm entry: dropping its alarm",
		               c->cls->cls->name);
		rc = DOBJ_OK;
	} else {
		rc = c->cls->cls->alarm(&ctx);
	}
	atomic_fetch_add(&s->turns, 1);
	if (rc != DOBJ_OK) {
		if ((unsigned)rc >= DOBJ_ERR_COUNT)
			rc = DOBJ_UNKNOWN;
		dobj__undo_rollback(&s->undo, o, 0);
		o->alarm_known = false; /* the poller reschedules the row */
		dobj__call_answer(c, rc, ctx.errmsg[0] ? ctx.errmsg : dobj_err_str(rc), NULL);
		return;
	}
	dobj__call_answer(c, DOBJ_OK, "", NULL);
	dobj__undo_discard(&s->undo);
	c->fired = true;
	batch_add(o, batch);
}

/* run_turn runs c on its object and records its outcome; the object joins the batch if the
 * turn left writes to commit. */
static void
run_turn(dobj__shard *s, dobj__call *c, dobj__object **batch)
{
	dobj_ctx ctx;
	dobj_bytes result = {0};
	dobj__object *o;
	char err[512];
	dobj_err rc;

	c->obj = NULL;
	if (c->deadline_mono_ms != 0 && dobj__clock_mono_ms() >= c->deadline_mono_ms) {
		dobj__call_answer(c, DOBJ_DEADLINE_EXCEEDED,
		                  "deadline exceeded before the call ran; it was not executed",
		                  NULL);
		return;
	}
	if ((rc = activate(s, c, &o, err, sizeof(err))) != DOBJ_OK) {
		/* an outage is logged once by pgstore.c, not once per refused call */
		dobj__log(rc == DOBJ_UNAVAILABLE ? DOBJ_LOG_DEBUG : DOBJ_LOG_WARN,
		          "shard %u: could not activate %s: %s", s->index, c->cls->cls->name, err);
		dobj__call_answer(c, rc, err, NULL);
		return;
	}
	c->obj = o;
	o->last_used_ms = dobj__clock_mono_ms();
	if (c->kind == DOBJ_CALL_ALARM) {
		run_alarm(s, c, o, batch);
		return;
	}
	ctx_init(s, &ctx, c, o, c->method->name);

	rc = c->method->fn(&ctx, &c->arg, &result);
	atomic_fetch_add(&s->turns, 1);
	if (rc != DOBJ_OK) {
		if ((unsigned)rc >= DOBJ_ERR_COUNT)
			rc = DOBJ_UNKNOWN;
		dobj__undo_rollback(&s->undo, o, 0);
		dobj__call_answer(c, rc, ctx.errmsg[0] ? ctx.errmsg : dobj_err_str(rc), NULL);
		return;
	}
	if (result.len > 0 && result.data == NULL) {
		dobj__undo_rollback(&s->undo, o, 0);
		dobj__call_answer(c, DOBJ_INTERNAL,
		                  "handler returned a NULL result of non-zero length", NULL);
		return;
	}
	/* Copied now: the result may point at values that a later turn replaces. */
	dobj__call_answer(c, DOBJ_OK, "", &result);
	dobj__undo_discard(&s->undo);
	if (o->ndirty > 0)
		batch_add(o, batch);
}

/* The group commit, pipelined: the batch just run is sent to PostgreSQL, and while its COMMIT
 * is on its way the shard runs the next batch. Replies of a batch are held until its own
 * COMMIT is answered (the output gate). Because the next batch may have read what the flight
 * wrote, a failed flight fails the next batch too, and every object either touched is dropped
 * so that its next call reloads what PostgreSQL holds. One commit is in flight at most; any
 * other use of the connection first settles it (flight_settle). */

static void
doom(dobj__shard *s, dobj__object *o)
{
	if (o->doomed)
		return;
	if (s->ndoomed == s->doomed_cap) {
		size_t cap = s->doomed_cap ? s->doomed_cap * 2 : 64;
		dobj__object **p = realloc(s->doomed, cap * sizeof(*p));
		if (p == NULL) {
			/* cannot remember it: drop its cached state now as the next best thing */
			dobj__log_error("shard %u: out of memory; reloading an object early",
			                s->index);
			return;
		}
		s->doomed = p;
		s->doomed_cap = cap;
	}
	o->doomed = true;
	s->doomed[s->ndoomed++] = o;
}

/* evict_doomed drops the objects of failed commits once no batch refers to them. */
static void
evict_doomed(dobj__shard *s)
{
	for (size_t i = 0; i < s->ndoomed; i++)
		map_evict(s, s->doomed[i]);
	s->ndoomed = 0;
}

/* flight_finish waits for the commit in flight and releases its replies; on failure it
 * answers its calls with the error, dooms its objects and taints the batch being run. */
static void
flight_finish(dobj__shard *s)
{
	char err[512];
	dobj_err rc;

	if (s->fl_calls == NULL && !dobj__pg_commit_pending(s->pg))
		return;
	rc = dobj__pg_commit_wait(s->pg, err, sizeof(err));
	if (rc == DOBJ_OK) {
		atomic_fetch_add(&s->commits, 1);
		dobj__hist_observe(&s->commit_turns, DOBJ_HIST_SIZE, s->fl_wrote);
		dobj__hist_observe(&s->commit_seconds, DOBJ_HIST_SECONDS,
		                   (uint64_t)(dobj__clock_mono_us() - s->fl_t0));
	} else {
		atomic_fetch_add(&s->commit_failures, 1);
		dobj__log_error("shard %u: %s", s->index, err);
		snprintf(s->taint, sizeof(s->taint), "%s", err);
	}
	for (dobj__call *c = s->fl_calls, *cn; c != NULL; c = cn) {
		cn = c->next;
		if (rc != DOBJ_OK && c->in_commit)
			dobj__call_answer(c, DOBJ_UNAVAILABLE, err, NULL);
		c->done(c);
	}
	for (size_t i = 0; i < s->fl_nobjs; i++) {
		dobj__object *o = s->fl_objs[i];
		o->pinned = false;
		if (rc == DOBJ_OK)
			dobj__object_compact(o);
		else
			doom(s, o);
	}
	s->fl_calls = NULL;
	s->fl_nobjs = 0;
}

static void
flight_settle(void *arg)
{
	flight_finish(arg);
}

/* batch_doom takes the objects off the batch list and dooms them: their writes will not
 * commit. */
static void
batch_doom(dobj__shard *s, dobj__object *batch)
{
	for (dobj__object *o = batch, *next; o != NULL; o = next) {
		next = o->batch_next;
		o->batch_next = NULL;
		o->in_batch = false;
		doom(s, o);
	}
}

/* fail_batch answers every call of a batch with err and dooms the objects it touched. */
static void
fail_batch(dobj__shard *s, dobj__call *calls, dobj__object *batch, const char *err)
{
	for (dobj__call *c = calls, *cn; c != NULL; c = cn) {
		cn = c->next;
		dobj__call_answer(c, DOBJ_UNAVAILABLE, err, NULL);
		if (c->obj != NULL)
			doom(s, c->obj);
		c->done(c);
	}
	batch_doom(s, batch);
}

/* end_batch: the calls have run. Settle the flight, then send this batch's commit (its replies
 * wait for it), or answer at once when the batch wrote nothing. */
static void
end_batch(dobj__shard *s, dobj__call *calls, size_t ncalls, dobj__object *batch)
{
	char err[512], why[448];
	size_t nobjs = 0;
	uint64_t wrote = 0;
	dobj_err rc;

	flight_finish(s);
	if (s->taint[0] != '\0') {
		snprintf(err, sizeof(err), "an earlier commit this call depended on failed: %.440s",
		         s->taint);
		fail_batch(s, calls, batch, err);
		s->taint[0] = '\0';
		return;
	}
	if (batch == NULL) { /* nothing to write, and everything read is durable */
		for (dobj__call *c = calls, *cn; c != NULL; c = cn) {
			cn = c->next;
			c->done(c);
		}
		return;
	}
	for (dobj__call *c = calls; c != NULL; c = c->next) {
		c->in_commit = (c->obj != NULL && c->obj->in_batch) || c->fired;
		wrote += c->in_commit;
	}
	for (dobj__object *o = batch; o != NULL; o = o->batch_next)
		nobjs++;
	rc = dobj__pg_ensure(s->pg, why, sizeof(why));
	if (rc != DOBJ_OK) {
		/* pgstore.c logged the outage once; a line per refused batch would flood */
		snprintf(err, sizeof(err), "could not commit batch of %zu turns: %s", ncalls, why);
		dobj__log_debug("shard %u: %s", s->index, err);
	} else if (s->fl_cap < nobjs) {
		dobj__object **p = realloc(s->fl_objs, nobjs * sizeof(*p));
		if (p == NULL) {
			rc = DOBJ_RESOURCE_EXHAUSTED;
			snprintf(err, sizeof(err),
			         "could not commit batch of %zu turns: out of memory", ncalls);
		} else {
			s->fl_objs = p;
			s->fl_cap = nobjs;
		}
	}
	if (rc == DOBJ_OK) {
		s->fl_t0 = dobj__clock_mono_us();
		rc = dobj__pg_commit_send(s->pg, batch, calls, ncalls, s->cfg->node_id, err,
		                          sizeof(err));
		if (rc != DOBJ_OK)
			dobj__log_error("shard %u: %s", s->index, err);
	}
	if (rc != DOBJ_OK) {
		atomic_fetch_add(&s->commit_failures, 1);
		for (dobj__call *c = calls; c != NULL; c = c->next)
			if (c->in_commit)
				dobj__call_answer(c, DOBJ_UNAVAILABLE, err, NULL);
		for (dobj__call *c = calls, *cn; c != NULL; c = cn) {
			cn = c->next;
			c->done(c);
		}
		batch_doom(s, batch);
		return;
	}
	/* In flight: the objects' dirty state now belongs to the commit. */
	s->fl_calls = calls;
	s->fl_wrote = wrote;
	for (dobj__object *o = batch, *next; o != NULL; o = next) {
		next = o->batch_next;
		o->batch_next = NULL;
		o->in_batch = false;
		o->pinned = true;
		dobj__object_sent(o);
		s->fl_objs[s->fl_nobjs++] = o;
	}
}

/* cond_wait_ms waits on cv for at most ms (mu held). */
static void
cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
	struct timespec ts;

	if (ms < 1)
		ms = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cv, mu, &ts);
}

static void *
shard_main(void *arg)
{
	dobj__shard *s = arg;

	for (;;) {
		dobj__call *calls, *last, *c;
		dobj__object *batch = NULL;
		int64_t deadline = 0;
		size_t n = 0;

		pthread_mutex_lock(&s->mu);
		if (s->qhead == NULL && s->fl_calls != NULL) {
			/* nothing new to overlap with: finish the flight and answer now */
			pthread_mutex_unlock(&s->mu);
			flight_finish(s);
			s->taint[0] = '\0'; /* no batch ran on the flight's writes */
			evict_doomed(s);
			continue;
		}
		while (s->qhead == NULL && !s->stopping) {
			pthread_mutex_unlock(&s->mu);
			/* a reconnect under way wants a look sooner than the idle cleanup */
			int wait_ms = dobj__pg_tick(s->pg);
			pthread_mutex_lock(&s->mu);
			if (s->qhead != NULL || s->stopping)
				break;
			cond_wait_ms(&s->cv, &s->mu,
			             wait_ms < 0 || wait_ms > IDLE_WAIT_MS ? IDLE_WAIT_MS
			                                                   : wait_ms);
			if (s->qhead == NULL) {
				pthread_mutex_unlock(&s->mu);
				evict_cold(s);
				pthread_mutex_lock(&s->mu);
			}
		}
		if (s->qhead == NULL) { /* stopping, and nothing left */
			s->exited = true;
			pthread_cond_broadcast(&s->exit_cv);
			pthread_mutex_unlock(&s->mu);
			break;
		}
		if (s->stopping)
			deadline = s->drain_deadline_ms;
		calls = last = s->qhead;
		for (n = 1; n < s->cfg->max_batch && last->next != NULL; n++)
			last = last->next;
		s->qhead = last->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		s->qlen -= n;
		last->next = NULL;
		pthread_mutex_unlock(&s->mu);

		prefetch(s, calls);
		for (c = calls; c != NULL; c = c->next) {
			if (deadline != 0 && dobj__clock_mono_ms() >= deadline) {
				dobj__call_answer(
				    c, DOBJ_UNAVAILABLE,
				    "server is shutting down: its drain timeout passed "
				    "before the call ran; it was not executed",
				    NULL);
				c->obj = NULL;
				atomic_fetch_add(&s->drain_refused, 1);
				continue;
			}
			run_turn(s, c, &batch);
		}
		end_batch(s, calls, n, batch);
		evict_doomed(s);
		evict_cold(s);
	}
	return NULL;
}

/* --- life cycle ---------------------------------------------------------------------------- */

dobj_err
dobj__shard_open(dobj__shard **out, unsigned index, const dobj__shard_cfg *cfg, char *err,
                 size_t errlen)
{
	dobj__shard *s = calloc(1, sizeof(*s));
	char name[32];
	dobj_err rc;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	s->index = index;
	s->cfg = cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_cond_init(&s->exit_cv, NULL);
	snprintf(name, sizeof(name), "shard %u", index);
	if ((rc = dobj__pg_open(&s->pg, cfg->database_url, name, err, errlen)) != DOBJ_OK) {
		dobj__shard_close(s);
		return rc;
	}
	dobj__pg_set_settle(s->pg, flight_settle, s);
	*out = s;
	return DOBJ_OK;
}

dobj_err
dobj__shard_start(dobj__shard *s)
{
	if (pthread_create(&s->thread, NULL, shard_main, s) != 0)
		return DOBJ_RESOURCE_EXHAUSTED;
	s->started = true;
	return DOBJ_OK;
}

void
dobj__shard_submit(dobj__shard *s, dobj__call *c)
{
	bool refused;

	c->next = NULL;
	pthread_mutex_lock(&s->mu);
	refused = s->stopping;
	if (!refused) {
		if (s->qtail)
			s->qtail->next = c;
		else
			s->qhead = c;
		s->qtail = c;
		s->qlen++;
		pthread_cond_signal(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	if (refused) {
		dobj__call_answer(c, DOBJ_UNAVAILABLE, "server is shutting down", NULL);
		c->done(c);
	}
}

void
dobj__shard_drain(dobj__shard *s, int64_t deadline_mono_ms)
{
	pthread_mutex_lock(&s->mu);
	if (!s->stopping || (deadline_mono_ms != 0 && (s->drain_deadline_ms == 0 ||
	                                               deadline_mono_ms < s->drain_deadline_ms)))
		s->drain_deadline_ms = deadline_mono_ms;
	s->stopping = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

bool
dobj__shard_join(dobj__shard *s, int64_t until_mono_ms)
{
	bool exited;

	if (!s->started)
		return true;
	pthread_mutex_lock(&s->mu);
	while (!s->exited && (until_mono_ms == 0 || dobj__clock_mono_ms() < until_mono_ms))
		cond_wait_ms(&s->exit_cv, &s->mu,
		             until_mono_ms == 0 ? IDLE_WAIT_MS
		                                : (int)(until_mono_ms - dobj__clock_mono_ms()));
	exited = s->exited;
	pthread_mutex_unlock(&s->mu);
	if (exited) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	return exited;
}

void
dobj__shard_stop(dobj__shard *s)
{
	dobj__shard_drain(s, 0);
	dobj__shard_join(s, 0);
}

void
dobj__shard_close(dobj__shard *s)
{
	if (s == NULL)
		return;
	dobj__shard_stop(s);
	dobj__objmap_fini(&s->objs);
	free(s->fl_objs);
	free(s->doomed);
	dobj__undo_fini(&s->undo);
	dobj__pg_close(s->pg);
	pthread_cond_destroy(&s->exit_cv);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void
dobj__shard_stats_get(dobj__shard *s, dobj__shard_stats *out)
{
	pthread_mutex_lock(&s->mu);
	out->queue_depth = s->qlen;
	pthread_mutex_unlock(&s->mu);
	out->live_objects = atomic_load(&s->live);
	out->turns = atomic_load(&s->turns);
	out->commits = atomic_load(&s->commits);
	out->commit_failures = atomic_load(&s->commit_failures);
	out->drain_refused = atomic_load(&s->drain_refused);
	dobj__pg_counters(s->pg, &out->pg_errors, &out->pg_reconnects);
	dobj__hist_add(&out->commit_turns, &s->commit_turns);
	dobj__hist_add(&out->commit_seconds, &s->commit_seconds);
}
