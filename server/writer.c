// SPDX-License-Identifier: MIT
// writer.c - the writer lock and epoch (writer.h) on the commit connection: plain queries on a
// connection that is not in pipeline mode, run at start and after a reconnect, never per
// commit.
//
// Why the other connections need no lock: only the commit connection writes objects (storage,
// FSM records, alarms that objects set or fired). The shards' connections only read, and a
// dobjd reads only once it serves, which it does only after taking the lock (a standby opens
// them and leaves them idle). The alarm poller starts only once the lock is held too; its
// claims, renewals, retries and releases touch only dobj_alarms rows whose lease_owner is this
// dobjd (each statement is fenced by it), and an alarm an object sets on the new writer drops
// any other owner's lease (pgstore.c, ST_ALARM_UPSERT), so a dobjd that lost the lock, in the
// moments before it exits, can at worst hold an alarm back until its lease runs out; the
// fired alarm's commit itself goes through the commit connection and fails. The readiness
// probe (pgping.c) reads dobj_schema_migrations only. `dobjd migrate` takes another key.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "migrate.h"
#include "pgstore_int.h"
#include "writer.h"

#define KEY DOBJ__WRITER_LOCK_KEY "::bigint"

/* The session that holds the lock in this database: a bigint key shows in pg_locks as classid
 * (its high 32 bits), objid (its low ones) and objsubid 1. */
static const char holder_sql[] =
    "SELECT l.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), ''), "
    "coalesce((extract(epoch FROM a.backend_start) * 1000000)::bigint, 0) "
    "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND l.classid = (" KEY " >> 32)::oid AND l.objid = (" KEY " & 4294967295)::oid LIMIT 1";

/* query runs sql with up to one text parameter; NULL (msg set, the connection marked for a
 * reconnect if it is gone: dobj__pg_result_error) if it did not return rows. */
static PGresult *
query(dobj__pg *pg, const char *sql, const char *param, const char *what, char *msg, size_t msglen)
{
	PGresult *r = PQexecParams(pg->conn, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		return r;
	msg[0] = '\0'; /* dobj__pg_result_error keeps a message it finds for a NULL result */
	dobj__pg_result_error(pg, r, what, msg, msglen);
	return NULL;
}

/* holder names the session that holds the lock in msg; its pid and start time, or 0. */
static void
holder(dobj__pg *pg, int *pid, int64_t *start, char *msg, size_t msglen)
{
	char why[256];
	PGresult *r = query(pg, holder_sql, NULL, "could not read pg_locks", why, sizeof(why));

	*pid = 0;
	*start = 0;
	if (r == NULL) {
		snprintf(msg, msglen, "held by another session (%s)", why);
		return;
	}
	if (PQntuples(r) == 0) {
		snprintf(msg, msglen, "held by another session, which has just let it go");
	} else {
		const char *app = PQgetvalue(r, 0, 1), *addr = PQgetvalue(r, 0, 2);

		*pid = atoi(PQgetvalue(r, 0, 0));
		*start = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		snprintf(msg, msglen,
		         "held by PostgreSQL backend %d (application_name %s, client %s)", *pid,
		         app[0] ? app : "unknown", addr[0] ? addr : "local socket");
	}
	PQclear(r);
}

static void
unlock(dobj__pg *pg)
{
	PQclear(PQexec(pg->conn, "SELECT pg_advisory_unlock(" KEY ")"));
}

dobj__writer_rc
dobj__writer_take(dobj__writer *w, dobj__pg *pg, char *msg, size_t msglen)
{
	char param[24], why[320];
	PGresult *r;
	bool got;
	int pid;
	int64_t start, was;

	w->held = false;
	if (dobj__pg_ensure(pg, msg, msglen) != DOBJ_OK)
		return DOBJ__WRITER_ERROR;
	if (PQpipelineStatus(pg->conn) != PQ_PIPELINE_OFF) { /* not a new connection: a bug */
		snprintf(msg, msglen, "cannot take the writer lock on a busy connection");
		return DOBJ__WRITER_ERROR;
	}
	if ((r = query(pg, "SELECT pg_try_advisory_lock(" KEY ")", NULL,
	               "could not take the writer lock", msg, msglen)) == NULL)
		return DOBJ__WRITER_ERROR;
	got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!got) {
		holder(pg, &pid, &start, why, sizeof(why));
		if (w->epoch != 0 && pid != 0 && pid == w->pid && start == w->start) {
			/* this dobjd's own session, whose connection died unseen: nobody else
			 * can have taken the lock since; end it and try again */
			snprintf(param, sizeof(param), "%d", pid);
			PQclear(query(pg, "SELECT pg_terminate_backend($1::int)", param,
			              "could not end it", why, sizeof(why)));
			snprintf(msg, msglen,
			         "the writer lock is still held by this dobjd's previous session, "
			         "PostgreSQL backend %d: ending it",
			         pid);
			return DOBJ__WRITER_ERROR;
		}
		snprintf(msg, msglen, "%s", why);
		return DOBJ__WRITER_BUSY;
	}
	/* held: the epoch, compared first when this dobjd took the lock before */
	snprintf(param, sizeof(param), "%lld", (long long)w->epoch);
	r = query(pg,
	          w->epoch == 0 ? "UPDATE dobj_writer SET epoch = epoch + 1 RETURNING epoch"
	                        : "UPDATE dobj_writer SET epoch = epoch + 1 "
	                          "WHERE epoch = $1::bigint RETURNING epoch",
	          w->epoch == 0 ? NULL : param, "could not bump the writer epoch", msg, msglen);
	if (r == NULL) {
		unlock(pg);
		return DOBJ__WRITER_ERROR;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		r = query(pg, "SELECT epoch FROM dobj_writer", NULL, "could not read the epoch",
		          why, sizeof(why));
		was = r != NULL && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : -1;
		PQclear(r);
		unlock(pg);
		if (w->epoch == 0) {
			snprintf(msg, msglen,
			         "the table dobj_writer has no row: run `dobjd migrate`");
			return DOBJ__WRITER_ERROR;
		}
		snprintf(msg, msglen,
		         "the writer epoch is %lld, not %lld as this dobjd left it: another dobjd "
		         "took the writer lock meanwhile",
		         (long long)was, (long long)w->epoch);
		return DOBJ__WRITER_MOVED;
	}
	w->epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	w->held = true;
	w->gen = pg->conn_gen;
	w->pid = pg->backend_pid;
	w->start = pg->backend_start;
	return DOBJ__WRITER_HELD;
}

bool
dobj__writer_current(const dobj__writer *w, const dobj__pg *pg)
{
	return w->held && w->gen == pg->conn_gen;
}
