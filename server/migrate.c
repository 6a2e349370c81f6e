// SPDX-License-Identifier: MIT
// migrate.c - applies migrations/NNNN_name.sql to PostgreSQL and checks the schema version.
// Owns the bookkeeping table dobj_schema_migrations and the advisory lock around a run; the
// SQL in the files is PostgreSQL's business. Argument parsing and connecting live in main.

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "log.h"
#include "migrate.h"

// MIGRATE_LOCK_KEY: the pg_advisory_lock key of a migration run ("dobjmigr" in ASCII).
// The other advisory lock of dobj, DOBJ__WRITER_LOCK_KEY in migrate.h ("dobjwrit",
// 7237111335617718644), is the writer lock that a serving dobjd holds for as long as it runs
// (writer.c): the keys differ, so `dobjd migrate` never waits for a running server.
#define MIGRATE_LOCK_KEY "7237111335449356146"

// Bounds on what a directory or the bookkeeping table may hold.
#define MIGRATE_MAX_FILES 9999
#define MIGRATE_MAX_FILE_SIZE (16u << 20)
#define MIGRATE_MAX_NAME 255
#define MIGRATE_SUM_LEN 64

// mig: one migration known to this binary (built in or read from a directory).
typedef struct mig {
	int version;
	const char *name;
	const char *sql; // NUL-terminated, len bytes
	size_t len;
	char sum[MIGRATE_SUM_LEN + 1]; // hex SHA-256 of the sql
} mig;

// migset: the known migrations in version order; names and sql owned when owned is set.
typedef struct migset {
	mig *v;
	size_t n;
	int owned;
} migset;

// applied: one row of dobj_schema_migrations.
typedef struct applied {
	int version;
	char name[MIGRATE_MAX_NAME + 1];
	char sum[MIGRATE_SUM_LEN + 1];
	char at[64];
} applied;

static const char create_table_sql[] = "CREATE TABLE dobj_schema_migrations (\n"
                                       "    version    int PRIMARY KEY,\n"
                                       "    name       text NOT NULL,\n"
                                       "    checksum   text NOT NULL,\n"
                                       "    applied_at timestamptz NOT NULL DEFAULT now()\n"
                                       ")";

// migrate_pq_fail wraps a libpq failure (res may be NULL) as dobj_err plus "what: cause".
static dobj_err
migrate_pq_fail(PGconn *conn, PGresult *res, char *err, size_t errlen, const char *what)
{
	const char *msg = NULL;
	dobj_err code;
	size_t len;

	if (res != NULL)
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		msg = PQerrorMessage(conn);
	len = strlen(msg);
	while (len > 0 && isspace((unsigned char)msg[len - 1]))
		len--;
	if (len == 0) {
		msg = "unknown error";
		len = strlen(msg);
	}
	code = PQstatus(conn) == CONNECTION_OK ? DOBJ_INTERNAL : DOBJ_UNAVAILABLE;
	return dobj__errf(err, errlen, code, "%s: %.*s", what, (int)len, msg);
}

// migrate_exec runs sql that returns no rows; what names the operation in the message.
static dobj_err
migrate_exec(PGconn *conn, const char *sql, char *err, size_t errlen, const char *what)
{
	PGresult *res = PQexec(conn, sql);
	dobj_err rv = DOBJ_OK;

	/* EMPTY_QUERY: a file of comments only (a version kept on purpose) */
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_EMPTY_QUERY)
		rv = migrate_pq_fail(conn, res, err, errlen, what);
	PQclear(res);
	return rv;
}

