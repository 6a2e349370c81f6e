// SPDX-License-Identifier: MIT
// http_test.c - dobjd's operator endpoint through a real dobjd and PostgreSQL: /healthz,
// /readyz (also 503 while the database refuses connections, and 200 again after, without a
// restart), /metrics as Prometheus text whose turn counter moves under calls, and bad
// --http-listen values refused at start. Requests go over a plain socket.

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "calls.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

#define HTTP_DEADLINE_MS 10000
#define HTTP_BODY_MAX 65536

static fx_db db;
static fx_server srv;
static int http_port;
static char http_url[64];

/* listen_any binds a loopback TCP socket on a free port; the caller closes it. */
static int
listen_any(int *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	              getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && listen(fd, 1) == 0,
	          "bind: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* http_get sends GET path to 127.0.0.1:port and returns the status; body gets the body. */
static int
http_get(int port, const char *path, char *body, size_t bodylen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	char *buf = malloc(HTTP_BODY_MAX + 1), req[256];
	int64_t deadline = fx_now_ms() + HTTP_DEADLINE_MS;
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
	size_t len = 0;
	char *sep;

	cr_assert(buf != NULL && fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect to port %d: %s",
	          port, strerror(errno));
	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	/* Connection: close, so the response ends where the stream does. */
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - fx_now_ms();
		ssize_t n;

		cr_assert(left > 0, "GET %s: no complete answer within %d ms", path,
		          HTTP_DEADLINE_MS);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + len, HTTP_BODY_MAX - len);
		if (n == 0)
			break;
		cr_assert(n > 0 || errno == EINTR, "read: %s", strerror(errno));
		if (n > 0)
			len += (size_t)n;
		cr_assert(len < HTTP_BODY_MAX, "GET %s: answer too long", path);
	}
	close(fd);
	buf[len] = '\0';
	cr_assert(sscanf(buf, "HTTP/1.1 %d", &status) == 1, "GET %s: bad status line: %.80s", path,
	          buf);
	sep = strstr(buf, "\r\n\r\n");
	cr_assert(sep != NULL, "GET %s: no end of headers", path);
	snprintf(body, bodylen, "%s", sep + 4);
	free(buf);
	return status;
}

static void
setup(void)
{
	fx_db_create(&db, true);
	http_port = fx_http_url(http_url, sizeof(http_url));
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_stop(&srv);
	fx_db_drop(&db);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 120);

/* start_http starts dobjd with extra args and waits until its HTTP port accepts too (it
 * opens after the RPC port that fx_server_start waits for). */
static void
start_http(const char *const *args)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
	int64_t deadline;

	fx_server_start(&srv, &db, 0, args);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (deadline = fx_now_ms() + HTTP_DEADLINE_MS;; fx_nap_ms(10)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

		if (fd >= 0)
			close(fd);
		if (up)
			return;
		cr_assert(fx_now_ms() < deadline, "dobjd did not serve HTTP on %s; log in %s",
		          http_url, srv.log_path);
	}
}

static void
start_with_http(void)
{
	const char *args[] = {"--http-listen", http_url, NULL};

	start_http(args);
}

Test(http, healthz_and_readyz_answer_200)
{
	char body[1024];

	start_with_http();
	cr_assert_eq(http_get(http_port, "/healthz", body, sizeof(body)), 200);
	cr_assert_str_eq(body, "ok\n");
	cr_assert_eq(http_get(http_port, "/readyz", body, sizeof(body)), 200, "body: %s", body);
	cr_assert_str_eq(body, "ok\n");
	cr_assert_eq(http_get(http_port, "/nothing-here", body, sizeof(body)), 404);
}

