// SPDX-License-Identifier: MIT
// pgstore.c - one shard's PostgreSQL connection. Statements are prepared once per connection
// and take binary parameters; a commit sends BEGIN, one multi-row statement per kind of
// change (arrays through unnest) and COMMIT in a single libpq pipeline, one round trip.
// After a failure the connection is re-made without blocking the shard: non-blocking attempts
// spaced by a backoff, driven by dobj__pg_ensure() (before each use) and dobj__pg_tick().

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "pgstore.h"
#include "pgarr.h"
#include "pgstore_int.h"
#include "registry.h"

#define RANGE_SQL(end, order)                                                             \
	"SELECT key, value FROM dobj_storage WHERE class = $1 AND id = $2 AND key >= $3 " \
	"AND (NOT $4 OR key <> $3) AND starts_with(key, $5)" end " ORDER BY key " order   \
	" LIMIT $6"

static const struct {
	const char *sql;
	int nparams;
	Oid types[7];
} stmts[ST_COUNT] = {
    [ST_LOAD] = {"SELECT key, value FROM dobj_storage WHERE class = $1 AND id = $2 "
                 "ORDER BY key LIMIT $3",
                 3,
                 {OID_TEXT, OID_BYTEA, OID_INT8}},
    [ST_GET] = {"SELECT value FROM dobj_storage WHERE class = $1 AND id = $2 AND key = $3",
                3,
                {OID_TEXT, OID_BYTEA, OID_TEXT}},
    [ST_RANGE_ASC] = {RANGE_SQL("", "ASC"),
                      6,
                      {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BOOL, OID_TEXT, OID_INT8}},
    [ST_RANGE_DESC] = {RANGE_SQL("", "DESC"),
                       6,
                       {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BOOL, OID_TEXT, OID_INT8}},
    [ST_RANGE_ASC_END] = {RANGE_SQL(" AND key < $7", "ASC"),
                          7,
                          {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BOOL, OID_TEXT, OID_INT8, OID_TEXT}},
    [ST_RANGE_DESC_END] = {RANGE_SQL(" AND key < $7", "DESC"),
                           7,
                           {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BOOL, OID_TEXT, OID_INT8, OID_TEXT}},
    [ST_CLEAR] =
        {"DELETE FROM dobj_storage s USING unnest($1::text[], $2::bytea[]) AS d(class, id) "
         "WHERE s.class = d.class AND s.id = d.id",
         2,
         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY}},
    [ST_DELETE] = {"DELETE FROM dobj_storage s USING unnest($1::text[], $2::bytea[], $3::text[]) "
                   "AS d(class, id, key) WHERE s.class = d.class AND s.id = d.id AND s.key = d.key",
                   3,
                   {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_TEXT_ARRAY}},
    [ST_UPSERT] = {"INSERT INTO dobj_storage (class, id, key, value) "
                   "SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[]) "
                   "ON CONFLICT (class, id, key) DO UPDATE SET value = EXCLUDED.value",
                   4,
                   {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_TEXT_ARRAY, OID_BYTEA_ARRAY}},
    [ST_OBJECTS] = {"INSERT INTO dobj_objects (class, id) "
                    "SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING",
                    2,
                    {OID_TEXT_ARRAY, OID_BYTEA_ARRAY}},
    /* A leased row is being run, by this server or another, whose outcome (a retry at a later
     * time, or parking) is written without this object: it is not cached (pgstore.c). */
    [ST_ALARM_GET] = {"SELECT due_ms, lease_owner IS NOT NULL FROM dobj_alarms "
                      "WHERE class = $1 AND id = $2 AND NOT parked",
                      2,
                      {OID_TEXT, OID_BYTEA}},
    [ST_ALARM_DELETE] = {"DELETE FROM dobj_alarms a USING unnest($1::text[], $2::bytea[]) "
                         "AS d(class, id) WHERE a.class = d.class AND a.id = d.id",
                         2,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY}},
    /* Setting an alarm re-arms it: a new due time, no lease, no failures, not parked. The same
     * due time again is the same alarm: this server's claim of it ($4, the server's node id)
     * keeps its lease, so that its turn, already on its way, still holds the lease its commit
     * is fenced by. Another owner's lease goes: a server that ended while it held the claim
     * (this one's earlier run) would make the alarm wait for the lease to run out. */
    [ST_ALARM_UPSERT] = {"INSERT INTO dobj_alarms AS a (class, id, due_ms) "
                         "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[]) "
                         "ON CONFLICT (class, id) DO UPDATE SET due_ms = EXCLUDED.due_ms, "
                         "attempts = 0, "
                         "lease_owner = CASE WHEN a.due_ms = EXCLUDED.due_ms AND "
                         "a.lease_owner = $4 THEN a.lease_owner END, "
                         "lease_until_ms = CASE WHEN a.due_ms = EXCLUDED.due_ms AND "
                         "a.lease_owner = $4 THEN a.lease_until_ms END, "
                         "parked = false, last_error = NULL, updated_at = now()",
                         4,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT8_ARRAY, OID_TEXT}},
    /* Activation of many objects at once: each object's first max_keys + 1 keys. */
    [ST_LOAD_MANY] = {"SELECT class, id, key, value FROM (SELECT class, id, key, value, "
                      "row_number() OVER (PARTITION BY class, id ORDER BY key) AS rn "
                      "FROM dobj_storage WHERE (class, id) IN "
                      "(SELECT * FROM unnest($1::text[], $2::bytea[]))) s "
                      "WHERE rn <= $3 ORDER BY class, id, key",
                      3,
                      {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT8}},
    [ST_ALARMS_FIRED] = {"SELECT dobj_alarms_fired($1::text[], $2::bytea[], $3::bigint[], $4)",
                         4,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT8_ARRAY, OID_TEXT}},
    /* the commit pipeline's transaction brackets, parsed once like the rest */
    [ST_BEGIN] = {"BEGIN", 0, {0}},
    [ST_COMMIT] = {"COMMIT", 0, {0}},
};