static void
migrate_checksum(const char *sql, size_t len, char out[MIGRATE_SUM_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	// SHA-256 of a buffer in memory can only fail on allocation; an empty sum never matches.
	if (!EVP_Digest(sql, len, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != MIGRATE_SUM_LEN) {
		memset(out, '0', MIGRATE_SUM_LEN);
		out[MIGRATE_SUM_LEN] = '\0';
		return;
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[MIGRATE_SUM_LEN] = '\0';
}

// migrate_version parses "NNNN_*.sql" into its version; -1 if name is not a migration.
static int
migrate_version(const char *name)
{
	size_t len = strlen(name);
	int v = 0;

	if (len < 10 || len > MIGRATE_MAX_NAME || name[4] != '_' ||
	    strcmp(name + len - 4, ".sql") != 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)name[i]))
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v > 0 ? v : -1;
}

static void
migset_free(migset *set)
{
	if (set->owned) {
		for (size_t i = 0; i < set->n; i++) {
			free((char *)set->v[i].name);
			free((char *)set->v[i].sql);
		}
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static int
migset_cmp(const void *a, const void *b)
{
	return strcmp(((const mig *)a)->name, ((const mig *)b)->name);
}

// migset_finish sorts, checksums and validates versions (unique, well-formed).
static dobj_err
migset_finish(migset *set, char *err, size_t errlen)
{
	qsort(set->v, set->n, sizeof(set->v[0]), migset_cmp);
	for (size_t i = 0; i < set->n; i++) {
		mig *m = &set->v[i];

		if ((m->version = migrate_version(m->name)) < 0)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "migration file name %s is not NNNN_name.sql", m->name);
		if (i > 0 && m->version == set->v[i - 1].version)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "migrations %s and %s have the same version %04d",
			                  set->v[i - 1].name, m->name, m->version);
		if (memchr(m->sql, '\0', m->len) != NULL)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "migration %s contains a NUL byte", m->name);
		migrate_checksum(m->sql, m->len, m->sum);
	}
	return DOBJ_OK;
}

static dobj_err
migset_builtin(migset *set, char *err, size_t errlen)
{
	set->owned = 0;
	set->n = dobj__builtin_migrations_count;
	if ((set->v = calloc(set->n + 1, sizeof(set->v[0]))) == NULL)
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		set->v[i].name = dobj__builtin_migrations[i].name;
		set->v[i].sql = dobj__builtin_migrations[i].sql;
		set->v[i].len = dobj__builtin_migrations[i].len;
	}
	return migset_finish(set, err, errlen);
}

// migset_read_file reads path (at most MIGRATE_MAX_FILE_SIZE bytes) into a NUL-terminated buffer.
static dobj_err
migset_read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	FILE *f;
	struct stat st;
	char *buf;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return dobj__errf(err, errlen, DOBJ_NOT_FOUND, "could not open migration %s: %s",
		                  path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > MIGRATE_MAX_FILE_SIZE) {
		fclose(f);
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "migration %s is not a regular file of at most %u bytes", path,
		                  MIGRATE_MAX_FILE_SIZE);
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fclose(f);
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	}
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || n != (size_t)st.st_size) {
		fclose(f);
		free(buf);
		return dobj__errf(err, errlen, DOBJ_INTERNAL, "could not read migration %s", path);
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return DOBJ_OK;
}

// migset_dir reads every NNNN_*.sql in dir; other files are ignored.
static dobj_err
migset_dir(migset *set, const char *dir, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	size_t cap = 0;
	dobj_err rv = DOBJ_OK;

	set->owned = 1;
	if ((d = opendir(dir)) == NULL)
		return dobj__errf(err, errlen, DOBJ_NOT_FOUND,
		                  "could not open migrations directory %s: %s", dir,
		                  strerror(errno));
	while (rv == DOBJ_OK && (de = readdir(d)) != NULL) {
		char path[4096];
		mig *m;

		if (migrate_version(de->d_name) < 0)
			continue;
		if (set->n == MIGRATE_MAX_FILES) {
			rv = dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                "more than %d migrations in %s", MIGRATE_MAX_FILES, dir);
			break;
		}
		if (set->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			mig *nv = realloc(set->v, ncap * sizeof(*nv));

			if (nv == NULL) {
				rv = dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED,
				                "out of memory");
				break;
			}
			set->v = nv;
			cap = ncap;
		}
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    sizeof(path)) {
			rv = dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                "migration path too long in %s", dir);
			break;
		}
		m = &set->v[set->n];
		memset(m, 0, sizeof(*m));
		if ((m->name = strdup(de->d_name)) == NULL) {
			rv = dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
			break;
		}
		if ((rv = migset_read_file(path, (char **)&m->sql, &m->len, err, errlen)) !=
		    DOBJ_OK) {
			free((char *)m->name);
			break;
		}
		set->n++;
	}
	closedir(d);
	if (rv == DOBJ_OK)
		rv = migset_finish(set, err, errlen);
	return rv;
}

static dobj_err
migset_load(migset *set, const char *dir, char *err, size_t errlen)
{
	memset(set, 0, sizeof(*set));
	return dir == NULL ? migset_builtin(set, err, errlen) : migset_dir(set, dir, err, errlen);
}

