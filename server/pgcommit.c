// SPDX-License-Identifier: MIT
// pgcommit.c - committing a shard's batch of turns: BEGIN, one multi-row statement per kind of
// change (binary arrays through unnest), COMMIT, all in one libpq pipeline, so that a batch
// costs one round trip and one fsync whatever its size. Order matters: delete-all before
// deletes before upserts; fired alarms (fenced by their lease) before alarm writes.

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "pgarr.h"
#include "pgstore_int.h"
#include "registry.h"

/* the joined arrays of a transaction larger than this are freed once sent, not reused */
#define MERGED_KEEP_BYTES ((size_t)16 << 20)

/* change_set: the columns of one statement, in the order of its parameters. */
#define MAX_COLS 4

typedef struct change_set {
	enum dobj__pg_stmt st;
	int ncols;
	dobj__pgarr col[MAX_COLS];
	const char *trailing; /* one more text parameter after the arrays, or NULL */
} change_set;

static void
change_begin(change_set *c, enum dobj__pg_stmt st, int ncols, const Oid *elems)
{
	c->st = st;
	c->ncols = ncols;
	c->trailing = NULL;
	for (int i = 0; i < ncols; i++)
		dobj__pgarr_begin(&c->col[i], elems[i]);
}

/* change_object starts a row with the object's class and id. */
static void
change_object(change_set *c, const dobj__object *o)
{
	const char *cls = o->cls->cls->name;

	dobj__pgarr_add(&c->col[0], cls, strlen(cls));
	dobj__pgarr_add(&c->col[1], o->id.bytes, DOBJ_ID_SIZE);
}

static void
change_i64(dobj__pgarr *a, int64_t v)
{
	uint64_t be = dobj__pg_be64((uint64_t)v);

	dobj__pgarr_add(a, &be, 8);
}

static bool
change_oom(const change_set *c)
{
	for (int i = 0; i < c->ncols; i++)
		if (c->col[i].oom)
			return true;
	return false;
}

/* send_change queues c's statement in the pipeline: 1 if sent, 0 if empty, -1 on error. */
static int
send_change(dobj__pg *pg, change_set *c)
{
	const char *vals[MAX_COLS + 1];
	int lens[MAX_COLS + 1], fmts[MAX_COLS + 1], n = c->ncols;
	char name[16];

	if (c->col[0].count == 0)
		return 0;
	for (int i = 0; i < c->ncols; i++) {
		vals[i] = c->col[i].buf; /* ended by part_end */
		lens[i] = (int)c->col[i].len;
		fmts[i] = 1;
	}
	if (c->trailing != NULL) {
		vals[n] = c->trailing;
		lens[n] = (int)strlen(c->trailing);
		fmts[n++] = 1;
	}
	dobj__pg_stmt_name(c->st, name, sizeof(name));
	return PQsendQueryPrepared(pg->conn, name, n, vals, lens, fmts, 1) ? 1 : -1;
}

enum {
	CH_CLEAR,
	CH_DELETE,
	CH_UPSERT,
	CH_OBJECTS,
	CH_FIRED,
	CH_ALARM_DELETE,
	CH_ALARM_UPSERT,
	NCH
};