static void
pg_error(PGconn *conn, const char *what, char *err, size_t errlen)
{
	const char *m = conn ? PQerrorMessage(conn) : "out of memory";
	size_t n;

	snprintf(err, errlen, "%s: %s", what, m && *m ? m : "unknown error");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
	for (char *p = err; *p != '\0'; p++) /* libpq's hints follow on further lines */
		if (*p == '\n' || *p == '\t')
			*p = ' ';
}

/* pg_identify records which backend serves the connection: its pid and its start time in
 * microseconds since the epoch (a number, so that no session setting changes how it reads),
 * both as the server sees them (a pooler's connection has a pid of its own). Without them the
 * backend cannot be told from a later one, and commits of unknown outcome are not fenced
 * (pgcommit.c): that is said once per connection owner. */
static void
pg_identify(dobj__pg *pg)
{
	PGresult *r =
	    PQexec(pg->conn, "SELECT pid, (extract(epoch FROM backend_start) * 1000000)"
	                     "::bigint FROM pg_stat_activity WHERE pid = pg_backend_pid()");

	pg->backend_pid = 0;
	pg->backend_start = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
	    !PQgetisnull(r, 0, 1)) {
		pg->backend_pid = atoi(PQgetvalue(r, 0, 0));
		pg->backend_start = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	} else if (!pg->unidentified_said) {
		pg->unidentified_said = true;
		dobj__log_warn(
		    "%s: cannot read this connection's backend in pg_stat_activity (%s); "
		    "after a commit of unknown outcome, objects will reload without "
		    "waiting for that commit's backend to end",
		    pg->name,
		    PQresultStatus(r) == PGRES_TUPLES_OK ? "no row" : PQresultErrorMessage(r));
	}
	PQclear(r);
}

static dobj_err
pg_prepare(dobj__pg *pg, char *err, size_t errlen)
{
	for (int i = 0; i < ST_COUNT; i++) {
		char name[16];
		PGresult *r;

		snprintf(name, sizeof(name), "dobj_%d", i);
		r = PQprepare(pg->conn, name, stmts[i].sql, stmts[i].nparams, stmts[i].types);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "could not prepare statement %d: %s", i,
			         PQresultErrorMessage(r));
			PQclear(r);
			return DOBJ_UNAVAILABLE;
		}
		PQclear(r);
	}
	pg->prepared = true;
	pg_identify(pg);
	return DOBJ_OK;
}