static const mig *
migset_find(const migset *set, int version)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].version == version)
			return &set->v[i];
	return NULL;
}

// migrate_table_exists sets *exists to whether dobj_schema_migrations is on the search path.
static dobj_err
migrate_table_exists(PGconn *conn, int *exists, char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, "SELECT to_regclass('dobj_schema_migrations') IS NOT NULL");
	dobj_err rv = DOBJ_OK;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 1)
		rv = migrate_pq_fail(conn, res, err, errlen,
		                     "could not look for dobj_schema_migrations");
	else
		*exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rv;
}

// migrate_read_applied reads dobj_schema_migrations in version order into a malloc'ed array
// (*out, free it; NULL and 0 rows when the table does not exist yet).
static dobj_err
migrate_read_applied(PGconn *conn, applied **out, size_t *n, char *err, size_t errlen)
{
	PGresult *res;
	applied *v;
	size_t rows;
	int exists;
	dobj_err rv;

	*out = NULL;
	*n = 0;
	if ((rv = migrate_table_exists(conn, &exists, err, errlen)) != DOBJ_OK || !exists)
		return rv;

	res = PQexec(conn, "SELECT version, name, checksum, date_trunc('second', applied_at)::text "
	                   "FROM dobj_schema_migrations ORDER BY version LIMIT 10000");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 4) {
		rv = migrate_pq_fail(conn, res, err, errlen,
		                     "could not read dobj_schema_migrations");
		PQclear(res);
		return rv;
	}
	rows = (size_t)PQntuples(res);
	if ((v = calloc(rows + 1, sizeof(*v))) == NULL) {
		PQclear(res);
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	}
	for (size_t i = 0; i < rows; i++) {
		int r = (int)i;

		if (PQgetisnull(res, r, 0) || PQgetlength(res, r, 1) > MIGRATE_MAX_NAME ||
		    PQgetlength(res, r, 2) > MIGRATE_SUM_LEN ||
		    PQgetlength(res, r, 3) >= (int)sizeof(v[i].at)) {
			PQclear(res);
			free(v);
			return dobj__errf(err, errlen, DOBJ_DATA_LOSS,
			                  "dobj_schema_migrations has a malformed row %zu", i + 1);
		}
		v[i].version = atoi(PQgetvalue(res, r, 0));
		snprintf(v[i].name, sizeof(v[i].name), "%s", PQgetvalue(res, r, 1));
		snprintf(v[i].sum, sizeof(v[i].sum), "%s", PQgetvalue(res, r, 2));
		snprintf(v[i].at, sizeof(v[i].at), "%s", PQgetvalue(res, r, 3));
	}
	PQclear(res);
	*out = v;
	*n = rows;
	return DOBJ_OK;
}

// migrate_verify refuses applied rows that this set does not know or whose file changed.
static dobj_err
migrate_verify(const migset *set, const applied *ap, size_t nap, char *err, size_t errlen)
{
	for (size_t i = 0; i < nap; i++) {
		const mig *m = migset_find(set, ap[i].version);

		if (m == NULL)
			return dobj__errf(
			    err, errlen, DOBJ_FAILED_PRECONDITION,
			    "database has migration %04d which this dobjd does not know: "
			    "upgrade dobjd",
			    ap[i].version);
		if (strcmp(m->sum, ap[i].sum) != 0)
			return dobj__errf(
			    err, errlen, DOBJ_FAILED_PRECONDITION,
			    "migration %s was changed after it was applied (checksum %.12s "
			    "in the database, %.12s in this build); migrations are never "
			    "edited after release: add a new one",
			    m->name, ap[i].sum, m->sum);
	}
	return DOBJ_OK;
}

static int
migrate_is_applied(const applied *ap, size_t nap, int version)
{
	for (size_t i = 0; i < nap; i++)
		if (ap[i].version == version)
			return 1;
	return 0;
}

// migrate_unrecord: m failed after it ended its transaction itself (its COMMIT came first),
// so its bookkeeping row may be committed with the statements before that. The row goes: a
// migration applied in part is not applied, and the next run must not call the schema
// current. err (holding the failure) gets what the operator must know appended.
static void
migrate_unrecord(PGconn *conn, const mig *m, char *err, size_t errlen)
{
	char version[16];
	const char *params[1] = {version};
	PGresult *res;
	size_t len = strlen(err);
	bool gone;

	snprintf(version, sizeof(version), "%d", m->version);
	res = PQexecParams(conn, "DELETE FROM dobj_schema_migrations WHERE version = $1::int", 1,
	                   NULL, params, NULL, NULL, 0);
	gone = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	snprintf(err + len, errlen - len,
	         "; it ends its transaction itself (COMMIT or ROLLBACK), so what came before "
	         "that may be committed; %s: check what it did and remove the COMMIT or "
	         "ROLLBACK from the file",
	         gone ? "it is not recorded as applied"
	              : "it may be recorded as applied (could not remove its row)");
}