/* exec_base runs sql on the PostgreSQL server itself (not on the test's database). */
static void
exec_base(const char *sql)
{
	PGconn *conn = PQconnectdb(getenv("DOBJ_TEST_DATABASE_URL"));
	PGresult *res;

	cr_assert(PQstatus(conn) == CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
	res = PQexec(conn, sql);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	          "%s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
}

Test(http, readyz_is_503_while_postgresql_refuses_and_recovers_by_itself)
{
	char body[1024], sql[256];

	start_with_http();
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
	/* New connections to the database fail, and the probe's own connection is cut. */
	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS false", db.name);
	exec_base(sql);
	snprintf(sql, sizeof(sql),
	         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' "
	         "AND application_name = 'dobjd-readyz'",
	         db.name);
	exec_base(sql);
	fx_http_await(http_port, "/readyz", 503, -1, 15000, body, sizeof(body));
	cr_assert(strncmp(body, "not ready: ", 11) == 0, "body: %s", body);
	cr_assert(strstr(body, "PostgreSQL") != NULL || strstr(body, "schema query") != NULL,
	          "the reason does not name the database: %s", body);
	cr_assert_eq(http_get(http_port, "/healthz", body, sizeof(body)), 200);

	snprintf(sql, sizeof(sql), "ALTER DATABASE %s ALLOW_CONNECTIONS true", db.name);
	exec_base(sql);
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
}

/* metric_line_ok: a sample line is `name{label="value",...} value`. */
static bool
metric_line_ok(const char *line)
{
	const char *p = line;
	char *end;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':'))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
				return false;
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			       (*p >= '0' && *p <= '9') || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				return false;
			for (p += 2; *p != '"'; p++) {
				if (*p == '\0' || *p == '\n')
					return false;
				if (*p == '\\' && (*++p == '\0'))
					return false;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return false;
		}
		p++;
	}
	if (*p != ' ')
		return false;
	p++;
	strtod(p, &end);
	return end != p && *end == '\0';
}

/* parse_metrics checks every line of a /metrics body and returns the value of the sample
 * named want (exact, with labels if any); fails the test on a malformed line. */
static double
parse_metrics(char *text, const char *want)
{
	double found = NAN;
	char *save = NULL;

	cr_assert(text[0] != '\0' && text[strlen(text) - 1] == '\n', "not newline-terminated");
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(want);

		if (line[0] == '#') {
			cr_assert(strncmp(line, "# HELP ", 7) == 0 ||
			              strncmp(line, "# TYPE ", 7) == 0,
			          "unknown comment line: %s", line);
			continue;
		}
		cr_assert(metric_line_ok(line), "not a Prometheus sample line: \"%s\"", line);
		if (strncmp(line, want, n) == 0 && line[n] == ' ')
			found = strtod(line + n + 1, NULL);
	}
	return found;
}

static double
metric(const char *name)
{
	static char body[HTTP_BODY_MAX];
	double v;

	cr_assert_eq(http_get(http_port, "/metrics", body, sizeof(body)), 200);
	v = parse_metrics(body, name);
	cr_assert(!isnan(v), "no sample %s in /metrics", name);
	return v;
}