/* collect fills the change sets from the batch's dirty objects and fired alarms. */
static void
collect(change_set *ch, dobj__object *batch, const dobj__call *calls)
{
	for (dobj__object *o = batch; o != NULL; o = o->batch_next) {
		if (o->cleared)
			change_object(&ch[CH_CLEAR], o);
		if (!o->persisted)
			change_object(&ch[CH_OBJECTS], o);
		for (size_t i = 0; i < o->n; i++) {
			const dobj__entry *e = &o->entries[i];
			change_set *c = e->present ? &ch[CH_UPSERT] : &ch[CH_DELETE];
			if (!e->dirty)
				continue;
			change_object(c, o);
			dobj__pgarr_add(&c->col[2], e->key, e->klen);
			if (e->present)
				dobj__pgarr_add(&c->col[3], e->val, e->vlen);
		}
		if (o->alarm_dirty && o->has_alarm) {
			change_object(&ch[CH_ALARM_UPSERT], o);
			change_i64(&ch[CH_ALARM_UPSERT].col[2], o->alarm_ms);
		} else if (o->alarm_dirty) {
			change_object(&ch[CH_ALARM_DELETE], o);
		}
	}
	for (const dobj__call *c = calls; c != NULL; c = c->next) {
		if (c->kind != DOBJ_CALL_ALARM || !c->fired || c->obj == NULL)
			continue;
		change_object(&ch[CH_FIRED], c->obj);
		change_i64(&ch[CH_FIRED].col[2], c->alarm_due_ms);
	}
}

/* A part: one shard batch's changes, collected on the shard's thread (which owns the objects)
 * and sent later, with the parts of other shards, in one transaction. */
struct dobj__pg_part {
	change_set ch[NCH];
	size_t nturns;
};

/* part_begin starts part's change sets, empty. */
static void
part_begin(dobj__pg_part *part)
{
	static const Oid key_value[] = {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BYTEA};
	static const Oid due[] = {OID_TEXT, OID_BYTEA, OID_INT8};
	static const enum dobj__pg_stmt st[NCH] = {ST_CLEAR,       ST_DELETE,       ST_UPSERT,
	                                           ST_OBJECTS,     ST_ALARMS_FIRED, ST_ALARM_DELETE,
	                                           ST_ALARM_UPSERT};
	static const int ncols[NCH] = {2, 3, 4, 2, 3, 2, 3};

	part->nturns = 0;
	for (int i = 0; i < NCH; i++)
		change_begin(&part->ch[i], st[i], ncols[i],
		             i == CH_FIRED || i == CH_ALARM_UPSERT ? due : key_value);
}

/* part_end ends part's arrays: false if one ran out of memory. */
static bool
part_end(dobj__pg_part *part)
{
	for (int i = 0; i < NCH; i++) {
		if (change_oom(&part->ch[i]))
			return false;
		if (part->ch[i].col[0].count > 0)
			for (int k = 0; k < part->ch[i].ncols; k++)
				dobj__pgarr_end(&part->ch[i].col[k]);
	}
	return true;
}

dobj__pg_part *
dobj__pg_part_build(dobj__pg_part *reuse, dobj__object *batch, const dobj__call *calls,
                    size_t nturns)
{
	dobj__pg_part *part = reuse != NULL ? reuse : calloc(1, sizeof(*part));

	if (part == NULL)
		return NULL;
	part_begin(part);
	part->nturns = nturns;
	collect(part->ch, batch, calls);
	if (!part_end(part)) {
		dobj__pg_part_free(part);
		return NULL;
	}
	return part;
}

/* merge joins the parts, kind by kind, into the connection's scratch part, so that a
 * transaction runs one statement per kind whatever the number of shards. The parts are of
 * different shards, so no two hold the same row. NULL if out of memory. */
