// SPDX-License-Identifier: MIT
// gate.c - a shard's output gate. A batch that wrote something goes to the committer, and the
// shard runs the next batch while it is written; replies wait until their batch is durable. A
// batch that wrote nothing waits for the last pending one (its turns may have read what that
// one writes). Batches end in order. When one fails, its calls are answered UNAVAILABLE, the
// batches made before the shard heard of it fail too (they may have read its writes), and the
// objects involved are dropped so that their next call reloads what PostgreSQL holds.
//
// Everything here runs on the shard thread, except commit_taken and commit_done, which the
// committer calls on its own thread and which touch only what `mu` protects.

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "committer.h"
#include "log.h"
#include "object.h"
#include "objmap.h"
#include "pgstore.h"
#include "shard_int.h"

/* dobj__gate_reserve_doomed makes room in the doomed list for every live object plus n more, so that
 * doom() never needs memory when a commit fails: -1 if out of memory. */
int
dobj__gate_reserve_doomed(dobj__shard *s, size_t n)
{
	size_t want = s->objs.n + n, cap = s->doomed_cap ? s->doomed_cap : 64;
	dobj__object **p;

	if (want <= s->doomed_cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if ((p = realloc(s->doomed, cap * sizeof(*p))) == NULL)
		return -1;
	s->doomed = p;
	s->doomed_cap = cap;
	return 0;
}

static void
map_evict(dobj__shard *s, dobj__object *o)
{
	dobj__objmap_evict(&s->objs, o);
	atomic_store(&s->live, s->objs.n);
}

static void
doom(dobj__shard *s, dobj__object *o)
{
	if (o->doomed)
		return;
	/* room for every live object was made when it was activated (dobj__gate_reserve_doomed) */
	if (s->ndoomed >= s->doomed_cap) {
		dobj__log_error("shard %u: no room to doom an object (a bug)", s->index);
		return;
	}
	o->doomed = true;
	s->doomed[s->ndoomed++] = o;
}

/* dobj__gate_evict_doomed drops the objects of failed commits that no pending batch writes
 * any more, unless the committer is still waiting for the backend of a commit of unknown
 * outcome to end: that commit may yet land, and an object reloaded before would miss it. */
void
dobj__gate_evict_doomed(dobj__shard *s)
{
	size_t kept = 0;

	if (s->ndoomed == 0 || dobj__committer_fenced(s->cfg->committer))
		return;

	for (size_t i = 0; i < s->ndoomed; i++) {
		dobj__object *o = s->doomed[i];
		if (o->pins > 0 || o->in_batch)
			s->doomed[kept++] = o;
		else
			map_evict(s, o);
	}
	s->ndoomed = kept;
}

/* commit_taken: the committer took a batch of this shard for a transaction (its thread). */
static void
commit_taken(dobj__commit_req *r)
{
	dobj__shard *s = ((dobj__pending *)r)->s;

	pthread_mutex_lock(&s->mu);
	s->queued--;
	/* The shard may now hand over its open batch. If an older batch of the shard is in the
	 * transaction ahead, its report wakes the shard before the commit thread takes again
	 * (which is after it reports that transaction), and the open batch, ended then, usually
	 * still makes the next transaction, with the turns run meanwhile; when the shard is late,
	 * it goes one transaction later. Otherwise the shard is woken now. */
	if (s->unheard - s->queued < 2)
		pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* commit_done: the committer's report (on its thread); the shard takes it in its loop. */
static void
commit_done(dobj__commit_req *r)
{
	dobj__pending *p = (dobj__pending *)r;
	dobj__shard *s = p->s;

	pthread_mutex_lock(&s->mu);
	s->unheard--;
	p->done_next = NULL;
	if (s->done_tail != NULL)
		s->done_tail->done_next = p;
	else
		s->done_head = p;
	s->done_tail = p;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* complete releases (or fails) the calls of the oldest pending batch, which has ended. */
static void
complete(dobj__shard *s, dobj__pending *p)
{
	bool ok = p->req.rc == DOBJ_OK;
	char dep[512];

	if (p != s->pend_head)
		dobj__log_error("shard %u: commits reported out of order", s->index);
	for (dobj__pending **link = &s->pend_head; *link != NULL; link = &(*link)->next) {
		if (*link == p) {
			*link = p->next;
			break;
		}
	}
	if (s->pend_tail == p)
		for (s->pend_tail = s->pend_head;
		     s->pend_tail != NULL && s->pend_tail->next != NULL;)
			s->pend_tail = s->pend_tail->next;
	if (!ok && !p->req.depended)
		snprintf(s->fail_reason, sizeof(s->fail_reason), "%s", p->req.err);
	if (!ok)
		snprintf(dep, sizeof(dep), "%s: %.440s", DOBJ__COMMIT_DEPENDED, s->fail_reason);
	for (int own = 1; own >= 0; own--) {
		for (dobj__call *c = own ? p->calls : p->deps, *cn; c != NULL; c = cn) {
			cn = c->next;
			if (!ok && own && c->in_commit) /* refused as dependent: say on what */
				dobj__call_answer(c, p->req.rc, p->req.depended ? dep : p->req.err,
				                  NULL);
			else if (!ok && (!own || !p->first))
				dobj__call_answer(c, DOBJ_UNAVAILABLE, dep, NULL);
			c->done(c);
		}
	}
	for (size_t i = 0; i < p->nobjs; i++) {
		dobj__object *o = p->objs[i];
		o->pins--;
		if (o->alarm_batch == p)
			o->alarm_batch = NULL;
		if (ok)
			dobj__object_compact(o);
		else
			doom(s, o);
	}
	if (!ok) {
		/* The batches still pending that were made before the shard heard of the failure
		 * (an older generation) fail with it: the committer refuses them. Their objects
		 * hold writes that will not commit, so no new turn may read them: they reload once
		 * those batches end. */
		s->gen = atomic_load(&s->failed_gen);
		for (dobj__pending *q = s->pend_head; q != NULL; q = q->next)
			for (size_t i = 0; q->req.gen < s->gen && i < q->nobjs; i++)
				doom(s, q->objs[i]);
		/* so does the open batch, if it began before. It is handed over now, with its older
		 * generation, and refused; its objects are doomed as it goes. Turns from now on
		 * start a batch of the new generation instead of joining one that cannot commit. */
		if (s->open_calls != NULL && s->open_gen < s->gen)
			dobj__gate_end_open(s);
	}
	/* its buffers serve a later batch: no allocation per batch in the steady state */
	if (s->nspare < DOBJ__SHARD_SPARE_PARTS) {
		if ((s->spare[s->nspare] = dobj__pg_part_keep(p->req.part)) != NULL)
			s->nspare++;
	} else {
		dobj__pg_part_free(p->req.part);
	}
	free(p);
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

/* end_batch: the calls (last is the final one) have run. Hand their writes to the committer
 * (their replies wait for it), or hold them behind the last pending batch, or answer at once. */
static void
end_batch(dobj__shard *s, dobj__call *calls, dobj__call *last, size_t ncalls, dobj__object *batch,
          uint64_t gen, bool first)
{
	dobj__pg_part *part = NULL;
	size_t nobjs = 0, n = 0;
	uint64_t wrote = 0;
	dobj__pending *p;

	if (batch == NULL) {
		/* What it read may not become durable if a batch of its generation or a later one
		 * is pending (generations never fall along the list). Older ones cannot matter:
		 * their objects were doomed when the shard heard of the failure, before it ran. */
		if (s->pend_tail != NULL && s->pend_tail->req.gen >= gen) {
			if (s->pend_tail->deps_tail != NULL)
				s->pend_tail->deps_tail->next = calls;
			else
				s->pend_tail->deps = calls;
			s->pend_tail->deps_tail = last;
			return;
		}
		if (!first && gen < atomic_load(&s->failed_gen)) {
			/* a batch pending when they ran has failed since: they may have read it */
			char dep[512];

			snprintf(dep, sizeof(dep), "%s: %.440s", DOBJ__COMMIT_DEPENDED,
			         s->fail_reason);
			for (dobj__call *c = calls; c != NULL; c = c->next)
				dobj__call_answer(c, DOBJ_UNAVAILABLE, dep, NULL);
		}
		for (dobj__call *c = calls, *cn; c != NULL; c = cn) {
			cn = c->next;
			c->done(c);
		}
		return;
	}
	for (dobj__call *c = calls; c != NULL; c = c->next)
		wrote += c->in_commit;
	for (dobj__object *o = batch; o != NULL; o = o->batch_next)
		nobjs++;
	if ((p = calloc(1, sizeof(*p) + nobjs * sizeof(p->objs[0]))) != NULL) {
		/* the build consumes the spare, even if it fails */
		part = dobj__pg_part_build(s->nspare > 0 ? s->spare[--s->nspare] : NULL, batch,
		                           calls, wrote);
	}
	if (p == NULL || part == NULL) {
		char err[128];
		free(p);
		snprintf(err, sizeof(err), "could not commit batch of %zu turns: out of memory",
		         ncalls);
		dobj__log_error("shard %u: %s", s->index, err);
		for (dobj__call *c = calls, *cn; c != NULL; c = cn) {
			cn = c->next;
			if (c->in_commit || !first || s->pend_head != NULL)
				dobj__call_answer(c, DOBJ_RESOURCE_EXHAUSTED, err, NULL);
			c->done(c);
		}
		batch_doom(s, batch);
		return;
	}
	/* On its way: the objects' dirty state now belongs to the batch. */
	p->s = s;
	p->calls = calls;
	p->first = first;
	/* a fired alarm's row is deleted by this batch: until it commits, a claim of that row
	 * again (its lease ran out meanwhile) is superseded, not a reason to read it back */
	for (dobj__call *c = calls; c != NULL; c = c->next)
		if (c->fired && c->obj != NULL)
			c->obj->alarm_batch = p;
	for (dobj__object *o = batch, *next; o != NULL; o = next) {
		next = o->batch_next;
		o->batch_next = NULL;
		o->in_batch = false;
		o->pins++;
		if (o->alarm_dirty)
			o->alarm_batch = p;
		dobj__object_sent(o);
		p->objs[n++] = o;
		/* made before the shard heard of a failure (the open batch handed over then): the
		 * committer will refuse it, so no later turn may read its writes */
		if (gen < s->gen)
			doom(s, o);
	}
	p->nobjs = n;
	p->req.part = part;
	p->req.nturns = wrote;
	p->req.source = s;
	p->req.gen = gen; /* the batch may have read what was pending when its first turn ran */
	p->req.failed_gen = &s->failed_gen;
	p->req.done = commit_done;
	p->req.taken = commit_taken;
	pthread_mutex_lock(&s->mu);
	s->queued++;
	s->unheard++;
	pthread_mutex_unlock(&s->mu);
	if (s->pend_tail != NULL)
		s->pend_tail->next = p;
	else
		s->pend_head = p;
	s->pend_tail = p;
	dobj__committer_submit(s->cfg->committer, &p->req);
}

/* end_open hands the open batch over (end_batch) and starts a new one. */
void
dobj__gate_end_open(dobj__shard *s)
{
	dobj__call *calls = s->open_calls, *last = s->open_tail;
	dobj__object *batch = s->open_batch;
	size_t n = s->open_n;

	if (calls == NULL) /* already handed over (a failure was heard meanwhile) */
		return;
	s->open_calls = s->open_tail = NULL;
	s->open_batch = NULL;
	s->open_n = 0;
	s->open_bytes = 0;
	end_batch(s, calls, last, n, batch, s->open_gen, s->open_first);
}

void
dobj__gate_take_reports(dobj__shard *s, dobj__pending *done)
{
	for (dobj__pending *p = done, *pn; p != NULL; p = pn) {
		pn = p->done_next;
		complete(s, p);
	}
	dobj__gate_evict_doomed(s);
}
