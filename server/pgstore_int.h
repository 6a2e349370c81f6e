/* SPDX-License-Identifier: MIT */
/* pgstore_int.h - what pgstore.c (connections, reads) shares with pgcommit.c (the commit). */
#ifndef DOBJ_SERVER_PGSTORE_INT_H
#define DOBJ_SERVER_PGSTORE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "pgstore.h"

/* type OIDs from PostgreSQL's pg_type.dat */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_BYTEA_ARRAY 1001
#define OID_INT8_ARRAY 1016
#define OID_TEXT_ARRAY 1009

/* The prepared statements, named "dobj_<n>" on every connection. */
enum dobj__pg_stmt {
	ST_LOAD,
	ST_GET,
	ST_RANGE_ASC,
	ST_RANGE_DESC,
	ST_RANGE_ASC_END,
	ST_RANGE_DESC_END,
	ST_CLEAR,
	ST_DELETE,
	ST_UPSERT,
	ST_OBJECTS,
	ST_ALARM_GET,
	ST_ALARM_DELETE,
	ST_ALARM_UPSERT,
	ST_ALARMS_FIRED,
	ST_LOAD_MANY,
	ST_BEGIN,
	ST_COMMIT,
	ST_COUNT
};

/* A connection is ready when conn is CONNECTION_OK, prepared and not connecting. Otherwise
 * dobj__pg_ensure and dobj__pg_tick drive a non-blocking reconnect (PQconnectStart/Poll),
 * attempts spaced by backoff_ms; calls that need PostgreSQL meanwhile fail fast. All fields
 * but the counters belong to the owning shard thread. */
struct dobj__pg {
	PGconn *conn; /* NULL after a failed attempt */
	char *dsn;
	char name[32]; /* "shard 3", for logs */
	bool prepared; /* false: reconnect and prepare again before the next use */
	bool connecting;
	PostgresPollingStatusType poll_st; /* while connecting: what the socket must be ready for */
	int64_t attempt_deadline_ms;       /* while connecting: give up then */
	int64_t attempt_wait_until_ms;     /* while connecting: a caller may wait until then */
	int64_t retry_at_ms;               /* not connecting: the next attempt, 0 = at once */
	int backoff_ms;                    /* 0 while up; else the last delay between attempts */
	unsigned failed_attempts;          /* since the connection was last up */
	char down_reason[256];             /* why the connection is not up ("" while up) */
	_Atomic uint64_t errors;           /* failed statements, commits and connection attempts */
	_Atomic uint64_t reconnects;       /* connections re-established after a failure */
	uint64_t conn_gen;                 /* bumped for each new conn */
	/* the backend serving conn, read when it was made: its pid and start time (microseconds
	 * since the epoch), which name it even after conn is gone; 0 when pg_stat_activity would
	 * not say */
	int backend_pid;
	int64_t backend_start;
	bool unidentified_said; /* that warning was logged */
	/* a backend whose connection died while it ran a commit: it may still commit, so the
	 * objects that commit wrote reload only once it has ended (pgcommit.c) */
	int fence_pid;
	int64_t fence_start;
	int64_t fence_said_ms; /* when a check last logged why it could not clear */
	/* the commit pipeline (pgcommit.c), on the connection of generation pipe_gen */
	uint64_t pipe_gen;
	int syncs_pending;     /* Syncs sent whose answer has not been read */
	dobj__pg_part *merged; /* scratch: the parts of one commit joined (pgcommit.c) */
};

/* dobj__pg_stmt_name writes statement st's prepared name into buf. */
void dobj__pg_stmt_name(enum dobj__pg_stmt st, char *buf, size_t len);

/* dobj__pg_exec runs statement st with binary parameters and binary results. */
PGresult *dobj__pg_exec(dobj__pg *pg, enum dobj__pg_stmt st, const char *const *vals,
                        const int *lens, const int *fmts);

/* dobj__pg_result_error turns a failed result (or NULL) into a message and a code, clears r,
 * and marks the connection for a reset when it is gone. */
dobj_err dobj__pg_result_error(dobj__pg *pg, PGresult *r, const char *what, char *err,
                               size_t errlen);

/* dobj__pg_broken marks the connection for a reconnect before its next use, with reason
 * (e.g. "connection to PostgreSQL lost") as what callers are told until then. */
void dobj__pg_broken(dobj__pg *pg, const char *reason);

/* dobj__pg_be64 swaps a 64-bit value between host and network byte order. */
uint64_t dobj__pg_be64(uint64_t v);

#endif /* DOBJ_SERVER_PGSTORE_INT_H */