static dobj__pg_part *
merge(dobj__pg *pg, dobj__pg_part *const *parts, size_t nparts)
{
	dobj__pg_part *m = pg->merged;

	if (m == NULL && (m = pg->merged = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	part_begin(m);
	for (size_t p = 0; p < nparts; p++) {
		m->nturns += parts[p]->nturns;
		for (int i = 0; i < NCH; i++)
			for (int k = 0; k < m->ch[i].ncols; k++)
				dobj__pgarr_append(&m->ch[i].col[k], &parts[p]->ch[i].col[k]);
	}
	return part_end(m) ? m : NULL;
}

/* change_bytes is what c's statement carries in its arrays, in bytes. */
static size_t
change_bytes(const change_set *c)
{
	size_t n = 0;

	for (int k = 0; k < c->ncols; k++)
		n += c->col[k].len;
	return n;
}

size_t
dobj__pg_part_bytes(const dobj__pg_part *part)
{
	size_t n = 0;

	for (int i = 0; i < NCH; i++)
		n += change_bytes(&part->ch[i]);
	return n;
}

dobj__pg_part *
dobj__pg_part_keep(dobj__pg_part *part)
{
	size_t cap = 0;

	if (part == NULL)
		return NULL;
	for (int i = 0; i < NCH; i++)
		for (int k = 0; k < part->ch[i].ncols; k++)
			cap += part->ch[i].col[k].cap;
	if (cap <= DOBJ__PG_PART_KEEP_BYTES)
		return part;
	dobj__pg_part_free(part);
	return NULL;
}

void
dobj__pg_part_free(dobj__pg_part *part)
{
	if (part == NULL)
		return;
	for (int i = 0; i < NCH; i++)
		for (int k = 0; k < part->ch[i].ncols; k++)
			free(part->ch[i].col[k].buf);
	free(part);
}

/* The commit connection stays in pipeline mode. Each transaction is BEGIN, its changes, maybe
 * a notify, a flush request, COMMIT and another flush request, so its results arrive in two
 * steps: the changes (the server is now committing), then COMMIT. No Sync separates one
 * transaction from the next: when one fails, the server skips everything after it up to the
 * next Sync, so a transaction sent behind a failed one is never applied. A Sync is sent when
 * nothing is in flight, and after a failure. */

/* pipe_check forgets the pipeline's bookkeeping when the connection is a new one. */
static void
pipe_check(dobj__pg *pg)
{
	if (pg->pipe_gen != pg->conn_gen) {
		pg->pipe_gen = pg->conn_gen;
		pg->syncs_pending = 0;
	}
}

static bool
send_flush(dobj__pg *pg)
{
	return PQsendFlushRequest(pg->conn) == 1;
}

static bool
send_sql(dobj__pg *pg, const char *sql)
{
	return PQsendQueryParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 0) == 1;
}

static bool
send_prepared(dobj__pg *pg, enum dobj__pg_stmt st)
{
	char name[16];

	dobj__pg_stmt_name(st, name, sizeof(name));
	return PQsendQueryPrepared(pg->conn, name, 0, NULL, NULL, NULL, 0) == 1;
}

dobj_err
dobj__pg_commit_send(dobj__pg *pg, dobj__pg_part *const *parts, size_t nparts, const char *owner,
                     dobj__pg_txn *t, char *err, size_t errlen)
{
	dobj__pg_part *merged;
	bool ok = true, alarms = false;

	memset(t, 0, sizeof(*t));
	t->sent_us = dobj__clock_mono_us();
	t->next_warn_us = t->sent_us + DOBJ__COMMIT_WARN_MS * 1000LL;
	err[0] = '\0';
	pipe_check(pg);
	if (nparts > 1 && (merged = merge(pg, parts, nparts)) != NULL) {
		parts = &merged; /* out of memory: the parts go one by one, as correct */
		nparts = 1;
	}
	for (size_t p = 0; p < nparts; p++) {
		t->nturns += parts[p]->nturns;
		parts[p]->ch[CH_FIRED].trailing = owner;
		parts[p]->ch[CH_ALARM_UPSERT].trailing = owner;
		alarms = alarms || parts[p]->ch[CH_ALARM_UPSERT].col[0].count > 0;
	}
	for (size_t p = 0; p < nparts; p++) {
		for (int i = 0; i < NCH; i++) {
			size_t bytes = change_bytes(&parts[p]->ch[i]);
			if (bytes <= DOBJ__PG_STATEMENT_BYTES)
				continue;
			/* nothing sent: the connection stays as it was */
			snprintf(
			    err, errlen,
			    "could not commit batch of %zu turns: its writes take %zu MiB in one "
			    "statement, over the %u MiB that one PostgreSQL message may carry",
			    t->nturns, bytes >> 20, (unsigned)(DOBJ__PG_STATEMENT_BYTES >> 20));
			return DOBJ_RESOURCE_EXHAUSTED;
		}
	}
	ok = (PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF || PQenterPipelineMode(pg->conn)) &&
	     send_prepared(pg, ST_BEGIN);
	t->nstmts = ok;
	/* kind by kind (when not merged): the parts are of different shards, so no two write the
	 * same rows */
	for (int i = 0; i < NCH && ok; i++) {
		for (size_t p = 0; p < nparts && ok; p++) {
			int s = send_change(pg, &parts[p]->ch[i]);
			ok = s >= 0;
			t->nstmts += s > 0;
		}
	}
	/* A new alarm may be nearer than every poller's next wake-up. */
	if (ok && alarms && (ok = send_sql(pg, "SELECT pg_notify('dobj_alarms', '')")))
		t->nstmts++;
	if (ok && (ok = send_flush(pg) && send_prepared(pg, ST_COMMIT) && send_flush(pg)))
		t->nstmts++;
	/* libpq has copied the parameters: a large transaction's arrays are not kept for good */
	if (parts[0] == pg->merged && dobj__pg_part_bytes(pg->merged) > MERGED_KEEP_BYTES) {
		dobj__pg_part_free(pg->merged);
		pg->merged = NULL;
	}
	if (!ok || PQflush(pg->conn) != 0) {
		/* the commands queued so far would confuse the next reader: start afresh */
		dobj__pg_broken(pg, "connection to PostgreSQL lost during a commit");
		atomic_fetch_add(&pg->errors, 1);
		snprintf(err, errlen, "could not commit batch of %zu turns: %s", t->nturns,
		         PQstatus(pg->conn) == CONNECTION_OK ? PQerrorMessage(pg->conn)
		                                             : "connection to PostgreSQL lost");
		dobj__chomp(err);
		t->nstmts = 0;
		return DOBJ_UNAVAILABLE;
	}
	return DOBJ_OK;
}

/* await_input waits until a result of t can be read without blocking, or the connection has
 * failed (PQgetResult then reports it). A server that keeps t waiting (a lock held by another
 * session, a synchronous standby that does not answer, a slow trigger) is logged now and then:
 * the replies of t's calls, and every commit behind it, wait with it. */
static void
await_input(dobj__pg *pg, dobj__pg_txn *t)
{
	while (PQisBusy(pg->conn)) {
		struct pollfd p = {.fd = PQsocket(pg->conn), .events = POLLIN};
		int rc = p.fd < 0 ? -1 : poll(&p, 1, 1000);
		int64_t now;

		if (rc < 0 && (p.fd < 0 || errno != EINTR))
			return; /* PQgetResult reports it, or waits as before */
		if (rc > 0 && PQconsumeInput(pg->conn) == 0)
			return;
		if ((now = dobj__clock_mono_us()) >= t->next_warn_us) {
			char who[32] = "";

			t->next_warn_us = now + DOBJ__COMMIT_REWARN_MS * 1000LL;
			if (pg->backend_pid > 0)
				snprintf(who, sizeof(who), " backend %d", pg->backend_pid);
			dobj__log_warn(
			    "committer: a commit of %zu turns has waited %lld s for "
			    "PostgreSQL%s (see pg_stat_activity); its calls' replies and "
			    "the commits behind it wait with it",
			    t->nturns, (long long)((now - t->sent_us) / 1000000), who);
		}
	}
}

/* read_stmt reads the results of t's next statement: false if the connection broke first.
 * The first error is the one kept; statements the server skipped after an error (of this
 * transaction or an earlier one) come as PIPELINE_ABORTED. */
static bool
read_stmt(dobj__pg *pg, dobj__pg_txn *t)
{
	bool got = false, after_sync = false;

	for (;;) {
		PGresult *r;
		ExecStatusType st;

		await_input(pg, t);
		if ((r = PQgetResult(pg->conn)) == NULL) {
			if (got) {
				t->nread++;
				return true;
			}
			if (after_sync && PQstatus(pg->conn) == CONNECTION_OK) {
				after_sync = false; /* the NULL that may follow a Sync's result */
				continue;
			}
			return false;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC && pg->syncs_pending > 0) {
			pg->syncs_pending--;
			after_sync = true;
		} else if (st == PGRES_PIPELINE_ABORTED) {
			got = true;
			t->naborted++;
			if (!t->failed)
				snprintf(t->err, sizeof(t->err), "an earlier transaction failed");
			t->failed = true;
		} else if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			got = true;
			t->committed = !t->failed && t->nread == t->nstmts - 1;
		} else if (PQresultErrorField(r, PG_DIAG_SQLSTATE) == NULL) {
			/* libpq's own error: the connection is gone, and the server may have gone
			 * further than the results that reached this side */
			got = true;
			t->broken = true;
		} else {
			got = true;
			if (!t->errored) {
				snprintf(t->err, sizeof(t->err), "%s", PQresultErrorMessage(r));
				dobj__chomp(t->err);
			}
			t->failed = true;
			t->errored = true;
		}
		PQclear(r);
	}
}

