/* SPDX-License-Identifier: MIT */
/*
 * pgping.h - the readiness probe's own PostgreSQL connection: `SELECT 1` within a deadline,
 * on a connection separate from the shards', reconnecting when it breaks.
 */
#ifndef DOBJ_SERVER_PGPING_H
#define DOBJ_SERVER_PGPING_H

#include <stddef.h>

#include <dobj/err.h>

typedef struct dobj__pgping dobj__pgping;

/* dobj__pgping_open copies dsn; it does not connect yet. Free with dobj__pgping_close(). */
dobj_err dobj__pgping_open(dobj__pgping **out, const char *dsn);

/* dobj__pgping_run connects if needed and runs `SELECT 1`, all within timeout_ms.
 * DOBJ_OK when PostgreSQL answered; else DOBJ_UNAVAILABLE or DOBJ_DEADLINE_EXCEEDED with the
 * reason in msg, and the connection is dropped (the next run reconnects). Not thread-safe:
 * one caller at a time. Name resolution of the host is not bounded by timeout_ms (libpq
 * resolves names synchronously). */
dobj_err dobj__pgping_run(dobj__pgping *p, int timeout_ms, char *msg, size_t msglen);

/* dobj__pgping_close closes the connection and frees p. NULL is allowed. */
void dobj__pgping_close(dobj__pgping *p);

#endif /* DOBJ_SERVER_PGPING_H */
