/* SPDX-License-Identifier: MIT */
/* migrate.h - the schema of dobj's tables: applying migrations and checking the version. */
#ifndef DOBJ_SERVER_MIGRATE_H
#define DOBJ_SERVER_MIGRATE_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include <dobj/err.h>

/* DOBJ__WRITER_LOCK_KEY: the session-level pg_advisory_lock key that the dobjd serving a
 * database holds on its commit connection ("dobjwrit" in ASCII; migrate.c's key for a
 * migration run is another). Advisory locks are per database: each database has its own. */
#define DOBJ__WRITER_LOCK_KEY "7237111335617718644"

/* dobj__migration_file: one migrations/NNNN_name.sql; the version is NNNN. */
typedef struct dobj__migration_file {
	const char *name; /* file name, e.g. "0001_init.sql" */
	const char *sql;
	size_t len;
} dobj__migration_file;

/* The migrations compiled into this binary, in version order (migrations_builtin.c). */
extern const dobj__migration_file dobj__builtin_migrations[];
extern const size_t dobj__builtin_migrations_count;

/* dobj__migrate_up applies, in order and one transaction each, every migration not yet
 * applied to the database at conn, under an advisory lock, recording version, name and
 * SHA-256 checksum. Prints one line per applied file to out (may be NULL). Refuses, with
 * DOBJ_FAILED_PRECONDITION and a message in err, a database where an applied file's
 * checksum differs or a version unknown to this binary is applied. dir NULL means the
 * built-in migrations; otherwise NNNN_*.sql files are read from dir. */
dobj_err dobj__migrate_up(PGconn *conn, const char *dir, FILE *out, char *err, size_t errlen);

/* dobj__migrate_status prints each known migration with "applied <time>" or "pending", and
 * any applied version this binary does not know. DOBJ_OK even when some are pending. */
dobj_err dobj__migrate_status(PGconn *conn, const char *dir, FILE *out, char *err, size_t errlen);

/* dobj__migrate_check is what dobjd runs before serving: DOBJ_OK only when every built-in
 * migration is applied with a matching checksum and nothing unknown is applied; otherwise
 * DOBJ_FAILED_PRECONDITION with a message that names the fix (`dobjd migrate`). */
dobj_err dobj__migrate_check(PGconn *conn, char *err, size_t errlen);

#endif /* DOBJ_SERVER_MIGRATE_H */