/* Dead peers are noticed without waiting for the kernel's defaults (15 minutes of
 * retransmissions for data sent to a vanished server): an idle connection is probed after
 * 30 s, every 10 s, 3 times; data unacknowledged for 30 s drops the connection. The DSN comes
 * next (dbname, expanded), so its own settings win over those; client_encoding comes after
 * it, so that neither the DSN nor PGCLIENTENCODING makes PostgreSQL convert dobj's UTF-8. */
static const char *const connect_keys[] = {"connect_timeout",
                                           "application_name",
                                           "keepalives_idle",
                                           "keepalives_interval",
                                           "keepalives_count",
                                           "tcp_user_timeout",
                                           "dbname",
                                           "client_encoding",
                                           NULL};
#define CONNECT_VALS(dsn)                                                   \
	{                                                                   \
		"5", "dobjd", "30", "10", "3", "30000", (dsn), "UTF8", NULL \
	}

PGconn *
dobj__pg_connect(const char *dsn)
{
	const char *vals[] = CONNECT_VALS(dsn);

	return PQconnectdbParams(connect_keys, vals, 1);
}

dobj_err
dobj__pg_open(dobj__pg **out, const char *dsn, const char *name, char *err, size_t errlen)
{
	dobj__pg *pg = calloc(1, sizeof(*pg));

	*out = NULL;
	if (pg == NULL || (pg->dsn = strdup(dsn)) == NULL) {
		free(pg);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	snprintf(pg->name, sizeof(pg->name), "%s", name);
	pg->conn = dobj__pg_connect(dsn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_error(pg->conn, "could not connect to PostgreSQL", err, errlen);
		dobj__pg_close(pg);
		return DOBJ_UNAVAILABLE;
	}
	PQsetNoticeProcessor(pg->conn, dobj__log_pg_notice, pg->name);
	if (pg_prepare(pg, err, errlen) != DOBJ_OK) {
		dobj__pg_close(pg);
		return DOBJ_UNAVAILABLE;
	}
	*out = pg;
	return DOBJ_OK;
}

void
dobj__pg_close(dobj__pg *pg)
{
	if (pg == NULL)
		return;
	PQfinish(pg->conn);
	dobj__pg_part_free(pg->merged);
	free(pg->dsn);
	free(pg);
}

static int64_t
pg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
pg_ready(const dobj__pg *pg)
{
	return !pg->connecting && pg->prepared && PQstatus(pg->conn) == CONNECTION_OK;
}

void
dobj__pg_broken(dobj__pg *pg, const char *reason)
{
	pg->prepared = false;
	if (pg->down_reason[0] == '\0')
		snprintf(pg->down_reason, sizeof(pg->down_reason), "%s", reason);
}

/* pg_attempt_failed ends an attempt: the next one waits for the backoff (100 ms doubling to
 * 5 s, with up to 20% jitter either way, so that shards do not retry in step). */
static void
pg_attempt_failed(dobj__pg *pg, const char *why)
{
	uint32_t r = 0;
	int delay;

	if (pg->conn != NULL)
		pg_error(pg->conn, why, pg->down_reason, sizeof(pg->down_reason));
	else
		snprintf(pg->down_reason, sizeof(pg->down_reason), "%s", why);
	PQfinish(pg->conn);
	pg->conn = NULL;
	pg->connecting = false;
	pg->prepared = false;
	atomic_fetch_add(&pg->errors, 1);
	pg->backoff_ms = pg->backoff_ms == 0 ? DOBJ_PG_BACKOFF_MIN_MS : pg->backoff_ms * 2;
	if (pg->backoff_ms > DOBJ_PG_BACKOFF_MAX_MS)
		pg->backoff_ms = DOBJ_PG_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)pg_now_ms();
	delay =
	    pg->backoff_ms - pg->backoff_ms / 5 + (int)(r % (uint32_t)(pg->backoff_ms / 5 * 2 + 1));
	pg->retry_at_ms = pg_now_ms() + delay;
	if (pg->failed_attempts++ == 0)
		dobj__log_warn("%s: %s; calls that need PostgreSQL fail until it is back; "
		               "retrying with backoff",
		               pg->name, pg->down_reason);
	else
		dobj__log_debug("%s: reconnect attempt %u failed: %s; next in %d ms", pg->name,
		                pg->failed_attempts, pg->down_reason, delay);
}

