// SPDX-License-Identifier: MIT
// pgping.c - the readiness probe's PostgreSQL connection. Connects and queries with libpq's
// non-blocking calls and poll(2), so that a silent network costs the deadline and not TCP's
// timeouts. What "ready" means beyond an answer to the schema query is http.c's business.

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "migrate.h"
#include "pgping.h"

struct dobj__pgping {
	char *dsn;
	PGconn *conn; /* NULL, or a connection that answered before */
};

static int64_t
pgping_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pgping_wait waits until conn's socket is ready to write (or read): 1 ready, 0 deadline
 * passed, -1 no socket or poll failed. */
static int
pgping_wait(PGconn *conn, bool write, int64_t deadline)
{
	struct pollfd pfd = {.fd = PQsocket(conn), .events = write ? POLLOUT : POLLIN};

	if (pfd.fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - pgping_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* pgping_fail drops the connection and writes "<what>: <libpq's message>" to msg. */
static dobj_err
pgping_fail(dobj__pgping *p, PGconn *conn, dobj_err rc, const char *what, char *msg, size_t msglen)
{
	const char *why = conn != NULL ? PQerrorMessage(conn) : "out of memory";
	size_t n;

	if (why == NULL || *why == '\0')
		why = "no reason given";
	snprintf(msg, msglen, "%s: %s", what, why);
	for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
		msg[n - 1] = '\0';
	if (p->conn == conn)
		p->conn = NULL;
	PQfinish(conn);
	return rc;
}

static dobj_err
pgping_connect(dobj__pgping *p, int64_t deadline, int timeout_ms, char *msg, size_t msglen)
{
	/* The DSN, expanded at "dbname", overrides these defaults. */
	static const char *const keys[] = {"application_name", "dbname", NULL};
	const char *vals[] = {"dobjd-readyz", p->dsn, NULL};
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGconn *conn = PQconnectStartParams(keys, vals, 1);

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return pgping_fail(p, conn, DOBJ_UNAVAILABLE, "could not connect to PostgreSQL",
		                   msg, msglen);
	while (st != PGRES_POLLING_OK) {
		int w;

		if (st == PGRES_POLLING_FAILED)
			return pgping_fail(p, conn, DOBJ_UNAVAILABLE,
			                   "could not connect to PostgreSQL", msg, msglen);
		if ((w = pgping_wait(conn, st == PGRES_POLLING_WRITING, deadline)) == 0) {
			PQfinish(conn);
			snprintf(msg, msglen, "could not connect to PostgreSQL within %d ms",
			         timeout_ms);
			return DOBJ_DEADLINE_EXCEEDED;
		}
		if (w < 0)
			return pgping_fail(p, conn, DOBJ_UNAVAILABLE,
			                   "could not connect to PostgreSQL", msg, msglen);
		st = PQconnectPoll(conn);
	}
	PQsetNoticeProcessor(conn, dobj__log_pg_notice, (void *)"readiness check");
	p->conn = conn;
	return DOBJ_OK;
}

/* schema_check compares the applied migrations (count, highest version) with this build's;
 * msg stays empty when they match. A database ahead of this build (a newer dobjd migrated it)
 * needs a newer dobjd, not `dobjd migrate`, which refuses to run there. */
static void
schema_check(PGresult *res, char *msg, size_t msglen)
{
	size_t n = dobj__builtin_migrations_count;
	long have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	long top = strtol(PQgetvalue(res, 0, 1), NULL, 10);
	long want = n ? strtol(dobj__builtin_migrations[n - 1].name, NULL, 10) : 0;

	if (top > want || have > (long)n)
		snprintf(msg, msglen,
		         "schema is at version %ld (%ld migrations), this dobjd knows only up to "
		         "%ld: upgrade dobjd",
		         top, have, want);
	else if (have != (long)n || top != want)
		snprintf(msg, msglen,
		         "schema is at version %ld (%ld migrations), this dobjd needs %ld: run "
		         "`dobjd migrate`",
		         top, have, want);
}

dobj_err
dobj__pgping_run(dobj__pgping *p, int timeout_ms, char *msg, size_t msglen)
{
	int64_t deadline = pgping_now_ms() + timeout_ms;
	PGresult *res;
	bool answered = false;
	dobj_err rc;

	if (p->conn != NULL && PQstatus(p->conn) != CONNECTION_OK) {
		PQfinish(p->conn);
		p->conn = NULL;
	}
	if (p->conn == NULL &&
	    (rc = pgping_connect(p, deadline, timeout_ms, msg, msglen)) != DOBJ_OK)
		return rc;
	/* Ready also means the schema this dobjd was built for: the applied migrations. */
	if (!PQsendQuery(p->conn,
	                 "SELECT count(*), coalesce(max(version), 0) FROM dobj_schema_migrations"))
		return pgping_fail(p, p->conn, DOBJ_UNAVAILABLE, "could not send the schema query",
		                   msg, msglen);
	for (;;) {
		int w;

		if (!PQconsumeInput(p->conn))
			return pgping_fail(p, p->conn, DOBJ_UNAVAILABLE, "the schema query failed",
			                   msg, msglen);
		if (!PQisBusy(p->conn))
			break;
		if ((w = pgping_wait(p->conn, false, deadline)) == 0) {
			PQfinish(p->conn);
			p->conn = NULL;
			snprintf(msg, msglen,
			         "PostgreSQL did not answer the schema query within %d ms",
			         timeout_ms);
			return DOBJ_DEADLINE_EXCEEDED;
		}
		if (w < 0)
			return pgping_fail(p, p->conn, DOBJ_UNAVAILABLE, "the schema query failed",
			                   msg, msglen);
	}
	/* The query is complete: PQgetResult does not block from here. */
	msg[0] = '\0';
	while ((res = PQgetResult(p->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
			answered = true;
			schema_check(res, msg, msglen);
		} else if (PQresultStatus(res) != PGRES_TUPLES_OK && msg[0] == '\0') {
			snprintf(msg, msglen, "PostgreSQL could not read the schema version: %s",
			         PQresultErrorMessage(res));
			dobj__chomp(msg);
		}
		PQclear(res);
	}
	if (PQstatus(p->conn) != CONNECTION_OK || (!answered && msg[0] == '\0'))
		return pgping_fail(p, p->conn, DOBJ_UNAVAILABLE, "the schema query failed", msg,
		                   msglen);
	return msg[0] == '\0' ? DOBJ_OK : DOBJ_FAILED_PRECONDITION;
}

dobj_err
dobj__pgping_open(dobj__pgping **out, const char *dsn)
{
	dobj__pgping *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || (p->dsn = strdup(dsn)) == NULL) {
		free(p);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	*out = p;
	return DOBJ_OK;
}

void
dobj__pgping_close(dobj__pgping *p)
{
	if (p == NULL)
		return;
	PQfinish(p->conn);
	free(p->dsn);
	free(p);
}