// migrate_apply runs one migration and its bookkeeping row in one transaction. The row goes
// first: a file that commits on its own (psql style, BEGIN ... COMMIT) then commits it along
// with its statements, and is not applied a second time by the next run (unless a statement
// after its COMMIT fails: migrate_unrecord).
static dobj_err
migrate_apply(PGconn *conn, const mig *m, char *err, size_t errlen)
{
	char what[MIGRATE_MAX_NAME + 64];
	char version[16];
	const char *params[3];
	PGresult *res;
	dobj_err rv;

	snprintf(what, sizeof(what), "could not apply migration %s", m->name);
	if ((rv = migrate_exec(conn, "BEGIN", err, errlen, what)) != DOBJ_OK)
		return rv;
	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = version;
	params[1] = m->name;
	params[2] = m->sum;
	res = PQexecParams(conn,
	                   "INSERT INTO dobj_schema_migrations (version, name, checksum) "
	                   "VALUES ($1::int, $2, $3)",
	                   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rv = migrate_pq_fail(conn, res, err, errlen, what);
	PQclear(res);
	if (rv != DOBJ_OK)
		goto rollback;
	if ((rv = migrate_exec(conn, m->sql, err, errlen, what)) != DOBJ_OK) {
		if (PQtransactionStatus(conn) == PQTRANS_IDLE)
			migrate_unrecord(conn, m, err, errlen);
		goto rollback;
	}
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		rv =
		    dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		               "%s: it ends its transaction itself (COMMIT or ROLLBACK), so it was "
		               "not applied as one transaction; check what it did (it is recorded "
		               "as applied if its COMMIT came first) and remove the COMMIT or "
		               "ROLLBACK from the file",
		               what);
		goto rollback;
	}
	return migrate_exec(conn, "COMMIT", err, errlen, what);

rollback:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	return rv;
}

static dobj_err
migrate_up_locked(PGconn *conn, const migset *set, FILE *out, char *err, size_t errlen)
{
	applied *ap = NULL;
	size_t nap = 0;
	int exists = 0;
	dobj_err rv;

	// Under the lock, so no other run creates it between the look and the create.
	if ((rv = migrate_table_exists(conn, &exists, err, errlen)) != DOBJ_OK)
		return rv;
	if (!exists && (rv = migrate_exec(conn, create_table_sql, err, errlen,
	                                  "could not create dobj_schema_migrations")) != DOBJ_OK)
		return rv;
	if ((rv = migrate_read_applied(conn, &ap, &nap, err, errlen)) != DOBJ_OK)
		return rv;
	if ((rv = migrate_verify(set, ap, nap, err, errlen)) != DOBJ_OK)
		goto done;
	for (size_t i = 0; i < set->n; i++) {
		if (migrate_is_applied(ap, nap, set->v[i].version))
			continue;
		if ((rv = migrate_apply(conn, &set->v[i], err, errlen)) != DOBJ_OK)
			goto done;
		if (out != NULL) {
			fprintf(out, "applied %s\n", set->v[i].name);
			fflush(out);
		}
	}
done:
	free(ap);
	return rv;
}

/* migrate_encoding refuses a database whose encoding would change dobj's text. Keys, class
 * names and the FSM's records are UTF-8 and compare by their bytes: a UTF8 database keeps them
 * as they are, and so does SQL_ASCII, which converts and checks nothing; any other encoding
 * would convert them (some characters not at all) and reorder them. */
static dobj_err
migrate_encoding(PGconn *conn, char *err, size_t errlen)
{
	const char *enc = PQparameterStatus(conn, "server_encoding");

	if (enc != NULL && (strcmp(enc, "UTF8") == 0 || strcmp(enc, "SQL_ASCII") == 0))
		return DOBJ_OK;
	return dobj__errf(err, errlen, DOBJ_FAILED_PRECONDITION,
	                  "the database \"%s\" has the encoding %s; dobj needs a UTF8 database "
	                  "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)",
	                  PQdb(conn) ? PQdb(conn) : "", enc ? enc : "(unknown)");
}