Test(http, metrics_parse_and_count_turns)
{
	static char body[HTTP_BODY_MAX];
	static const char *const required[] = {
	    "# TYPE dobj_live_objects gauge",
	    "# TYPE dobj_shard_queue_depth gauge",
	    "dobj_shard_queue_depth{shard=\"0\"} ",
	    "# TYPE dobj_turns_total counter",
	    "# TYPE dobj_commits_total counter",
	    "# TYPE dobj_commit_failures_total counter",
	    "# TYPE dobj_build_info gauge",
	    "dobj_build_info{version=\"",
	    "# TYPE dobj_uptime_seconds gauge",
	    "# HELP dobj_turns_total ",
	    "# TYPE dobj_commit_busy_seconds_total counter",
	};
	const char *extra[] = {"--http-listen", http_url, "--shards", "2", NULL};
	double turns, commits, busy;
	dobj_client *c;
	int64_t n = 0, t0;

	start_http(extra);
	cr_assert_eq(http_get(http_port, "/metrics", body, sizeof(body)), 200);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		cr_assert(strstr(body, required[i]) != NULL, "/metrics lacks \"%s\":\n%s",
		          required[i], body);
	turns = metric("dobj_turns_total");
	commits = metric("dobj_commits_total");
	t0 = fx_now_ms(); /* before the first reading: the span measured holds both readings */
	busy = metric("dobj_commit_busy_seconds_total");
	cr_assert_eq(metric("dobj_shards"), 2);

	c = fx_client(srv.url, 5000);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(fx_counter(c, "metrics", "increment", 1, &n), DOBJ_OK);
	dobj_client_close(c);
	cr_assert_eq(n, 5);
	/* The replies came after the turns and their commits were counted. */
	cr_assert_geq(metric("dobj_turns_total"), turns + 5);
	cr_assert_geq(metric("dobj_commits_total"), commits + 1);
	/* each commit was on the connection for a while, and never longer than the test ran */
	cr_assert_gt(metric("dobj_commit_busy_seconds_total"), busy);
	cr_assert_leq(metric("dobj_commit_busy_seconds_total") - busy,
	              (double)(fx_now_ms() - t0) / 1000.0);
	cr_assert_geq(metric("dobj_live_objects"), 1);
	cr_assert_geq(metric("dobj_uptime_seconds"), 0);
}

Test(http, bad_http_listen_is_refused_at_start)
{
	static const char *const bad[] = {"9700", "tcp://127.0.0.1:9700", "https://127.0.0.1:9700",
	                                  "http://127.0.0.1:9700/metrics"};
	char port[16], out[1024], err[4096], rpc[64], in_use[64];
	int busy_port, busy = listen_any(&busy_port);

	snprintf(rpc, sizeof(rpc), "tcp://127.0.0.1:%d", fx_port());
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = {
		    fx_bin("dobjd"), "serve",         "--listen", rpc, "--database-url",
		    db.dsn,          "--http-listen", bad[i],     NULL};
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert_eq(st, 2, "--http-listen %s: exit status %d, stderr: %s", bad[i], st,
		             err);
		cr_assert(strstr(err, "--http-listen") != NULL && strstr(err, bad[i]) != NULL,
		          "the message does not name the flag and value: %s", err);
	}
	/* A well-formed URL on a port that is taken fails at start, saying so. */
	snprintf(port, sizeof(port), "%d", busy_port);
	snprintf(in_use, sizeof(in_use), "http://127.0.0.1:%s", port);
	{
		const char *argv[] = {
		    fx_bin("dobjd"), "serve",         "--listen", rpc, "--database-url",
		    db.dsn,          "--http-listen", in_use,     NULL};
		int st = fx_run(argv, out, sizeof(out), err, sizeof(err));

		cr_assert_neq(st, 0, "dobjd served with its HTTP port taken");
		cr_assert(strstr(err, "could not serve HTTP") != NULL, "stderr: %s", err);
	}
	close(busy);
}

