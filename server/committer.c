// SPDX-License-Identifier: MIT
// committer.c - the commit thread. It takes the requests queued by the shards, at most one per
// shard, writes them in one transaction on its own connection and reports each request's
// outcome to its shard. While a transaction is on its way the shards go on running turns and
// queue their next batches, which go together into the next transaction, sent behind the
// first as soon as the server is committing it: the busier the server, the more turns share
// one fsync, and the server never waits for this thread between two transactions.
//
// Threads: `mu` protects the queue, `stopping` and `exited`; the connection and the
// transactions in flight are the commit thread's; the counters are atomic.

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "committer.h"
#include "log.h"
#include "thread.h"
#include "writer.h"

#define FENCE_RETRY_MS 50   /* idle, while a fence holds: the next check */
#define WRITER_RETRY_MS 200 /* idle, while the writer lock could not be taken again */
#define COMMIT_SLICE_US 100 /* the commit thread's scheduling slice, where the kernel takes one */

/* A transaction of the commit thread: the requests in it and its state on the connection. */
typedef struct flight {
	dobj__commit_req **reqs;
	size_t n;
	dobj__pg_txn txn;
	int64_t t0;
	bool sent;
	/* could not be sent behind the transaction in flight: its requests fail once that one
	 * has landed, so that each shard hears of its batches in order */
	dobj_err refused;
	char refused_err[512];
} flight;

struct dobj__committer {
	dobj__pg *pg;
	char *owner;
	unsigned max_sources;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	dobj__commit_req *qhead, *qtail;
	bool stopping;
	bool exited;            /* the thread is about to return */
	pthread_cond_t exit_cv; /* with mu: wakes dobj__committer_stop */

	/* commit thread only: the transaction being committed and the one sent behind it */
	flight fl[2];
	dobj__pg_part **parts;

	/* a commit's outcome is unknown and the backend that ran it may not have ended: the
	 * shards keep the objects it wrote from reloading (dobj__committer_fenced) */
	atomic_bool fenced;
	/* when the transaction the commit thread waits for was sent (monotonic us); 0: none */
	_Atomic int64_t waiting_since;

	/* the writer lock (writer.h): the owner thread's before the thread starts, then the
	 * commit thread's; writer_held and writer_epoch mirror it for the stats */
	dobj__writer writer;
	atomic_bool writer_held;
	_Atomic int64_t writer_epoch;
	/* another dobjd may have written since this one last held the lock: nothing more is
	 * committed, ever (lost_msg is written once, before lost is set) */
	atomic_bool lost;
	char lost_msg[448];
	void (*on_lost)(void *arg);
	void *on_lost_arg;
	int64_t writer_said_ms; /* when a failure to take the lock again was last logged */

	/* with mu: time with a transaction on the connection, ended spans (busy_us) and the
	 * span under way (since busy_since, monotonic us; 0: idle) */
	uint64_t busy_us;
	int64_t busy_since;

	_Atomic uint64_t commits, commit_failures, commit_retries, commit_splits;
	dobj__hist commit_turns, commit_seconds;
};

/* take moves into f the oldest request of each source, in queue order, up to max_sources of
 * them and DOBJ__TXN_BYTES of parameters (at least one request), or one request that must go
 * alone; the others keep their places (mu held). */
static void
take(dobj__committer *c, flight *f)
{
	dobj__commit_req **link = &c->qhead;
	size_t bytes = 0;

	f->n = 0;
	while (*link != NULL && f->n < c->max_sources) {
		dobj__commit_req *r = *link;
		size_t rb;
		bool seen = false;

		if (r->alone && f->n > 0)
			break; /* the next transaction is its own */
		for (size_t i = 0; i < f->n && !seen; i++)
			seen = f->reqs[i]->source == r->source;
		if (seen) {
			link = &r->next;
			continue;
		}
		rb = r->part != NULL ? dobj__pg_part_bytes(r->part) : 0;
		if (f->n > 0 && bytes + rb > DOBJ__TXN_BYTES)
			break; /* the next transaction takes it, first */
		bytes += rb;
		*link = r->next;
		r->next = NULL;
		f->reqs[f->n++] = r;
		if (r->alone)
			break;
	}
	c->qtail = NULL;
	for (dobj__commit_req *r = c->qhead; r != NULL; r = r->next)
		c->qtail = r;
}

