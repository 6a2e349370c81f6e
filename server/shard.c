// SPDX-License-Identifier: MIT
// shard.c - a shard thread: the live-object map with its LRU, activation and the turn loop.
// Each batch of turns goes through the output gate (gate.c) on its way to the committer.
//
// Threads: the queue (qhead, qtail, qlen), the committer's reports (done_head, done_tail) and
// the stop state (stopping, drain_deadline_ms, exited) are shared with the listener's threads,
// the committer and the server under `mu`; everything else belongs to the shard thread alone,
// except the counters and failed_gen (atomics). No other lock is taken while `mu` is held.

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "committer.h"
#include "ctx.h"
#include "log.h"
#include "object.h"
#include "objmap.h"
#include "pgstore.h"
#include "shard_int.h"
#include "thread.h"

#define IDLE_WAIT_MS 1000

/* evict_cold drops objects beyond the cache size and objects idle for too long; objects on
 * the batch being built or written by a pending commit stay. */
static void
evict_cold(dobj__shard *s)
{
	dobj__objmap_evict_cold(&s->objs, s->cfg->cache_objects,
	                        dobj__clock_mono_ms() - s->cfg->idle_timeout_ms);
	atomic_store(&s->live, s->objs.n);
}

/* activate returns the live object, loading it from PostgreSQL on first use. */
static dobj_err
activate(dobj__shard *s, dobj__call *c, dobj__object **out, char *err, size_t errlen)
{
	dobj__object *o = dobj__objmap_find(&s->objs, c->cls, &c->id);
	dobj_err rc;

	if (o != NULL && o->doomed) {
		/* a commit it took part in failed; it reloads once the batches after it end, and
		 * once a commit of unknown outcome can no longer land */
		dobj__gate_evict_doomed(s);
		o = dobj__objmap_find(&s->objs, c->cls, &c->id);
	}
	if (o != NULL && o->doomed) {
		snprintf(err, errlen, "the object is reloading after a failed commit; retry");
		return DOBJ_UNAVAILABLE;
	}
	if (o != NULL) {
		dobj__objmap_touch(&s->objs, o);
		*out = o;
		return DOBJ_OK;
	}
	if ((rc = dobj__pg_ensure(s->pg, err, errlen)) != DOBJ_OK)
		return rc;
	if (dobj__gate_reserve_doomed(s, 1) != 0 ||
	    (o = dobj__object_new(c->cls, &c->id)) == NULL) {
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
	if (n >= 2 && dobj__gate_reserve_doomed(s, n) == 0 &&
	    dobj__pg_load_many(s->pg, objs, n, s->cfg->load_all_max_keys, err, sizeof(err)) ==
	        DOBJ_OK) {
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

/* --- turns --------------------------------------------------------------------------------- */

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

/* keep ends a turn that succeeded: its undo log goes; it returns what the turn wrote. */
static size_t
keep(dobj__shard *s)
{
	size_t wrote = s->undo.write_bytes;

	dobj__undo_discard(&s->undo);
	return wrote;
}

static size_t turn_failed(dobj__shard *s, dobj__object *o, dobj__call *c, dobj_err status,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* turn_failed undoes what c's turn wrote to o and answers c with status and the message;
 * returns the bytes the turn leaves to commit: none. */
static size_t
turn_failed(dobj__shard *s, dobj__object *o, dobj__call *c, dobj_err status, const char *fmt, ...)
{
	char msg[sizeof(((dobj_ctx *)NULL)->errmsg)]; /* a handler's message fits whole */
	va_list ap;

	dobj__undo_abort(&s->undo, o);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dobj__call_answer(c, status, msg, NULL);
	return 0;
}

/* run_alarm runs the class's alarm entry for the alarm the poller claimed, unless the object
 * has replaced or deleted that alarm since. The alarm is cleared for the turn (the handler
 * may set a new one); the commit deletes the claimed row, fenced by its lease. It returns what
 * the turn wrote, in bytes. */
static size_t
run_alarm(dobj__shard *s, dobj__call *c, dobj__object *o, dobj__object **batch)
{
	dobj_ctx ctx;
	char err[256];
	dobj_err rc;

	c->fired = false;
	/* A claim that disagrees with what the object knows of its alarm: if the object has no
	 * alarm change on its way, the row moved without it (the poller rescheduled a failed run
	 * after the object read it, or an operator edited it); read it again before calling the
	 * claim superseded. */
	if (o->alarm_known && !o->alarm_dirty && o->alarm_batch == NULL &&
	    (!o->has_alarm || o->alarm_ms != c->alarm_due_ms))
		o->alarm_known = false;
	if (!o->alarm_known && (rc = dobj__pg_fetch_alarm(s->pg, o, err, sizeof(err))) != DOBJ_OK) {
		/* not a run: like an object that could not be loaded, the poller gives the lease
		 * back without counting an attempt */
		c->obj = NULL;
		dobj__call_answer(c, rc, err, NULL);
		return 0;
	}
	if (!o->has_alarm || o->alarm_ms != c->alarm_due_ms) {
		dobj__call_answer(c, DOBJ_OK, "superseded", NULL);
		return 0;
	}
	ctx_init(s, &ctx, c, o, "alarm");
	ctx.alarm = c;
	c->started_ms = dobj__clock_now_ms();
	if (dobj__object_set_alarm(o, &s->undo, false, 0, false) != 0) {
		dobj__call_answer(c, DOBJ_RESOURCE_EXHAUSTED, "out of memory", NULL);
		return 0;
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
		turn_failed(s, o, c, rc, "%s", ctx.errmsg[0] ? ctx.errmsg : dobj_err_str(rc));
		o->alarm_known = false; /* after the undo: the poller reschedules the row */
		return 0;
	}
	dobj__call_answer(c, DOBJ_OK, "", NULL);
	c->fired = true;
	c->in_commit = true;
	batch_add(o, batch);
	return keep(s);
}

/* run_turn runs c on its object and records its outcome; the object joins the batch if the
 * turn left writes to commit. It returns what the turn wrote, in bytes (object.h). */
static size_t
run_turn(dobj__shard *s, dobj__call *c, dobj__object **batch)
{
	dobj_ctx ctx;
	dobj_bytes result = {0};
	dobj__object *o;
	char err[512];
	dobj_err rc;

	c->obj = NULL;
	c->in_commit = false;
	if (c->deadline_mono_ms != 0 && dobj__clock_mono_ms() >= c->deadline_mono_ms) {
		dobj__call_answer(c, DOBJ_DEADLINE_EXCEEDED,
		                  "deadline exceeded before the call ran; it was not executed",
		                  NULL);
		c->not_run = true;
		return 0;
	}
	if ((rc = activate(s, c, &o, err, sizeof(err))) != DOBJ_OK) {
		/* an outage is logged once by pgstore.c, not once per refused call */
		dobj__log(rc == DOBJ_UNAVAILABLE ? DOBJ_LOG_DEBUG : DOBJ_LOG_WARN,
		          "shard %u: could not activate %s: %s", s->index, c->cls->cls->name, err);
		dobj__call_answer(c, rc, err, NULL);
		c->not_run = true; /* PostgreSQL out of reach, say: sending it again is safe */
		return 0;
	}
	c->obj = o;
	o->last_used_ms = dobj__clock_mono_ms();
	if (c->kind == DOBJ_CALL_ALARM) {
		return run_alarm(s, c, o, batch);
	}
	ctx_init(s, &ctx, c, o, c->method->name);

	rc = c->method->fn(&ctx, &c->arg, &result);
	atomic_fetch_add(&s->turns, 1);
	if (rc != DOBJ_OK) {
		if ((unsigned)rc >= DOBJ_ERR_COUNT)
			rc = DOBJ_UNKNOWN;
		return turn_failed(s, o, c, rc, "%s",
		                   ctx.errmsg[0] ? ctx.errmsg : dobj_err_str(rc));
	}
	if (result.len > 0 && result.data == NULL)
		return turn_failed(s, o, c, DOBJ_INTERNAL,
		                   "handler returned a NULL result of non-zero length");
	if (result.len > DOBJ_RESULT_MAX)
		return turn_failed(
		    s, o, c, DOBJ_RESOURCE_EXHAUSTED,
		    "result of %zu bytes is over the %u bytes a reply can carry; the "
		    "call's writes were undone",
		    result.len, DOBJ_RESULT_MAX);
	/* Copied now: the result may point at values that a later turn replaces. A result that
	 * cannot be copied fails the call, and a failed call's writes must not commit. */
	if (dobj__call_answer(c, DOBJ_OK, "", &result) != DOBJ_OK)
		return turn_failed(s, o, c, DOBJ_RESOURCE_EXHAUSTED,
		                   "out of memory copying the result of %zu bytes; the call's "
		                   "writes were undone",
		                   result.len);
	if (o->ndirty > 0)
		batch_add(o, batch);
	/* set now: by the batch's end an object only read here may be gone (evicted) */
	c->in_commit = o->in_batch;
	return keep(s);
}

static void *
shard_main(void *arg)
{
	dobj__shard *s = arg;

	dobj__thread_name("dobj-shard-%u", s->index);
	for (;;) {
		dobj__call *calls, *last, *c, *next;
		dobj__pending *done;
		int64_t deadline = 0;
		size_t n = 0, bytes = 0;
		bool can_end;

		pthread_mutex_lock(&s->mu);
		for (;;) {
			can_end = s->open_calls != NULL && s->queued == 0;
			if (s->qhead != NULL || s->done_head != NULL || can_end ||
			    (s->stopping && s->pend_head == NULL && s->open_calls == NULL))
				break;
			if (s->stopping || s->open_calls != NULL) { /* waiting for the committer */
				dobj__cond_wait_ms(&s->cv, &s->mu, IDLE_WAIT_MS);
				continue;
			}
			pthread_mutex_unlock(&s->mu);
			/* a reconnect under way wants a look sooner than the idle cleanup */
			int wait_ms = dobj__pg_tick(s->pg);
			pthread_mutex_lock(&s->mu);
			if (s->qhead != NULL || s->done_head != NULL || s->stopping)
				continue;
			dobj__cond_wait_ms(&s->cv, &s->mu,
			                   wait_ms < 0 || wait_ms > IDLE_WAIT_MS ? IDLE_WAIT_MS
			                                                         : wait_ms);
			if (s->qhead == NULL && s->done_head == NULL) {
				pthread_mutex_unlock(&s->mu);
				/* idle: a fence may have cleared since the last commit report */
				dobj__gate_evict_doomed(s);
				evict_cold(s);
				pthread_mutex_lock(&s->mu);
			}
		}
		done = s->done_head;
		s->done_head = s->done_tail = NULL;
		if (s->qhead == NULL) {
			bool exit = done == NULL && !can_end;
			if (exit) { /* stopping, and everything answered */
				s->exited = true;
				pthread_cond_broadcast(&s->exit_cv);
			}
			pthread_mutex_unlock(&s->mu);
			if (exit)
				break;
			dobj__gate_take_reports(s, done);
			if (can_end) /* unless a failure report handed it over just now */
				dobj__gate_end_open(s);
			continue;
		}
		if (s->stopping)
			deadline = s->drain_deadline_ms;
		calls = last = s->qhead;
		bytes = calls->arg.len;
		for (n = 1; n < s->cfg->max_batch && last->next != NULL &&
		            s->open_bytes + bytes < DOBJ__BATCH_BYTES;
		     n++) {
			last = last->next;
			bytes += last->arg.len;
		}
		s->qhead = last->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		s->qlen -= n;
		last->next = NULL;
		pthread_mutex_unlock(&s->mu);

		dobj__gate_take_reports(s, done);
		prefetch(s, calls);
		for (c = calls; c != NULL; c = next) {
			size_t wrote = 0;

			next = c->next;
			c->next = NULL;
			if (s->open_calls == NULL) {
				s->open_gen = s->gen;
				s->open_first = s->pend_head == NULL;
			}
			if (deadline != 0 && dobj__clock_mono_ms() >= deadline) {
				dobj__call_answer(
				    c, DOBJ_UNAVAILABLE,
				    "server is shutting down: its drain timeout passed "
				    "before the call ran; it was not executed",
				    NULL);
				c->obj = NULL;
				c->in_commit = false;
				c->not_run = true;
				c->stopping = true;
				atomic_fetch_add(&s->drain_refused, 1);
			} else {
				wrote = run_turn(s, c, &s->open_batch);
			}
			if (s->open_tail != NULL)
				s->open_tail->next = c;
			else
				s->open_calls = c;
			s->open_tail = c;
			s->open_n++;
			s->open_bytes += c->arg.len + wrote;
			/* turns that wrote much more than their requests carried: the batch goes
			 * before the pass ends */
			if (next != NULL && s->open_bytes >= DOBJ__BATCH_BYTES)
				dobj__gate_end_open(s);
		}
		pthread_mutex_lock(&s->mu);
		can_end = s->queued == 0;
		pthread_mutex_unlock(&s->mu);
		if (can_end || s->open_batch == NULL || s->open_n >= s->cfg->max_batch ||
		    s->open_bytes >= DOBJ__BATCH_BYTES)
			dobj__gate_end_open(s);
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
	dobj__cond_init(&s->cv);
	dobj__cond_init(&s->exit_cv);
	snprintf(name, sizeof(name), "shard %u", index);
	if ((rc = dobj__pg_open(&s->pg, cfg->database_url, name, err, errlen)) != DOBJ_OK) {
		dobj__shard_close(s);
		return rc;
	}
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
		c->not_run = true;
		c->stopping = true;
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
	exited = dobj__cond_wait_flag(&s->exit_cv, &s->mu, &s->exited, until_mono_ms);
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
	free(s->doomed);
	while (s->nspare > 0)
		dobj__pg_part_free(s->spare[--s->nspare]);
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
	out->drain_refused = atomic_load(&s->drain_refused);
	dobj__pg_counters(s->pg, &out->pg_errors, &out->pg_reconnects);
}