void
dobj__pg_commit_read(dobj__pg *pg, dobj__pg_txn *t, bool through_commit)
{
	int upto = through_commit ? t->nstmts : t->nstmts - 1;

	while (!t->broken && t->nread < upto)
		if (!read_stmt(pg, t))
			t->broken = true;
	if (t->broken)
		dobj__pg_broken(pg, "connection to PostgreSQL lost during a commit");
}

dobj_err
dobj__pg_commit_outcome(dobj__pg *pg, const dobj__pg_txn *t, char *err, size_t errlen)
{
	err[0] = '\0';
	if (t->committed)
		return DOBJ_OK;
	/* its own statement failed, or the connection broke under it; not a skipped one */
	atomic_fetch_add(&pg->errors, t->errored || t->broken);
	if (t->failed) /* the server reported an error before or at COMMIT: nothing written */
		snprintf(err, errlen, "could not commit batch of %zu turns: %s", t->nturns, t->err);
	else
		snprintf(err, errlen,
		         "could not commit batch of %zu turns (outcome unknown): connection to "
		         "PostgreSQL lost before COMMIT was answered",
		         t->nturns);
	return DOBJ_UNAVAILABLE;
}

bool
dobj__pg_commit_skipped(const dobj__pg_txn *t)
{
	return !t->broken && t->naborted == t->nstmts;
}