/* pg_attempt_start begins a non-blocking connection attempt. */
static void
pg_attempt_start(dobj__pg *pg)
{
	const char *vals[] = CONNECT_VALS(pg->dsn);
	int64_t now = pg_now_ms();

	if (pg->down_reason[0] == '\0')
		snprintf(pg->down_reason, sizeof(pg->down_reason), "connection to PostgreSQL lost");
	PQfinish(pg->conn);
	pg->prepared = false;
	pg->conn = PQconnectStartParams(connect_keys, vals, 1);
	pg->conn_gen++; /* libpq may hand out the address of the connection it just freed */
	if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_attempt_failed(pg, "could not connect to PostgreSQL");
		return;
	}
	pg->connecting = true;
	pg->poll_st = PGRES_POLLING_WRITING;
	pg->attempt_deadline_ms = now + DOBJ_PG_CONNECT_TIMEOUT_MS;
	pg->attempt_wait_until_ms = now + DOBJ_PG_ATTEMPT_WAIT_MS;
}

/* pg_attempt_done finishes a connection that libpq reports made: statements are prepared
 * (blocking, but PostgreSQL has just answered). */
static void
pg_attempt_done(dobj__pg *pg)
{
	char err[256];

	pg->connecting = false;
	PQsetNoticeProcessor(pg->conn, dobj__log_pg_notice, pg->name);
	if (pg_prepare(pg, err, sizeof(err)) != DOBJ_OK) {
		pg_attempt_failed(pg, "could not prepare statements after reconnecting");
		return;
	}
	atomic_fetch_add(&pg->reconnects, 1);
	dobj__log_info("%s: reconnected to PostgreSQL after %u failed attempts", pg->name,
	               pg->failed_attempts);
	pg->failed_attempts = 0;
	pg->backoff_ms = 0;
	pg->retry_at_ms = 0;
	pg->down_reason[0] = '\0';
}

/* pg_progress advances the reconnect; it waits on the socket until wait_until at most. */
static void
pg_progress(dobj__pg *pg, int64_t wait_until)
{
	if (!pg->connecting) {
		if (pg_now_ms() < pg->retry_at_ms)
			return;
		pg_attempt_start(pg);
		if (!pg->connecting)
			return;
		if (wait_until > pg->attempt_wait_until_ms)
			wait_until = pg->attempt_wait_until_ms;
	}
	for (;;) {
		struct pollfd pfd = {.fd = PQsocket(pg->conn),
		                     .events =
		                         pg->poll_st == PGRES_POLLING_WRITING ? POLLOUT : POLLIN};
		int64_t now = pg_now_ms(), until = wait_until;
		int r;

		if (until > pg->attempt_deadline_ms)
			until = pg->attempt_deadline_ms;
		if (pfd.fd < 0) {
			pg_attempt_failed(pg, "could not connect to PostgreSQL");
			return;
		}
		r = poll(&pfd, 1, until > now ? (int)(until - now) : 0);
		if (r < 0 && errno != EINTR) {
			pg_attempt_failed(pg, "could not wait for PostgreSQL");
			return;
		}
		if (r == 0) {
			if (pg_now_ms() >= pg->attempt_deadline_ms) {
				PQfinish(pg->conn);
				pg->conn = NULL;
				pg_attempt_failed(pg, "could not connect to PostgreSQL within 5 s");
			}
			return;
		}
		if (r < 0)
			continue;
		pg->poll_st = PQconnectPoll(pg->conn);
		if (pg->poll_st == PGRES_POLLING_FAILED) {
			pg_attempt_failed(pg, "could not connect to PostgreSQL");
			return;
		}
		if (pg->poll_st == PGRES_POLLING_OK) {
			pg_attempt_done(pg);
			return;
		}
	}
}

