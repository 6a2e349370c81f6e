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
#include "registry.h"

/* type OIDs from PostgreSQL's pg_type.dat */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_BYTEA_ARRAY 1001
#define OID_TEXT_ARRAY 1009

enum stmt {
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
	ST_COUNT
};

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
};

struct dobj__pg {
	PGconn *conn;
	char *dsn;
	bool prepared;
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

/* pg_exec runs prepared statement st with binary parameters and binary results. */
static PGresult *
pg_exec(dobj__pg *pg, enum stmt st, const char *const *vals, const int *lens, const int *fmts)
{
	char name[16];

	snprintf(name, sizeof(name), "dobj_%d", (int)st);
	return PQexecPrepared(pg->conn, name, stmts[st].nparams, vals, lens, fmts, 1);
}

static dobj_err
result_error(dobj__pg *pg, PGresult *r, const char *what, char *err, size_t errlen)
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

static uint64_t
be64(uint64_t v)
{
	return ((uint64_t)htonl((uint32_t)v) << 32) | htonl((uint32_t)(v >> 32));
}

dobj_err
dobj__pg_load(dobj__pg *pg, dobj__object *o, size_t max_keys, char *err, size_t errlen)
{
	uint64_t limit = be64((uint64_t)max_keys + 1);
	const char *cls = o->cls->cls->name;
	const char *vals[3] = {cls, (const char *)o->id.bytes, (const char *)&limit};
	int lens[3] = {(int)strlen(cls), DOBJ_ID_SIZE, 8}, fmts[3] = {1, 1, 1};
	PGresult *r = pg_exec(pg, ST_LOAD, vals, lens, fmts);
	dobj_err rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return result_error(pg, r, "could not load object", err, errlen);
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
	PGresult *r = pg_exec(pg, ST_GET, vals, lens, fmts);
	size_t idx;
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return result_error(pg, r, "could not read key", err, errlen);
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
	uint64_t lim = be64((uint64_t)limit);
	char after = lo_after ? 1 : 0;
	enum stmt st = end ? (reverse ? ST_RANGE_DESC_END : ST_RANGE_ASC_END)
	                   : (reverse ? ST_RANGE_DESC : ST_RANGE_ASC);
	const char *vals[7] = {cls,    (const char *)o->id.bytes, lo ? lo : "",
	                       &after, prefix ? prefix : "",      limit ? (const char *)&lim : NULL,
	                       end};
	int lens[7] = {(int)strlen(cls),          DOBJ_ID_SIZE,
	               (int)strlen(vals[2]),      1,
	               (int)strlen(vals[4]),      8,
	               end ? (int)strlen(end) : 0};
	int fmts[7] = {1, 1, 1, 1, 1, 1, 1};
	PGresult *r = pg_exec(pg, st, vals, lens, fmts);
	dobj_err rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return result_error(pg, r, "could not list keys", err, errlen);
	rc = cache_rows(o, r, err, errlen);
	PQclear(r);
	return rc;
}

/* pgarr: a one-dimensional PostgreSQL array in binary form (array_send's layout:
 * ndim, has-nulls flag, element type, then length and lower bound, then each element as a
 * 4-byte length and its bytes). */
typedef struct pgarr {
	char *buf;
	size_t len, cap;
	uint32_t count;
} pgarr;

static int
pgarr_put(pgarr *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap : 256;
		char *b;
		while (cap < a->len + n)
			cap *= 2;
		if ((b = realloc(a->buf, cap)) == NULL)
			return -1;
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return 0;
}

static int
pgarr_u32(pgarr *a, uint32_t v)
{
	v = htonl(v);
	return pgarr_put(a, &v, 4);
}

static void
pgarr_begin(pgarr *a, Oid elem)
{
	a->len = 0;
	a->count = 0;
	/* ndim, flags, elem type, dim length (patched by pgarr_end), lower bound */
	if (pgarr_u32(a, 1) || pgarr_u32(a, 0) || pgarr_u32(a, elem) || pgarr_u32(a, 0) ||
	    pgarr_u32(a, 1))
		a->len = 0;
}

static int
pgarr_add(pgarr *a, const void *p, size_t n)
{
	if (a->len == 0 || n > INT32_MAX || pgarr_u32(a, (uint32_t)n) || pgarr_put(a, p, n))
		return -1;
	a->count++;
	return 0;
}

static void
pgarr_end(pgarr *a)
{
	uint32_t n = htonl(a->count);

	if (a->len >= 20)
		memcpy(a->buf + 12, &n, 4);
}

/* The arrays of one kind of change: columns in the order of the statement's parameters. */
enum { COL_CLASS, COL_ID, COL_KEY, COL_VALUE, NCOLS };

typedef struct change_set {
	pgarr col[NCOLS];
	int ncols;
} change_set;

static void
change_begin(change_set *c, int ncols)
{
	static const Oid elem[NCOLS] = {OID_TEXT, OID_BYTEA, OID_TEXT, OID_BYTEA};

	c->ncols = ncols;
	for (int i = 0; i < ncols; i++)
		pgarr_begin(&c->col[i], elem[i]);
}

static int
change_add(change_set *c, const dobj__object *o, const dobj__entry *e)
{
	const char *cls = o->cls->cls->name;

	if (pgarr_add(&c->col[COL_CLASS], cls, strlen(cls)) ||
	    pgarr_add(&c->col[COL_ID], o->id.bytes, DOBJ_ID_SIZE))
		return -1;
	if (c->ncols > COL_KEY && pgarr_add(&c->col[COL_KEY], e->key, e->klen))
		return -1;
	if (c->ncols > COL_VALUE && pgarr_add(&c->col[COL_VALUE], e->val, e->vlen))
		return -1;
	return 0;
}

static void
change_free(change_set *c)
{
	for (int i = 0; i < NCOLS; i++)
		free(c->col[i].buf);
}

/* send_change queues statement st with c's arrays in the pipeline; 0 if nothing to send. */
static int
send_change(dobj__pg *pg, enum stmt st, change_set *c)
{
	const char *vals[NCOLS];
	int lens[NCOLS], fmts[NCOLS];
	char name[16];

	if (c->col[0].count == 0)
		return 0;
	for (int i = 0; i < c->ncols; i++) {
		pgarr_end(&c->col[i]);
		vals[i] = c->col[i].buf;
		lens[i] = (int)c->col[i].len;
		fmts[i] = 1;
	}
	snprintf(name, sizeof(name), "dobj_%d", (int)st);
	return PQsendQueryPrepared(pg->conn, name, c->ncols, vals, lens, fmts, 1) ? 1 : -1;
}

dobj_err
dobj__pg_commit(dobj__pg *pg, dobj__object *batch, size_t nturns, char *err, size_t errlen)
{
	change_set clear = {0}, del = {0}, up = {0}, objs = {0};
	enum stmt order[4] = {ST_CLEAR, ST_DELETE, ST_UPSERT, ST_OBJECTS};
	change_set *sets[4] = {&clear, &del, &up, &objs};
	dobj_err rc = DOBJ_OK;
	int nulls = 0, queued = 1;
	bool failed = false, synced;

	err[0] = '\0';
	change_begin(&clear, 2);
	change_begin(&del, 3);
	change_begin(&up, 4);
	change_begin(&objs, 2);
	for (dobj__object *o = batch; o != NULL; o = o->batch_next) {
		int bad = 0;
		if (o->cleared)
			bad |= change_add(&clear, o, NULL);
		if (!o->persisted)
			bad |= change_add(&objs, o, NULL);
		for (size_t i = 0; i < o->n && !bad; i++) {
			const dobj__entry *e = &o->entries[i];
			if (e->dirty)
				bad |= change_add(e->present ? &up : &del, o, e);
		}
		if (bad) {
			snprintf(err, errlen, "could not commit batch of %zu turns: out of memory",
			         nturns);
			rc = DOBJ_RESOURCE_EXHAUSTED;
			goto out;
		}
	}

	if (!PQenterPipelineMode(pg->conn) ||
	    !PQsendQueryParams(pg->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0)) {
		rc = result_error(pg, NULL, "could not start commit", err, errlen);
		PQexitPipelineMode(pg->conn);
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		int s = send_change(pg, order[i], sets[i]);
		if (s < 0) {
			failed = true;
			break;
		}
		queued += s;
	}
	if (!failed && PQsendQueryParams(pg->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
		queued++;
	else
		failed = true;
	synced = PQpipelineSync(pg->conn) == 1;
	failed |= !synced;

	/* Read every result up to the sync point; the first error is the one to report. Each
	 * statement's results end with one NULL; more NULLs than statements means the
	 * connection is gone. */
	while (synced) {
		PGresult *r = PQgetResult(pg->conn);
		ExecStatusType st;

		if (r == NULL) {
			if (PQstatus(pg->conn) != CONNECTION_OK || ++nulls > queued) {
				failed = true;
				break;
			}
			continue;
		}
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !failed) {
			failed = true;
			snprintf(err, errlen, "could not commit batch of %zu turns: %s", nturns,
			         PQresultErrorMessage(r));
			for (size_t n = strlen(err); n > 0 && err[n - 1] == '\n'; n--)
				err[n - 1] = '\0';
		}
		PQclear(r);
	}
	PQexitPipelineMode(pg->conn);
	if (!synced)
		pg->prepared = false; /* the pipeline's state is unknown: reset the connection */
	if (failed) {
		if (PQstatus(pg->conn) != CONNECTION_OK) {
			snprintf(
			    err, errlen,
			    "could not commit batch of %zu turns (outcome unknown): connection to "
			    "PostgreSQL lost",
			    nturns);
			pg->prepared = false;
			rc = DOBJ_UNAVAILABLE;
		} else {
			if (PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
				PQclear(PQexec(pg->conn, "ROLLBACK"));
			if (err[0] == '\0')
				snprintf(err, errlen, "could not commit batch of %zu turns: %s",
				         nturns, PQerrorMessage(pg->conn));
			rc = DOBJ_UNAVAILABLE;
		}
	}
out:
	for (int i = 0; i < 4; i++)
		change_free(sets[i]);
	return rc;
}