/* taken tells the sources that their requests left the queue (once per request). */
static void
taken(flight *f)
{
	for (size_t i = 0; i < f->n; i++) {
		dobj__commit_req *r = f->reqs[i];
		if (r->taken != NULL) {
			void (*cb)(dobj__commit_req *) = r->taken;
			r->taken = NULL;
			cb(r);
		}
	}
}

/* requeue puts the requests land kept in f back at the head of the queue, in their order:
 * ahead of every request queued since, which are newer. */
static void
requeue(dobj__committer *c, flight *f)
{
	if (f->n == 0)
		return;
	pthread_mutex_lock(&c->mu);
	for (size_t i = f->n; i-- > 0;) {
		f->reqs[i]->next = c->qhead;
		c->qhead = f->reqs[i];
		if (c->qtail == NULL)
			c->qtail = f->reqs[i];
	}
	pthread_mutex_unlock(&c->mu);
	f->n = 0;
}

static void
finish(dobj__commit_req *r, dobj_err rc, bool depended, const char *err)
{
	r->rc = rc;
	r->depended = depended;
	snprintf(r->err, sizeof(r->err), "%s", rc == DOBJ_OK ? "" : err);
	if (rc != DOBJ_OK) {
		uint64_t want = r->gen + 1, cur = atomic_load(r->failed_gen);
		while (cur < want && !atomic_compare_exchange_weak(r->failed_gen, &cur, want))
			;
	}
	r->done(r);
}

static bool
depends_on_failure(const dobj__commit_req *r)
{
	return r->gen < atomic_load(r->failed_gen);
}

/* fence_clear checks, on a connection made since, that the backend of a commit of unknown
 * outcome has ended: false (err set) while it may still commit. */
static bool
fence_clear(dobj__committer *c, char *err, size_t errlen)
{
	if (!atomic_load(&c->fenced))
		return true;
	if (dobj__pg_ensure(c->pg, err, errlen) != DOBJ_OK ||
	    dobj__pg_fence_check(c->pg, err, errlen) != DOBJ_OK)
		return false;
	atomic_store(&c->fenced, false);
	return true;
}

/* lose gives up for good: the writer lock is another session's, or was meanwhile. */
static void
lose(dobj__committer *c, const char *why)
{
	snprintf(c->lost_msg, sizeof(c->lost_msg), "%s", why);
	atomic_store(&c->writer_held, false);
	atomic_store(&c->lost, true);
	dobj__log_error("committer: lost the writer lock of this database: %s; this dobjd's "
	                "caches may be stale, so it commits nothing more: its pending calls fail "
	                "and it exits with status 1",
	                why);
	if (c->on_lost != NULL)
		c->on_lost(c->on_lost_arg);
}

/* writer_ok says whether the connection, up, may commit: it holds the writer lock, taken
 * again first if the connection was made since (err set when not). */
static bool
writer_ok(dobj__committer *c, char *err, size_t errlen)
{
	char msg[400];
	int64_t now;

	if (atomic_load(&c->lost)) {
		snprintf(err, errlen, "this dobjd lost the writer lock: %.360s", c->lost_msg);
		return false;
	}
	if (dobj__writer_current(&c->writer, c->pg))
		return true;
	atomic_store(&c->writer_held, false);
	switch (dobj__writer_take(&c->writer, c->pg, msg, sizeof(msg))) {
	case DOBJ__WRITER_HELD:
		atomic_store(&c->writer_epoch, c->writer.epoch);
		atomic_store(&c->writer_held, true);
		dobj__log_info(
		    "committer: took the writer lock again on a new connection; no other "
		    "dobjd wrote meanwhile (writer epoch %lld)",
		    (long long)c->writer.epoch);
		return true;
	case DOBJ__WRITER_BUSY:
		snprintf(err, errlen, "another session took the writer lock: %s", msg);
		lose(c, err);
		return false;
	case DOBJ__WRITER_MOVED:
		lose(c, msg);
		snprintf(err, errlen, "this dobjd lost the writer lock: %s", msg);
		return false;
	case DOBJ__WRITER_ERROR:
		break;
	}
	snprintf(err, errlen, "could not take the writer lock again: %s", msg);
	now = dobj__clock_mono_ms();
	if (c->writer_said_ms == 0 || now - c->writer_said_ms >= 10000) {
		c->writer_said_ms = now;
		dobj__log_warn("committer: %s; nothing is committed until it is taken", err);
	}
	return false;
}