dobj_err
dobj__migrate_up(PGconn *conn, const char *dir, FILE *out, char *err, size_t errlen)
{
	migset set;
	dobj_err rv, rv2;

	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
		return dobj__errf(err, errlen, DOBJ_FAILED_PRECONDITION,
		                  "could not migrate: connection is not open and idle");
	if ((rv = migrate_encoding(conn, err, errlen)) != DOBJ_OK)
		return rv;
	if ((rv = migset_load(&set, dir, err, errlen)) != DOBJ_OK) {
		migset_free(&set);
		return rv;
	}
	// The lock serializes concurrent runs: the second one waits, then finds nothing to do.
	if ((rv = migrate_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen,
	                       "could not take the migration lock")) != DOBJ_OK) {
		migset_free(&set);
		return rv;
	}
	rv = migrate_up_locked(conn, &set, out, err, errlen);
	rv2 = migrate_exec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")",
	                   rv == DOBJ_OK ? err : NULL, rv == DOBJ_OK ? errlen : 0,
	                   "could not release the migration lock");
	migset_free(&set);
	return rv != DOBJ_OK ? rv : rv2;
}

dobj_err
dobj__migrate_status(PGconn *conn, const char *dir, FILE *out, char *err, size_t errlen)
{
	migset set;
	applied *ap = NULL;
	size_t nap = 0;
	dobj_err rv;

	if ((rv = migset_load(&set, dir, err, errlen)) != DOBJ_OK)
		goto done;
	if ((rv = migrate_read_applied(conn, &ap, &nap, err, errlen)) != DOBJ_OK)
		goto done;
	if (out == NULL)
		goto done;
	fprintf(out, "%-7s  %-32s  %s\n", "version", "name", "status");
	for (size_t i = 0; i < set.n; i++) {
		const mig *m = &set.v[i];
		const applied *a = NULL;

		for (size_t j = 0; j < nap; j++)
			if (ap[j].version == m->version)
				a = &ap[j];
		if (a == NULL)
			fprintf(out, "%04d     %-32s  pending\n", m->version, m->name);
		else if (strcmp(a->sum, m->sum) != 0)
			fprintf(out,
			        "%04d     %-32s  applied %s, CHANGED since (checksum %.12s in the "
			        "database, %.12s in this build)\n",
			        m->version, m->name, a->at, a->sum, m->sum);
		else
			fprintf(out, "%04d     %-32s  applied %s\n", m->version, m->name, a->at);
	}
	for (size_t j = 0; j < nap; j++)
		if (migset_find(&set, ap[j].version) == NULL)
			fprintf(
			    out,
			    "%04d     %-32s  applied %s, UNKNOWN to this dobjd: upgrade dobjd\n",
			    ap[j].version, ap[j].name, ap[j].at);
	fflush(out);
done:
	free(ap);
	migset_free(&set);
	return rv;
}

dobj_err
dobj__migrate_check(PGconn *conn, char *err, size_t errlen)
{
	migset set;
	applied *ap = NULL;
	size_t nap = 0;
	int have = 0, need;
	dobj_err rv;

	memset(&set, 0, sizeof(set));
	if ((rv = migrate_encoding(conn, err, errlen)) != DOBJ_OK)
		goto done;
	if ((rv = migset_load(&set, NULL, err, errlen)) != DOBJ_OK)
		goto done;
	if ((rv = migrate_read_applied(conn, &ap, &nap, err, errlen)) != DOBJ_OK)
		goto done;
	if ((rv = migrate_verify(&set, ap, nap, err, errlen)) != DOBJ_OK)
		goto done;
	need = set.n > 0 ? set.v[set.n - 1].version : 0;
	for (size_t i = 0; i < nap; i++)
		if (ap[i].version > have)
			have = ap[i].version;
	for (size_t i = 0; i < set.n; i++) {
		if (!migrate_is_applied(ap, nap, set.v[i].version)) {
			rv = dobj__errf(err, errlen, DOBJ_FAILED_PRECONDITION,
			                "database schema is at version %d, this dobjd needs %d "
			                "(%s is not applied): run `dobjd migrate`",
			                have, need, set.v[i].name);
			goto done;
		}
	}
done:
	free(ap);
	migset_free(&set);
	return rv;
}
