/* SPDX-License-Identifier: MIT */
/* shard_int.h - what shard.c (the turn loop, activation, life cycle) shares with gate.c (the
 * output gate: the batches on their way to the committer and the replies they hold). */
#ifndef DOBJ_SERVER_SHARD_INT_H
#define DOBJ_SERVER_SHARD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "committer.h"
#include "object.h"
#include "objmap.h"
#include "pgstore.h"
#include "shard.h"

/* dobj__pending: a batch handed to the committer, with the calls whose replies wait for it and the
 * objects it writes (pinned until it ends). */
typedef struct dobj__pending {
	dobj__commit_req req;       /* first: the committer's report finds the record */
	struct dobj__pending *next; /* the shard's batches in order */
	struct dobj__pending *done_next;
	struct dobj__shard *s;
	dobj__call *calls;            /* the batch's own calls */
	dobj__call *deps, *deps_tail; /* read-only batches that ran after it, held behind it */
	bool first; /* no batch was pending when it ran: its turns read only durable state */
	size_t nobjs;
	dobj__object *objs[];
} dobj__pending;

#define DOBJ__SHARD_SPARE_PARTS 4

struct dobj__shard {
	unsigned index;
	const dobj__shard_cfg *cfg;
	pthread_t thread;
	bool started;

	/* mu protects the queue, the stop state, the committer's reports, queued and unheard */
	pthread_mutex_t mu;
	pthread_cond_t cv;      /* the shard thread waits for calls, reports or stopping */
	pthread_cond_t exit_cv; /* the server waits for exited */
	dobj__call *qhead, *qtail;
	size_t qlen;
	bool stopping;
	int64_t drain_deadline_ms;            /* once stopping: calls not run by then are refused */
	bool exited;                          /* the thread has answered everything and returns */
	dobj__pending *done_head, *done_tail; /* batches the committer has finished, in order */
	unsigned queued;  /* batches handed to the committer that it has not taken yet */
	unsigned unheard; /* batches handed to the committer whose outcome it has not reported */

	/* shard thread only */
	dobj__pg *pg;
	dobj__objmap objs; /* the live objects */
	dobj__undo undo;
	dobj__pending *pend_head, *pend_tail; /* batches with the committer, oldest first */
	/* The open batch: calls run but not handed over yet. While the committer still holds a
	 * batch of this shard that it has not taken, new calls join the open batch, so that the
	 * next transaction takes all of them at once. */
	dobj__call *open_calls, *open_tail;
	size_t open_n;
	size_t open_bytes; /* the open batch's requests and writes, bytes (DOBJ__BATCH_BYTES) */
	dobj__object *open_batch;
	uint64_t open_gen; /* gen when the open batch's first turn ran */
	bool open_first;   /* no batch was pending then: its turns read only committed state */
	/* A batch depends on the ones pending when it ran. When one fails, the committer raises
	 * failed_gen and fails every later batch made with a lower gen; the shard adopts the new
	 * gen once it has dropped the objects of the failed batch. */
	uint64_t gen;
	_Atomic uint64_t failed_gen;
	char fail_reason[512]; /* why the last failed batch failed */
	/* finished batches' parts, their buffers kept for the next ones: as many as a shard
	 * usually has batches on their way (the transaction committing, the one sent behind it,
	 * the one queued) */
	dobj__pg_part *spare[DOBJ__SHARD_SPARE_PARTS];
	unsigned nspare;
	dobj__object **doomed; /* objects to drop once no pending batch writes them */
	size_t ndoomed, doomed_cap;

	/* counters, read by dobj__shard_stats_get from other threads */
	_Atomic uint64_t turns, drain_refused;
	_Atomic size_t live;
};

/* gate.c: dobj__gate_reserve_doomed makes room in the doomed list for every live object plus n
 * more (-1 if out of memory); dobj__gate_end_open hands the open batch over and starts a new
 * one; dobj__gate_take_reports ends the batches the committer has reported on (done, a list
 * through done_next, oldest first); dobj__gate_evict_doomed drops the doomed objects that may
 * reload now. */
int dobj__gate_reserve_doomed(dobj__shard *s, size_t n);
void dobj__gate_end_open(dobj__shard *s);
void dobj__gate_take_reports(dobj__shard *s, dobj__pending *done);
void dobj__gate_evict_doomed(dobj__shard *s);

#endif /* DOBJ_SERVER_SHARD_INT_H */