dobj_err
dobj__pg_ensure(dobj__pg *pg, char *err, size_t errlen)
{
	if (pg_ready(pg))
		return DOBJ_OK;
	if (PQstatus(pg->conn) == CONNECTION_OK && !pg->connecting && !pg->prepared &&
	    pg->down_reason[0] == '\0')
		dobj__pg_broken(pg, "connection to PostgreSQL reset");
	/* an attempt started now waits too: pg_progress bounds it by the attempt's own wait */
	pg_progress(pg, pg->connecting ? pg->attempt_wait_until_ms : INT64_MAX);
	if (pg_ready(pg))
		return DOBJ_OK;
	snprintf(err, errlen, "PostgreSQL unavailable: %s", pg->down_reason);
	return DOBJ_UNAVAILABLE;
}

int
dobj__pg_tick(dobj__pg *pg)
{
	int64_t now;

	if (pg_ready(pg))
		return -1;
	if (!pg->connecting && pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK &&
	    pg->down_reason[0] == '\0')
		dobj__pg_broken(pg, "connection to PostgreSQL reset");
	pg_progress(pg, 0);
	if (pg_ready(pg))
		return -1;
	now = pg_now_ms();
	if (pg->connecting)
		return 10; /* libpq's steps take round trips; look again soon */
	return pg->retry_at_ms > now ? (int)(pg->retry_at_ms - now) : 0;
}

void
dobj__pg_counters(dobj__pg *pg, uint64_t *errors, uint64_t *reconnects)
{
	*errors = atomic_load(&pg->errors);
	*reconnects = atomic_load(&pg->reconnects);
}

PGresult *
dobj__pg_exec(dobj__pg *pg, enum dobj__pg_stmt st, const char *const *vals, const int *lens,
              const int *fmts)
{
	char name[16];

	dobj__pg_stmt_name(st, name, sizeof(name));
	return PQexecPrepared(pg->conn, name, stmts[st].nparams, vals, lens, fmts, 1);
}

/* pg_exec_ready runs a statement if the connection is ready; NULL (with err set) if not. */
static PGresult *
pg_exec_ready(dobj__pg *pg, enum dobj__pg_stmt st, const char *const *vals, const int *lens,
              const int *fmts, char *err, size_t errlen)
{
	if (dobj__pg_ensure(pg, err, errlen) != DOBJ_OK)
		return NULL;
	err[0] = '\0';
	return dobj__pg_exec(pg, st, vals, lens, fmts);
}

void
dobj__pg_stmt_name(enum dobj__pg_stmt st, char *buf, size_t len)
{
	snprintf(buf, len, "dobj_%d", (int)st);
}

dobj_err
dobj__pg_result_error(dobj__pg *pg, PGresult *r, const char *what, char *err, size_t errlen)
{
	dobj_err rc = PQstatus(pg->conn) == CONNECTION_OK ? DOBJ_INTERNAL : DOBJ_UNAVAILABLE;

	if (r == NULL && err[0] != '\0') /* pg_exec_ready refused: err says why */
		return DOBJ_UNAVAILABLE;
	snprintf(err, errlen, "%s: %s", what,
	         r ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn));
	dobj__chomp(err);
	PQclear(r);
	atomic_fetch_add(&pg->errors, 1);
	if (rc == DOBJ_UNAVAILABLE)
		dobj__pg_broken(pg, "connection to PostgreSQL lost");
	return rc;
}

/* cache_rows puts (key, value) rows into o where it holds nothing for the key yet. */
static dobj_err
cache_rows(dobj__object *o, PGresult *r, char *err, size_t errlen)
{
	int rows = PQntuples(r);

	for (int i = 0; i < rows; i++) {
		const char *key = PQgetvalue(r, i, 0);
		size_t idx;

		if (dobj__object_find(o, key, &idx))
			continue;
		if (dobj__object_cache(o, idx, key, (size_t)PQgetlength(r, i, 0),
		                       PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1),
		                       true) != 0) {
			snprintf(err, errlen, "out of memory caching %d keys", rows);
			return DOBJ_RESOURCE_EXHAUSTED;
		}
	}
	return DOBJ_OK;
}

uint64_t
dobj__pg_be64(uint64_t v)
{
	return ((uint64_t)htonl((uint32_t)v) << 32) | htonl((uint32_t)(v >> 32));
}

