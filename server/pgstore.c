// SPDX-License-Identifier: MIT
// pgstore.c - one shard's PostgreSQL connection. Statements are prepared once per connection
// and take binary parameters; a commit sends BEGIN, one multi-row statement per kind of
// change (arrays through unnest) and COMMIT in a single libpq pipeline, one round trip.
// Reconnecting after a failure is lazy: dobj__pg_ensure() before the next use.

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgstore.h"
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
    [ST_ALARM_GET] = {"SELECT due_ms FROM dobj_alarms WHERE class = $1 AND id = $2 AND NOT parked",
                      2,
                      {OID_TEXT, OID_BYTEA}},
    [ST_ALARM_DELETE] = {"DELETE FROM dobj_alarms a USING unnest($1::text[], $2::bytea[]) "
                         "AS d(class, id) WHERE a.class = d.class AND a.id = d.id",
                         2,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY}},
    /* Setting an alarm re-arms it: a new due time, no lease, no failures, not parked. */
    [ST_ALARM_UPSERT] = {"INSERT INTO dobj_alarms (class, id, due_ms) "
                         "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[]) "
                         "ON CONFLICT (class, id) DO UPDATE SET due_ms = EXCLUDED.due_ms, "
                         "attempts = 0, lease_owner = NULL, lease_until_ms = NULL, "
                         "parked = false, last_error = NULL, updated_at = now()",
                         3,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT8_ARRAY}},
    [ST_ALARMS_FIRED] = {"SELECT dobj_alarms_fired($1::text[], $2::bytea[], $3::bigint[], $4)",
                         4,
                         {OID_TEXT_ARRAY, OID_BYTEA_ARRAY, OID_INT8_ARRAY, OID_TEXT}},
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
	return DOBJ_OK;
}

PGconn *
dobj__pg_connect(const char *dsn)
{
	/* Defaults first: the DSN, expanded at "dbname", overrides any of them. */
	static const char *const keys[] = {"connect_timeout", "application_name", "keepalives_idle",
	                                   "dbname", NULL};
	const char *vals[] = {"5", "dobjd", "30", dsn, NULL};

	return PQconnectdbParams(keys, vals, 1);
}

dobj_err
dobj__pg_open(dobj__pg **out, const char *dsn, char *err, size_t errlen)
{
	dobj__pg *pg = calloc(1, sizeof(*pg));

	*out = NULL;
	if (pg == NULL || (pg->dsn = strdup(dsn)) == NULL) {
		free(pg);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	pg->conn = dobj__pg_connect(dsn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_error(pg->conn, "could not connect to PostgreSQL", err, errlen);
		dobj__pg_close(pg);
		return DOBJ_UNAVAILABLE;
	}
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
	free(pg->dsn);
	free(pg);
}

dobj_err
dobj__pg_ensure(dobj__pg *pg, char *err, size_t errlen)
{
	if (PQstatus(pg->conn) == CONNECTION_OK && pg->prepared)
		return DOBJ_OK;
	pg->prepared = false;
	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		pg_error(pg->conn, "could not reconnect to PostgreSQL", err, errlen);
		return DOBJ_UNAVAILABLE;
	}
	return pg_prepare(pg, err, errlen);
}

PGresult *
dobj__pg_exec(dobj__pg *pg, enum dobj__pg_stmt st, const char *const *vals, const int *lens,
              const int *fmts)
{
	char name[16];

	dobj__pg_stmt_name(st, name, sizeof(name));
	return PQexecPrepared(pg->conn, name, stmts[st].nparams, vals, lens, fmts, 1);
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

	snprintf(err, errlen, "%s: %s", what,
	         r ? PQresultErrorMessage(r) : PQerrorMessage(pg->conn));
	for (size_t n = strlen(err); n > 0 && err[n - 1] == '\n'; n--)
		err[n - 1] = '\0';
	PQclear(r);
	if (rc == DOBJ_UNAVAILABLE)
		pg->prepared = false;
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
	PGresult *r = dobj__pg_exec(pg, ST_LOAD, vals, lens, fmts);
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
	PGresult *r = dobj__pg_exec(pg, ST_GET, vals, lens, fmts);
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
	PGresult *r = dobj__pg_exec(pg, st, vals, lens, fmts);
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
	PGresult *r = dobj__pg_exec(pg, ST_ALARM_GET, vals, lens, fmts);
	uint64_t v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return dobj__pg_result_error(pg, r, "could not read alarm", err, errlen);
	o->alarm_known = true;
	o->has_alarm = PQntuples(r) > 0 && PQgetlength(r, 0, 0) == 8;
	if (o->has_alarm) {
		memcpy(&v, PQgetvalue(r, 0, 0), 8);
		o->alarm_ms = (int64_t)dobj__pg_be64(v);
	}
	PQclear(r);
	return DOBJ_OK;
}
