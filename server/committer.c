// SPDX-License-Identifier: MIT
// committer.c - the commit thread. It takes the requests queued by the shards, at most one per
// shard, writes them in one transaction on its own connection, waits for COMMIT and reports
// each request's outcome to its shard. While a transaction is on its way the shards go on
// running turns and queue their next batches, which go together into the next transaction:
// the busier the server, the more turns share one fsync.
//
// Threads: `mu` protects the queue and `stopping`; the connection and the batch being written
// are the commit thread's; the counters are atomic.

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "committer.h"
#include "log.h"

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

	/* commit thread only */
	dobj__commit_req **batch;
	dobj__pg_part **parts;

	_Atomic uint64_t commits, commit_failures;
	dobj__hist commit_turns, commit_seconds;
};

/* take moves into c->batch the oldest request of each source, in queue order, up to
 * max_sources of them; the others keep their places. Returns how many (mu held). */
static size_t
take(dobj__committer *c)
{
	dobj__commit_req **link = &c->qhead;
	size_t n = 0;

	while (*link != NULL && n < c->max_sources) {
		dobj__commit_req *r = *link;
		bool seen = false;

		for (size_t i = 0; i < n && !seen; i++)
			seen = c->batch[i]->source == r->source;
		if (seen) {
			link = &r->next;
			continue;
		}
		*link = r->next;
		r->next = NULL;
		c->batch[n++] = r;
	}
	c->qtail = NULL;
	for (dobj__commit_req *r = c->qhead; r != NULL; r = r->next)
		c->qtail = r;
	return n;
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

/* write_batch writes the n requests taken: the ones that depend on a failed commit are failed
 * first, the rest go into one transaction. */
static void
write_batch(dobj__committer *c, size_t n)
{
	char err[512], why[448];
	size_t nparts = 0, nturns = 0;
	bool outage = false;
	int64_t t0;
	dobj_err rc;

	for (size_t i = 0; i < n; i++) {
		dobj__commit_req *r = c->batch[i];
		if (r->gen < atomic_load(r->failed_gen)) {
			finish(r, DOBJ_UNAVAILABLE, true, DOBJ__COMMIT_DEPENDED);
			continue;
		}
		c->batch[nparts] = r;
		c->parts[nparts++] = r->part;
		nturns += r->nturns;
	}
	if (nparts == 0)
		return;
	t0 = dobj__clock_mono_us();
	if ((rc = dobj__pg_ensure(c->pg, why, sizeof(why))) != DOBJ_OK) {
		outage = true;
		snprintf(err, sizeof(err), "could not commit batch of %zu turns: %s", nturns, why);
	} else if ((rc = dobj__pg_commit_send(c->pg, c->parts, nparts, c->owner, err,
	                                      sizeof(err))) == DOBJ_OK) {
		rc = dobj__pg_commit_wait(c->pg, err, sizeof(err));
	}
	if (rc == DOBJ_OK) {
		atomic_fetch_add(&c->commits, 1);
		dobj__hist_observe(&c->commit_turns, DOBJ_HIST_SIZE, nturns);
		dobj__hist_observe(&c->commit_seconds, DOBJ_HIST_SECONDS,
		                   (uint64_t)(dobj__clock_mono_us() - t0));
	} else {
		atomic_fetch_add(&c->commit_failures, 1);
		/* pgstore.c logged an outage once; a line per refused batch would flood */
		dobj__log(outage ? DOBJ_LOG_DEBUG : DOBJ_LOG_ERROR, "committer: %s", err);
	}
	for (size_t i = 0; i < nparts; i++)
		finish(c->batch[i], rc, false, err);
}

static void *
committer_main(void *arg)
{
	dobj__committer *c = arg;

	for (;;) {
		size_t n;

		pthread_mutex_lock(&c->mu);
		while (c->qhead == NULL && !c->stopping) {
			pthread_mutex_unlock(&c->mu);
			int wait_ms = dobj__pg_tick(c->pg); /* a reconnect under way */
			pthread_mutex_lock(&c->mu);
			if (c->qhead != NULL || c->stopping)
				break;
			dobj__cond_wait_ms(&c->cv, &c->mu,
			                   wait_ms < 0 || wait_ms > 1000 ? 1000 : wait_ms);
		}
		if (c->qhead == NULL) { /* stopping, and everything written */
			pthread_mutex_unlock(&c->mu);
			break;
		}
		n = take(c);
		pthread_mutex_unlock(&c->mu);
		for (size_t i = 0; i < n; i++)
			if (c->batch[i]->taken != NULL)
				c->batch[i]->taken(c->batch[i]);
		write_batch(c, n);
	}
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
	    (c->batch = calloc(max_sources, sizeof(*c->batch))) == NULL ||
	    (c->parts = calloc(max_sources, sizeof(*c->parts))) == NULL) {
		if (c != NULL) {
			free(c->batch);
			free(c->owner);
		}
		free(c);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	c->max_sources = max_sources;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
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
	pthread_mutex_lock(&c->mu);
	if (c->qtail != NULL)
		c->qtail->next = r;
	else
		c->qhead = r;
	c->qtail = r;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
dobj__committer_stop(dobj__committer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->started) {
		pthread_join(c->thread, NULL);
		c->started = false;
	}
}

void
dobj__committer_close(dobj__committer *c)
{
	if (c == NULL)
		return;
	dobj__committer_stop(c);
	dobj__pg_close(c->pg);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->parts);
	free(c->batch);
	free(c->owner);
	free(c);
}

void
dobj__committer_stats_get(dobj__committer *c, dobj__committer_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	out->commits = atomic_load(&c->commits);
	out->commit_failures = atomic_load(&c->commit_failures);
	dobj__pg_counters(c->pg, &out->pg_errors, &out->pg_reconnects);
	dobj__hist_add(&out->commit_turns, &c->commit_turns);
	dobj__hist_add(&out->commit_seconds, &c->commit_seconds);
}