/* start fails f's requests that depend on a failed commit and sends the others as one
 * transaction, behind the one in flight if behind; f->sent says whether it went. When it
 * could not go behind another, its requests wait in f (f->refused) for refuse_held. */
static void
start(dobj__committer *c, flight *f, bool behind)
{
	char err[512], why[448];
	size_t n = 0, nturns = 0;
	bool outage = false;
	dobj_err rc;

	f->sent = false;
	for (size_t i = 0; i < f->n; i++) {
		dobj__commit_req *r = f->reqs[i];
		if (depends_on_failure(r)) {
			finish(r, DOBJ_UNAVAILABLE, true, DOBJ__COMMIT_DEPENDED);
			continue;
		}
		f->reqs[n] = r;
		c->parts[n++] = r->part;
		nturns += r->nturns;
	}
	f->n = n;
	if (n == 0)
		return;
	f->t0 = dobj__clock_mono_us();
	if (atomic_load(&c->lost)) {
		rc = DOBJ_UNAVAILABLE;
		outage = true; /* said once, by lose */
		snprintf(err, sizeof(err),
		         "could not commit batch of %zu turns: this dobjd lost the "
		         "writer lock: %.360s",
		         nturns, c->lost_msg);
	} else if ((rc = dobj__pg_ensure(c->pg, why, sizeof(why))) != DOBJ_OK) {
		outage = true;
		snprintf(err, sizeof(err), "could not commit batch of %zu turns: %s", nturns, why);
	} else if (!fence_clear(c, why, sizeof(why)) || !writer_ok(c, why, sizeof(why))) {
		/* nothing goes on a new connection before the old backend is known to be gone and
		 * the writer lock is held on it again */
		rc = DOBJ_UNAVAILABLE;
		outage = true;
		snprintf(err, sizeof(err), "could not commit batch of %zu turns: %s", nturns, why);
	} else if ((rc = dobj__pg_commit_send(c->pg, c->parts, n, c->owner, &f->txn, err,
	                                      sizeof(err))) == DOBJ_OK) {
		f->sent = true;
		return;
	}
	atomic_fetch_add(&c->commit_failures, 1);
	/* pgstore.c logged an outage once; a line per refused batch would flood */
	dobj__log(outage ? DOBJ_LOG_DEBUG : DOBJ_LOG_ERROR, "committer: %s", err);
	if (behind) {
		f->refused = rc;
		snprintf(f->refused_err, sizeof(f->refused_err), "%s", err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		finish(f->reqs[i], rc, false, err);
	f->n = 0;
}

/* refuse_held fails the requests start left in f, now that the transaction ahead has landed. */
static void
refuse_held(flight *f)
{
	for (size_t i = 0; i < f->n; i++) {
		dobj__commit_req *r = f->reqs[i];
		/* on the one ahead, which failed: say so, as land does */
		if (depends_on_failure(r))
			finish(r, DOBJ_UNAVAILABLE, true, DOBJ__COMMIT_DEPENDED);
		else
			finish(r, f->refused, false, f->refused_err);
	}
	f->n = 0;
	f->refused = DOBJ_OK;
}

/* land reports the outcome of f, read through COMMIT, to its requests: false if it failed.
 * Requests to send again stay in f for requeue: those of a transaction that was only skipped,
 * because the one ahead of it failed, except for the ones that depended on the failure; and
 * those of a transaction of several batches that PostgreSQL refused, since nothing of it was
 * written and the error may be one batch's alone (a deferred constraint, an alarm's fence),
 * each then in a transaction of its own, where only the guilty one fails again. */
static bool
land(dobj__committer *c, flight *f)
{
	char err[512];
	dobj_err rc = dobj__pg_commit_outcome(c->pg, &f->txn, err, sizeof(err));
	bool skipped = rc != DOBJ_OK && dobj__pg_commit_skipped(&f->txn);
	bool split = rc != DOBJ_OK && !skipped && f->txn.errored && f->n > 1;
	size_t again = 0;

	f->sent = false;
	if (rc == DOBJ_OK) {
		atomic_fetch_add(&c->commits, 1);
		dobj__hist_observe(&c->commit_turns, DOBJ_HIST_SIZE, f->txn.nturns);
		dobj__hist_observe(&c->commit_seconds, DOBJ_HIST_SECONDS,
		                   (uint64_t)(dobj__clock_mono_us() - f->t0));
	} else if (split) { /* not a failure yet: the retries alone tell */
		atomic_fetch_add(&c->commit_splits, 1);
		dobj__log_warn("committer: %s; its %zu batches are sent again, one per transaction",
		               err, f->n);
	} else if (!skipped) {
		atomic_fetch_add(&c->commit_failures, 1);
		dobj__log(DOBJ_LOG_ERROR, "committer: %s", err);
	}
	/* Set before the shards hear of the failure, so that none reloads an object too soon. */
	if (rc != DOBJ_OK && f->txn.broken && !f->txn.failed && !atomic_load(&c->fenced)) {
		if (dobj__pg_fence_set(c->pg)) {
			atomic_store(&c->fenced, true);
			dobj__log_warn(
			    "committer: the objects of a commit of unknown outcome reload "
			    "once PostgreSQL backend %d has ended",
			    dobj__pg_fence_pid(c->pg));
		} else {
			dobj__log_warn(
			    "committer: cannot tell whether the backend of a commit of "
			    "unknown outcome has ended (pg_stat_activity does not show its "
			    "start); its objects reload at once and may miss its writes");
		}
	}
	for (size_t i = 0; i < f->n; i++) {
		dobj__commit_req *r = f->reqs[i];
		if (split)
			r->alone = true;
		if (!split && !skipped)
			finish(r, rc, false, err);
		else if (skipped && depends_on_failure(r))
			finish(r, DOBJ_UNAVAILABLE, true, DOBJ__COMMIT_DEPENDED);
		else
			f->reqs[again++] = r;
	}
	if (skipped && again > 0)
		atomic_fetch_add(&c->commit_retries, 1);
	f->n = again;
	return rc == DOBJ_OK;
}

/* wait_take waits for requests and takes them into f: false once stopping with nothing left. */
static bool
wait_take(dobj__committer *c, flight *f)
{
	pthread_mutex_lock(&c->mu);
	while (c->qhead == NULL && !c->stopping) {
		pthread_mutex_unlock(&c->mu);
		int wait_ms = dobj__pg_tick(c->pg); /* a reconnect under way */
		char err[320];

		/* objects wait for the fence to clear before they reload: look again soon */
		if (!fence_clear(c, err, sizeof(err))) {
			if (wait_ms < 0 || wait_ms > FENCE_RETRY_MS)
				wait_ms = FENCE_RETRY_MS;
		} else if (wait_ms < 0 && !writer_ok(c, err, sizeof(err)) &&
		           !atomic_load(&c->lost)) {
			/* a new connection takes the lock again at once, not at the next commit,
			 * so that a standby cannot take it in between */
			wait_ms = WRITER_RETRY_MS;
		}
		pthread_mutex_lock(&c->mu);
		if (c->qhead != NULL || c->stopping)
			break;
		dobj__cond_wait_ms(&c->cv, &c->mu, wait_ms < 0 || wait_ms > 1000 ? 1000 : wait_ms);
	}
	if (c->qhead == NULL) { /* stopping, and everything written */
		pthread_mutex_unlock(&c->mu);
		return false;
	}
	take(c, f);
	pthread_mutex_unlock(&c->mu);
	taken(f);
	return true;
}

/* busy starts a span of time with a transaction on the connection (at since), or ends the one
 * under way (since 0), for dobj_commit_busy_seconds_total. */
static void
busy(dobj__committer *c, int64_t since)
{
	pthread_mutex_lock(&c->mu);
	if (since == 0 && c->busy_since != 0) {
		int64_t now = dobj__clock_mono_us();
		c->busy_us += now > c->busy_since ? (uint64_t)(now - c->busy_since) : 0;
		c->busy_since = 0;
	} else if (since != 0 && c->busy_since == 0) {
		c->busy_since = since;
	}
	pthread_mutex_unlock(&c->mu);
}

/* The commit thread keeps at most two transactions on the connection. When the server has run
 * the changes of the one in flight and is committing it, the requests queued meanwhile are sent
 * behind it, so that the server goes from one fsync straight to the next transaction's work
 * instead of waiting for this thread to hear the answer and send more. */
static void *
committer_main(void *arg)
{
	dobj__committer *c = arg;
	flight *a = &c->fl[0], *b = &c->fl[1];

	dobj__thread_name("dobj-commit");
	/* Every durable call waits on this thread's wake-ups, one after the other; on a busy
	 * machine each would otherwise wait out another process's slice (docs/performance.md). */
	int rc = dobj__thread_latency_critical(COMMIT_SLICE_US);
	if (rc != 0)
		dobj__log(DOBJ_LOG_DEBUG,
		          "committer: could not ask for a short scheduling slice: %s",
		          strerror(rc));
	for (;;) {
		bool ok, idle;

		if (!a->sent) {
			if (!wait_take(c, a))
				break;
			/* sending can block too, once the socket's buffers are full */
			atomic_store(&c->waiting_since, dobj__clock_mono_us());
			start(c, a, false);
			if (!a->sent) {
				atomic_store(&c->waiting_since, 0);
				continue;
			}
			busy(c, a->txn.sent_us);
		}
		atomic_store(&c->waiting_since, a->txn.sent_us);
		dobj__pg_commit_read(c->pg, &a->txn, false);
		if (!a->txn.failed && !a->txn.broken) {
			pthread_mutex_lock(&c->mu);
			take(c, b);
			pthread_mutex_unlock(&c->mu);
			taken(b);
			start(c, b, true);
		}
		dobj__pg_commit_read(c->pg, &a->txn, true);
		atomic_store(&c->waiting_since, 0); /* before its calls hear of its outcome */
		ok = land(c, a);
		if (!ok && b->sent) {
			atomic_store(&c->waiting_since, b->txn.sent_us);
			dobj__pg_commit_read(c->pg, &b->txn, true);
			atomic_store(&c->waiting_since, 0);
			land(c, b);
		}
		/* b was refused behind a: if a's requests go again, b's follow them instead, so
		 * that no source hears of a later request before an earlier one */
		if (b->refused != DOBJ_OK && a->n > 0)
			b->refused = DOBJ_OK;
		else if (b->refused != DOBJ_OK)
			refuse_held(b);
		/* what goes again, a's ahead of b's: a source's requests keep their order */
		if (!b->sent)
			requeue(c, b);
		requeue(c, a);
		pthread_mutex_lock(&c->mu);
		idle = !b->sent && c->qhead == NULL;
		pthread_mutex_unlock(&c->mu);
		if (!b->sent)
			busy(c, 0); /* nothing on the connection until the next start */
		if (!ok || idle)
			dobj__pg_commit_settle(c->pg, !ok);
		flight *next = b; /* the one sent behind, if any, is now the one in flight */
		b = a;
		a = next;
	}
	pthread_mutex_lock(&c->mu);
	c->exited = true;
	pthread_cond_broadcast(&c->exit_cv);
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

dobj_err
dobj__committer_open(dobj__committer **out, const char *dsn, const char *owner,
                     unsigned max_sources, char *err, size_t errlen)
{
	dobj__committer *c = calloc(1, sizeof(*c));
	dobj_err rc;

	*out = NULL;
	if (max_sources == 0)
		max_sources = 1;
	if (c == NULL || (c->owner = strdup(owner)) == NULL ||
	    (c->fl[0].reqs = calloc(max_sources, sizeof(*c->fl[0].reqs))) == NULL ||
	    (c->fl[1].reqs = calloc(max_sources, sizeof(*c->fl[1].reqs))) == NULL ||
	    (c->parts = calloc(max_sources, sizeof(*c->parts))) == NULL) {
		if (c != NULL) {
			free(c->fl[0].reqs);
			free(c->fl[1].reqs);
			free(c->owner);
		}
		free(c);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	c->max_sources = max_sources;
	pthread_mutex_init(&c->mu, NULL);
	dobj__cond_init(&c->cv);
	dobj__cond_init(&c->exit_cv);
	if ((rc = dobj__pg_open(&c->pg, dsn, "committer", err, errlen)) != DOBJ_OK) {
		dobj__committer_close(c);
		return rc;
	}
	*out = c;
	return DOBJ_OK;
}

dobj_err
dobj__committer_start(dobj__committer *c)
{
	if (pthread_create(&c->thread, NULL, committer_main, c) != 0)
		return DOBJ_RESOURCE_EXHAUSTED;
	c->started = true;
	return DOBJ_OK;
}

void
dobj__committer_submit(dobj__committer *c, dobj__commit_req *r)
{
	r->next = NULL;
	r->alone = false;
	pthread_mutex_lock(&c->mu);
	if (c->qtail != NULL)
		c->qtail->next = r;
	else
		c->qhead = r;
	c->qtail = r;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

bool
dobj__committer_stop(dobj__committer *c, int64_t until_mono_ms)
{
	bool exited;

	if (c == NULL)
		return true;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->cv);
	exited =
	    !c->started || dobj__cond_wait_flag(&c->exit_cv, &c->mu, &c->exited, until_mono_ms);
	pthread_mutex_unlock(&c->mu);
	if (!exited) {
		dobj__log_error("committer: still inside a PostgreSQL call at the drain deadline; "
		                "leaving it");
		return false;
	}
	if (c->started) {
		pthread_join(c->thread, NULL);
		c->started = false;
	}
	return true;
}

void
dobj__committer_close(dobj__committer *c)
{
	if (c == NULL)
		return;
	dobj__committer_stop(c, 0);
	dobj__pg_close(c->pg);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->exit_cv);
	pthread_mutex_destroy(&c->mu);
	free(c->parts);
	free(c->fl[0].reqs);
	free(c->fl[1].reqs);
	free(c->owner);
	free(c);
}

dobj__writer_rc
dobj__committer_take_writer(dobj__committer *c, char *msg, size_t msglen)
{
	dobj__writer_rc rc = dobj__writer_take(&c->writer, c->pg, msg, msglen);

	if (rc == DOBJ__WRITER_HELD) {
		atomic_store(&c->writer_epoch, c->writer.epoch);
		atomic_store(&c->writer_held, true);
	}
	return rc;
}

void
dobj__committer_on_lost(dobj__committer *c, void (*fn)(void *arg), void *arg)
{
	c->on_lost = fn;
	c->on_lost_arg = arg;
}

bool
dobj__committer_lost(dobj__committer *c, char *msg, size_t msglen)
{
	if (c == NULL || !atomic_load(&c->lost))
		return false;
	snprintf(msg, msglen, "%s", c->lost_msg);
	return true;
}

bool
dobj__committer_fenced(dobj__committer *c)
{
	return c != NULL && atomic_load(&c->fenced);
}

void
dobj__committer_stats_get(dobj__committer *c, dobj__committer_stats *out)
{
	int64_t since, now;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	out->commits = atomic_load(&c->commits);
	out->commit_failures = atomic_load(&c->commit_failures);
	out->commit_retries = atomic_load(&c->commit_retries);
	out->commit_splits = atomic_load(&c->commit_splits);
	out->fenced = atomic_load(&c->fenced);
	out->writer_held = atomic_load(&c->writer_held);
	out->writer_epoch = atomic_load(&c->writer_epoch);
	since = atomic_load(&c->waiting_since);
	now = dobj__clock_mono_us();
	out->waiting_us = since != 0 && now > since ? now - since : 0;
	/* under mu, so that the sum never goes back: a span is added as it ends */
	pthread_mutex_lock(&c->mu);
	now = dobj__clock_mono_us();
	out->busy_us = c->busy_us;
	if (c->busy_since != 0 && now > c->busy_since)
		out->busy_us += (uint64_t)(now - c->busy_since);
	pthread_mutex_unlock(&c->mu);
	dobj__pg_counters(c->pg, &out->pg_errors, &out->pg_reconnects);
	dobj__hist_add(&out->commit_turns, &c->commit_turns);
	dobj__hist_add(&out->commit_seconds, &c->commit_seconds);
}