void
dobj__pg_commit_settle(dobj__pg *pg, bool failed)
{
	pipe_check(pg);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK ||
	    PQpipelineStatus(pg->conn) == PQ_PIPELINE_OFF)
		return;
	if (!failed && PQpipelineStatus(pg->conn) == PQ_PIPELINE_ON) {
		/* idle: let the server report ready; its answer is read before the next results */
		if (PQpipelineSync(pg->conn) == 1)
			pg->syncs_pending++;
		else
			dobj__pg_broken(pg, "connection to PostgreSQL lost during a commit");
		return;
	}
	/* after a failure: read up to a Sync, then end the transaction block left aborted */
	if (PQpipelineSync(pg->conn) != 1) {
		dobj__pg_broken(pg, "connection to PostgreSQL lost during a commit");
		return;
	}
	for (pg->syncs_pending++; pg->syncs_pending > 0;) {
		PGresult *r = PQgetResult(pg->conn);
		if (r == NULL) {
			if (PQstatus(pg->conn) != CONNECTION_OK)
				break;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC)
			pg->syncs_pending--;
		PQclear(r);
	}
	if (pg->syncs_pending > 0 || PQexitPipelineMode(pg->conn) != 1) {
		dobj__pg_broken(pg, "connection to PostgreSQL lost during a commit");
		return;
	}
	if (PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
		PQclear(PQexec(pg->conn, "ROLLBACK"));
}