Test(http, metrics_show_calls_latency_and_commit_batches_moving)
{
	static const char *const required[] = {
	    "# TYPE dobj_calls_total counter",
	    "# TYPE dobj_call_duration_seconds histogram",
	    "dobj_call_duration_seconds_bucket{class=\"Counter\",method=\"increment\",le=\"0.001\"}"
	    " ",
	    "dobj_call_duration_seconds_bucket{class=\"Counter\",method=\"increment\",le=\"+Inf\"}"
	    " ",
	    "# TYPE dobj_commit_turns histogram",
	    "dobj_commit_turns_bucket{le=\"1\"} ",
	    "# TYPE dobj_commit_duration_seconds histogram",
	    "# TYPE dobj_pg_errors_total counter",
	    "# TYPE dobj_pg_reconnects_total counter",
	};
	const char *inc_ok =
	    "dobj_calls_total{class=\"Counter\",method=\"increment\",status=\"OK\"}";
	const char *inc_count =
	    "dobj_call_duration_seconds_count{class=\"Counter\",method=\"increment\"}";
	const char *unrouted = "dobj_calls_total{class=\"\",method=\"\",status=\"UNIMPLEMENTED\"}";
	static char body[HTTP_BODY_MAX];
	double calls, latency, commits, turns;
	dobj_client *c;

	start_with_http();
	calls = metric(inc_ok);
	latency = metric(inc_count);
	commits = metric("dobj_commit_turns_count");
	turns = metric("dobj_commit_turns_sum");
	c = fx_client(srv.url, 5000);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(fx_counter(c, "metered", "increment", 1, NULL), DOBJ_OK);
	cr_assert_eq(fx_counter(c, "metered", "no_such_method", 0, NULL), DOBJ_UNIMPLEMENTED);
	dobj_client_close(c);

	cr_assert_eq(http_get(http_port, "/metrics", body, sizeof(body)), 200);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		cr_assert(strstr(body, required[i]) != NULL, "/metrics lacks \"%s\":\n%s",
		          required[i], body);
	cr_assert_eq(metric(inc_ok), calls + 7);
	cr_assert_eq(metric(inc_count), latency + 7);
	cr_assert_eq(metric(unrouted), 1);
	cr_assert_geq(metric("dobj_commit_turns_count"), commits + 1);
	cr_assert_eq(metric("dobj_commit_turns_sum"), turns + 7);
	cr_assert_gt(metric("dobj_commit_duration_seconds_sum"), 0);
	cr_assert_eq(metric("dobj_pg_errors_total"), 0);
}

/* Ready means the schema this dobjd was built for: a migration missing from the database
 * turns /readyz to 503 with the fix in the reason, and back once it is there again. */
Test(http, readyz_is_503_when_the_schema_is_behind)
{
	char body[1024], *row;

	start_with_http();
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
	row = fx_db_query1(&db, "SELECT name || '|' || checksum FROM dobj_schema_migrations "
	                        "ORDER BY version DESC LIMIT 1");
	cr_assert_not_null(row);
	free(fx_db_query1(&db, "DELETE FROM dobj_schema_migrations WHERE version = "
	                       "(SELECT max(version) FROM dobj_schema_migrations) RETURNING 1"));
	fx_http_await(http_port, "/readyz", 503, -1, 15000, body, sizeof(body));
	cr_assert(strstr(body, "run `dobjd migrate`") != NULL, "body: %s", body);
	{
		char sql[512], *sep = strchr(row, '|');
		*sep = '\0';
		snprintf(sql, sizeof(sql),
		         "INSERT INTO dobj_schema_migrations (version, name, checksum) VALUES "
		         "(%ld, '%s', '%s') RETURNING 1",
		         strtol(row, NULL, 10), row, sep + 1);
		free(fx_db_query1(&db, sql));
	}
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
	free(row);
}

/* A database migrated by a newer dobjd is not one this dobjd serves either, and the fix is
 * not `dobjd migrate` (it refuses to run there): the reason says to upgrade. */
Test(http, readyz_is_503_when_the_schema_is_ahead)
{
	char body[1024];

	start_with_http();
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
	free(fx_db_query1(&db, "INSERT INTO dobj_schema_migrations (version, name, checksum) "
	                       "VALUES (9999, '9999_future.sql', repeat('0', 64)) RETURNING 1"));
	fx_http_await(http_port, "/readyz", 503, -1, 15000, body, sizeof(body));
	cr_assert(strstr(body, "upgrade dobjd") != NULL, "body: %s", body);
	cr_assert(strstr(body, "run `dobjd migrate`") == NULL, "body: %s", body);
	free(fx_db_query1(&db, "DELETE FROM dobj_schema_migrations WHERE version = 9999 "
	                       "RETURNING 1"));
	fx_http_await(http_port, "/readyz", 200, -1, 15000, body, sizeof(body));
}