dobj_err
dobj__pg_load(dobj__pg *pg, dobj__object *o, size_t max_keys, char *err, size_t errlen)
{
	uint64_t limit = dobj__pg_be64((uint64_t)max_keys + 1);
	const char *cls = o->cls->cls->name;
	const char *vals[3] = {cls, (const char *)o->id.bytes, (const char *)&limit};
	int lens[3] = {(int)strlen(cls), DOBJ_ID_SIZE, 8}, fmts[3] = {1, 1, 1};
	PGresult *r = pg_exec_ready(pg, ST_LOAD, vals, lens, fmts, err, errlen);
	dobj_err rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dobj__pg_result_error(pg, r, "could not load object", err, errlen);
	rc = cache_rows(o, r, err, errlen);
	o->persisted = PQntuples(r) > 0;
	o->complete = (size_t)PQntuples(r) <= max_keys;
	PQclear(r);
	return rc;
}

dobj_err
dobj__pg_fetch_key(dobj__pg *pg, dobj__object *o, const char *key, char *err, size_t errlen)
{
	const char *cls = o->cls->cls->name;
	const char *vals[3] = {cls, (const char *)o->id.bytes, key};
	int lens[3] = {(int)strlen(cls), DOBJ_ID_SIZE, (int)strlen(key)}, fmts[3] = {1, 1, 1};
	PGresult *r = pg_exec_ready(pg, ST_GET, vals, lens, fmts, err, errlen);
	size_t idx;
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dobj__pg_result_error(pg, r, "could not read key", err, errlen);
	dobj__object_find(o, key, &idx);
	if (PQntuples(r) > 0)
		rc = dobj__object_cache(o, idx, key, strlen(key), PQgetvalue(r, 0, 0),
		                        (size_t)PQgetlength(r, 0, 0), true);
	else
		rc = dobj__object_cache(o, idx, key, strlen(key), NULL, 0, false);
	PQclear(r);
	if (rc != 0) {
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	return DOBJ_OK;
}

dobj_err
dobj__pg_fetch_range(dobj__pg *pg, dobj__object *o, const char *lo, bool lo_after, const char *end,
                     const char *prefix, bool reverse, size_t limit, char *err, size_t errlen)
{
	const char *cls = o->cls->cls->name;
	uint64_t lim = dobj__pg_be64((uint64_t)limit);
	char after = lo_after ? 1 : 0;
	enum dobj__pg_stmt st = end ? (reverse ? ST_RANGE_DESC_END : ST_RANGE_ASC_END)
	                            : (reverse ? ST_RANGE_DESC : ST_RANGE_ASC);
	const char *vals[7] = {cls,    (const char *)o->id.bytes, lo ? lo : "",
	                       &after, prefix ? prefix : "",      limit ? (const char *)&lim : NULL,
	                       end};
	int lens[7] = {(int)strlen(cls),          DOBJ_ID_SIZE,
	               (int)strlen(vals[2]),      1,
	               (int)strlen(vals[4]),      8,
	               end ? (int)strlen(end) : 0};
	int fmts[7] = {1, 1, 1, 1, 1, 1, 1};
	PGresult *r = pg_exec_ready(pg, st, vals, lens, fmts, err, errlen);
	dobj_err rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dobj__pg_result_error(pg, r, "could not list keys", err, errlen);
	rc = cache_rows(o, r, err, errlen);
	PQclear(r);
	return rc;
}

dobj_err
dobj__pg_fetch_alarm(dobj__pg *pg, dobj__object *o, char *err, size_t errlen)
{
	const char *cls = o->cls->cls->name;
	const char *vals[2] = {cls, (const char *)o->id.bytes};
	int lens[2] = {(int)strlen(cls), DOBJ_ID_SIZE}, fmts[2] = {1, 1};
	PGresult *r = pg_exec_ready(pg, ST_ALARM_GET, vals, lens, fmts, err, errlen);
	uint64_t v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dobj__pg_result_error(pg, r, "could not read alarm", err, errlen);
	o->has_alarm = PQntuples(r) > 0 && PQgetlength(r, 0, 0) == 8;
	/* true for this turn; a leased row is read again by the next (ST_ALARM_GET) */
	o->alarm_known = !o->has_alarm || PQgetlength(r, 0, 1) != 1 || PQgetvalue(r, 0, 1)[0] == 0;
	if (o->has_alarm) {
		memcpy(&v, PQgetvalue(r, 0, 0), 8);
		o->alarm_ms = (int64_t)dobj__pg_be64(v);
	}
	PQclear(r);
	return DOBJ_OK;
}

/* obj_cmp orders objects as PostgreSQL orders (class COLLATE "C", id bytea): by bytes. */
static int
obj_cmp(const dobj__object *a, const char *cls, const uint8_t *id)
{
	int c = strcmp(a->cls->cls->name, cls);

	return c != 0 ? c : memcmp(a->id.bytes, id, DOBJ_ID_SIZE);
}

static int
obj_qsort_cmp(const void *x, const void *y)
{
	const dobj__object *a = *(dobj__object *const *)x, *b = *(dobj__object *const *)y;

	return obj_cmp(a, b->cls->cls->name, b->id.bytes);
}

dobj_err
dobj__pg_load_many(dobj__pg *pg, dobj__object **objs, size_t n, size_t max_keys, char *err,
                   size_t errlen)
{
	dobj__pgarr cls = {0}, ids = {0};
	uint64_t limit = dobj__pg_be64((uint64_t)max_keys + 1);
	const char *vals[3];
	int lens[3], fmts[3] = {1, 1, 1};
	size_t *count = calloc(n ? n : 1, sizeof(*count));
	PGresult *r = NULL;
	dobj_err rc = DOBJ_OK;
	size_t k = 0;
	int rows;

	if (count == NULL) {
		snprintf(err, errlen, "out of memory loading %zu objects", n);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	qsort(objs, n, sizeof(*objs), obj_qsort_cmp);
	dobj__pgarr_begin(&cls, OID_TEXT);
	dobj__pgarr_begin(&ids, OID_BYTEA);
	for (size_t i = 0; i < n; i++) {
		dobj__pgarr_add(&cls, objs[i]->cls->cls->name, strlen(objs[i]->cls->cls->name));
		dobj__pgarr_add(&ids, objs[i]->id.bytes, DOBJ_ID_SIZE);
	}
	dobj__pgarr_end(&cls);
	dobj__pgarr_end(&ids);
	if (cls.oom || ids.oom) {
		snprintf(err, errlen, "out of memory loading %zu objects", n);
		rc = DOBJ_RESOURCE_EXHAUSTED;
		goto out;
	}
	vals[0] = cls.buf;
	lens[0] = (int)cls.len;
	vals[1] = ids.buf;
	lens[1] = (int)ids.len;
	vals[2] = (const char *)&limit;
	lens[2] = 8;
	r = pg_exec_ready(pg, ST_LOAD_MANY, vals, lens, fmts, err, errlen);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = dobj__pg_result_error(pg, r, "could not load objects", err, errlen);
		r = NULL;
		goto out;
	}
	/* Rows come ordered like objs: walk both. */
	rows = PQntuples(r);
	for (int i = 0; i < rows; i++) {
		const char *c = PQgetvalue(r, i, 0);
		const uint8_t *id = (const uint8_t *)PQgetvalue(r, i, 1);
		dobj__object *o;

		if (PQgetlength(r, i, 1) != DOBJ_ID_SIZE)
			continue;
		while (k < n && obj_cmp(objs[k], c, id) < 0)
			k++;
		if (k == n)
			break;
		if (obj_cmp(objs[k], c, id) != 0)
			continue;
		o = objs[k];
		if (dobj__object_cache(o, o->n, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2),
		                       PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3),
		                       true) != 0) {
			snprintf(err, errlen, "out of memory loading %zu objects", n);
			rc = DOBJ_RESOURCE_EXHAUSTED;
			goto out;
		}
		count[k]++;
	}
	for (size_t i = 0; i < n; i++) {
		objs[i]->persisted = count[i] > 0;
		objs[i]->complete = count[i] <= max_keys;
	}
out:
	PQclear(r);
	free(cls.buf);
	free(ids.buf);
	free(count);
	return rc;
}