/* --- the fence after a commit of unknown outcome (pgstore.h) --------------------------------- */

#define FENCE_WAIT_MS 200 /* how long one check waits for the ended backend to be gone */
#define FENCE_POLL_MS 10
#define FENCE_SAY_MS 10000 /* a check that cannot clear says why at most this often */

bool
dobj__pg_fence_set(dobj__pg *pg)
{
	if (pg->backend_pid == 0 || pg->backend_start == 0)
		return false;
	pg->fence_pid = pg->backend_pid;
	pg->fence_start = pg->backend_start;
	pg->fence_said_ms = 0;
	return true;
}

int
dobj__pg_fence_pid(const dobj__pg *pg)
{
	return pg->fence_pid;
}

/* fence_query runs sql with the fenced backend's pid and start time: the number of rows, or
 * -1 (err set) if it failed. */
static int
fence_query(dobj__pg *pg, const char *sql, char *err, size_t errlen)
{
	char pid[16], start[24];
	const char *vals[2] = {pid, start};
	PGresult *r;
	int n = -1;

	snprintf(pid, sizeof(pid), "%d", pg->fence_pid);
	snprintf(start, sizeof(start), "%lld", (long long)pg->fence_start);
	r = PQexecParams(pg->conn, sql, 2, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		n = PQntuples(r);
	} else {
		snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn));
		dobj__chomp(err);
		if (PQstatus(pg->conn) != CONNECTION_OK)
			dobj__pg_broken(pg, "connection to PostgreSQL lost");
	}
	PQclear(r);
	return n;
}

#define FENCE_MATCH                                      \
	"FROM pg_stat_activity WHERE pid = $1::int AND " \
	"(extract(epoch FROM backend_start) * 1000000)::bigint = $2::bigint"

dobj_err
dobj__pg_fence_check(dobj__pg *pg, char *err, size_t errlen)
{
	char why[448] = "", terr[256] = "";
	int64_t now;
	int n;

	if (pg->fence_pid == 0)
		return DOBJ_OK;
	if (PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF) { /* not a new connection: a bug */
		snprintf(err, errlen,
		         "cannot check on PostgreSQL backend %d from a busy connection",
		         pg->fence_pid);
		return DOBJ_UNAVAILABLE;
	}
	/* Ending it is best effort: a role may not be allowed to (EXECUTE revoked). It then ends
	 * by itself, and the fence waits for that. */
	fence_query(pg, "SELECT pg_terminate_backend(pid) " FENCE_MATCH, terr, sizeof(terr));
	n = fence_query(pg, "SELECT 1 " FENCE_MATCH, why, sizeof(why));
	for (int64_t waited = 0; n > 0 && waited < FENCE_WAIT_MS; waited += FENCE_POLL_MS) {
		struct timespec ts = {0, FENCE_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
		n = fence_query(pg, "SELECT 1 " FENCE_MATCH, why, sizeof(why));
	}
	if (n == 0) {
		dobj__log_info("%s: PostgreSQL backend %d, which was running a commit when its "
		               "connection died, has ended; its objects reload",
		               pg->name, pg->fence_pid);
		pg->fence_pid = 0;
		pg->fence_start = 0;
		return DOBJ_OK;
	}
	if (n > 0)
		snprintf(why, sizeof(why), "it has not ended yet%s%.256s",
		         terr[0] ? "; could not end it: " : "", terr);
	snprintf(err, errlen,
	         "waiting for PostgreSQL backend %d, which was running a commit when its "
	         "connection died, to end: %s",
	         pg->fence_pid, why);
	now = dobj__clock_mono_ms();
	if (pg->fence_said_ms == 0 || now - pg->fence_said_ms >= FENCE_SAY_MS) {
		pg->fence_said_ms = now;
		dobj__log_warn("%s: %s; until then writes and the objects it wrote are refused",
		               pg->name, err);
	}
	return DOBJ_UNAVAILABLE;
}
