// SPDX-License-Identifier: MIT
// httpd_test.c - the limits of dobjd's HTTP port (server/httpd.h) through a real dobjd: idle
// connections past the cap replace the oldest idle ones and the rest close at the deadline,
// while the RPC port still serves under a tight descriptor limit; oversized headers, other
// methods, unknown paths, bad request lines and request bodies get their status; HEAD has no
// body. Requests go over plain sockets, byte for byte.

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "httpd.h"
#include "observe.h"
#include "stack.h"

#define ANSWER_MAX 65536
#define ANSWER_WAIT_MS 10000
/* dobjd's descriptor limit in the flood test: its own needs (some 20 with two shards) plus
 * the cap fit; a server that takes every connection it is offered does not. */
#define FLOOD_NOFILE 160
#define FLOOD_EXTRA 150 /* connections past the cap */

static fx_db db;
static fx_server srv;
static int http_port;
static char http_url[64];

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

TestSuite(httpd, .init = setup, .fini = teardown, .timeout = 120);

static void
start_with_http(void)
{
	const char *args[] = {"--http-listen", http_url, "--shards", "2", NULL};

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
}

/* exchange sends req (len bytes) on a new connection and returns the answer's status, with
 * the whole answer in ans. */
static int
exchange(const char *req, size_t len, char *ans, size_t anscap)
{
	int fd = fx_tcp_dial(http_port), status = 0;
	ssize_t n;

	cr_assert(fd >= 0, "connect to the HTTP port: %s", strerror(errno));
	for (size_t off = 0; off < len;) {
		n = write(fd, req + off, len - off);
		cr_assert(n > 0, "write: %s", strerror(errno));
		off += (size_t)n;
	}
	n = fx_read_to_end(fd, ans, anscap, ANSWER_WAIT_MS);
	close(fd);
	cr_assert(n >= 0, "no answer within %d ms to: %.60s", ANSWER_WAIT_MS, req);
	cr_assert(sscanf(ans, "HTTP/1.1 %d ", &status) == 1, "bad status line: %.80s", ans);
	return status;
}

static int
exchange_str(const char *req, char *ans, size_t anscap)
{
	return exchange(req, strlen(req), ans, anscap);
}

/* body_of returns the body of a whole answer. */
static const char *
body_of(const char *ans)
{
	const char *sep = strstr(ans, "\r\n\r\n");

	cr_assert_not_null(sep, "no end of headers: %s", ans);
	return sep + 4;
}

/* open_fds counts the descriptors process pid holds. */
static int
open_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	cr_assert_not_null(dir = opendir(path), "%s: %s", path, strerror(errno));
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The audit's case: a client opens many connections and finishes no request. dobjd runs with
 * FLOOD_NOFILE descriptors, so a server that held them all would leave none for the RPC port's
 * accepts. Ours keeps at most the cap: each connection past it takes the place of the oldest
 * idle one, which is closed at once; a probe still gets its answer, and the connections left
 * are closed at the header deadline. */
Test(httpd, idle_connections_past_the_cap_replace_the_oldest_and_the_rest_close_at_the_deadline)
{
	enum { N = DOBJ__HTTPD_CONN_MAX + FLOOD_EXTRA };
	static char ans[ANSWER_MAX];
	static int fds[N];
	struct rlimit saved, low;
	int base, held = 0, closed = 0, late = 0;
	int64_t t0, first_timeout = 0;
	dobj_client *c;
	int64_t n = 0;

	/* dobjd inherits the lowered limit; this process gets its own back at once. */
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	low = saved;
	low.rlim_cur = FLOOD_NOFILE;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0, "setrlimit: %s", strerror(errno));
	start_with_http();
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &saved), 0);
	base = open_fds(srv.pid);

	t0 = fx_now_ms();
	for (int i = 0; i < N; i++) {
		fds[i] = fx_tcp_dial(http_port);
		cr_assert(fds[i] >= 0, "connection %d refused by the kernel", i);
		if (i % 2 == 1) /* half a request */
			cr_assert_eq(write(fds[i], "GET /healthz HTTP/1.1\r\nHo", 25), 25);
	}
	/* The oldest ones make room for the newer ones: closed at once, without an answer. */
	for (int64_t until = fx_now_ms() + 1000; fx_now_ms() < until;) {
		static struct pollfd pfd[N];
		int64_t left = until - fx_now_ms();

		for (int i = 0; i < N; i++)
			pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		if (left <= 0 || poll(pfd, N, (int)left) <= 0)
			continue;
		for (int i = 0; i < N; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			cr_assert_eq(fx_read_to_end(fds[i], ans, sizeof(ans), 1000), 0,
			             "connection %d: %.80s", i, ans);
			/* the newest cap's worth stays (two spare for accepts still on their way) */
			cr_assert_lt(i, N - DOBJ__HTTPD_CONN_MAX + 2, "connection %d of %d closed",
			             i, N);
			close(fds[i]);
			fds[i] = -1;
			closed++;
		}
	}
	cr_assert_geq(closed, FLOOD_EXTRA - 2, "only %d of %d connections past the cap closed",
	              closed, FLOOD_EXTRA);
	cr_assert_leq(open_fds(srv.pid), base + DOBJ__HTTPD_CONN_MAX,
	              "dobjd holds %d descriptors, %d before %d connections (cap %d)",
	              open_fds(srv.pid), base, N, DOBJ__HTTPD_CONN_MAX);

	/* The RPC port accepts and serves meanwhile, and so does the HTTP port (the probe takes
	 * the place of one idle connection). */
	c = fx_client(srv.url, 5000);
	cr_assert_eq(fx_counter(c, "flood", "increment", 1, &n), DOBJ_OK);
	cr_assert_eq(n, 1);
	dobj_client_close(c);
	cr_assert_eq(fx_http_get(http_port, "/healthz", ans, sizeof(ans)), 200);
	cr_assert_str_eq(ans, "ok\n");

	/* The server closes the idle ones left at the header deadline (408, then EOF), no
	 * sooner; one of them made room for the probe. */
	for (int i = 0; i < N; i++) {
		ssize_t len;

		if (fds[i] < 0)
			continue;
		held++;
		len = fx_read_to_end(fds[i], ans, sizeof(ans), DOBJ__HTTPD_REQUEST_MS + 3000);
		cr_assert(len >= 0, "connection %d still open %lld ms after it was made", i,
		          (long long)(fx_now_ms() - t0));
		if (len == 0) {
			late++;
		} else {
			cr_assert(strncmp(ans, "HTTP/1.1 408 ", 13) == 0, "connection %d: %.80s", i,
			          ans);
			if (first_timeout == 0)
				first_timeout = fx_now_ms() - t0;
		}
		close(fds[i]);
	}
	cr_assert_geq(held, DOBJ__HTTPD_CONN_MAX - 2, "only %d connections were held", held);
	cr_assert_leq(late, 1, "%d held connections closed without a 408", late);
	cr_assert_geq(first_timeout, DOBJ__HTTPD_REQUEST_MS - 500,
	              "an idle connection timed out after %lld ms", (long long)first_timeout);

	/* And the port serves as before; /metrics counts what the cap did. */
	cr_assert_eq(fx_http_get(http_port, "/healthz", ans, sizeof(ans)), 200);
	cr_assert_str_eq(ans, "ok\n");
	cr_assert_eq(fx_metric(http_port, "dobj_http_evicted_total"), FLOOD_EXTRA + 1);
	cr_assert_eq(fx_metric(http_port, "dobj_http_refused_total"), 0);
}

Test(httpd, headers_past_the_limit_get_431)
{
	static char req[DOBJ__HTTPD_HEADER_MAX + 1024], ans[ANSWER_MAX];
	size_t len;

	start_with_http();
	/* Unfinished: the limit is reached before the end of the headers. */
	len = (size_t)snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nX-Big: ");
	memset(req + len, 'a', DOBJ__HTTPD_HEADER_MAX + 100 - len);
	len = DOBJ__HTTPD_HEADER_MAX + 100;
	cr_assert_eq(exchange(req, len, ans, sizeof(ans)), 431, "%s", ans);
	/* Complete, but too long all the same. */
	memcpy(req + len, "\r\n\r\n", 4);
	cr_assert_eq(exchange(req, len + 4, ans, sizeof(ans)), 431, "%s", ans);
	/* Just under it is served. */
	len = (size_t)snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nX-Big: ");
	memset(req + len, 'a', DOBJ__HTTPD_HEADER_MAX - 4 - len);
	memcpy(req + DOBJ__HTTPD_HEADER_MAX - 4, "\r\n\r\n", 4);
	cr_assert_eq(exchange(req, DOBJ__HTTPD_HEADER_MAX, ans, sizeof(ans)), 200, "%s", ans);
}

Test(httpd, methods_paths_bad_requests_and_bodies_get_their_status)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
	    {"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
	    {"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
	    {"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n", 404},
	    {"GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n", 404},
	    {"hello there\r\n\r\n", 400},
	    {"GET /healthz\r\n\r\n", 400},
	    {"GET /healthz HTTP/1.1 extra\r\n\r\n", 400},
	    {"GET /healthz FTP/1.1\r\n\r\n", 400},
	    {"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	    {"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400},
	    {"GET /healthz HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
	    {"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	    {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 413},
	    {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: five\r\n\r\n", 400},
	    {"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	     413},
	    {"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 200},
	    {"GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200},
	    {"GET /healthz HTTP/1.0\r\n\r\n", 200},
	    {"GET /healthz HTTP/1.1\nHost: x\n\n", 200},
	};
	static char ans[ANSWER_MAX];

	start_with_http();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int status = exchange_str(cases[i].req, ans, sizeof(ans));

		cr_assert_eq(status, cases[i].status, "%s\n-> %s", cases[i].req, ans);
		cr_assert(strstr(ans, "\r\nConnection: close\r\n") != NULL, "%s", ans);
		cr_assert(strstr(ans, "\r\nContent-Length: ") != NULL, "%s", ans);
		if (status == 405)
			cr_assert(strstr(ans, "\r\nAllow: GET, HEAD\r\n") != NULL, "%s", ans);
	}
	cr_assert_eq(exchange_str("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", ans, sizeof(ans)),
	             200);
	cr_assert(strstr(ans, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
	              NULL,
	          "%.300s", ans);
	cr_assert(strstr(body_of(ans), "# TYPE dobj_turns_total counter\n") != NULL);
}

Test(httpd, head_answers_like_get_without_a_body)
{
	static char ans[ANSWER_MAX];
	const char *paths[] = {"/healthz", "/readyz"};

	start_with_http();
	fx_http_await(http_port, "/readyz", 200, -1, 15000, ans, sizeof(ans));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char req[128];

		snprintf(req, sizeof(req), "HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
		cr_assert_eq(exchange_str(req, ans, sizeof(ans)), 200, "HEAD %s: %s", paths[i],
		             ans);
		cr_assert(strstr(ans, "\r\nContent-Length: 3\r\n") != NULL, "HEAD %s: %s", paths[i],
		          ans);
		cr_assert(strstr(ans, "\r\nCache-Control: no-store\r\n") != NULL, "%s", ans);
		cr_assert_str_eq(body_of(ans), "", "HEAD %s sent a body", paths[i]);
	}
	snprintf(ans, sizeof(ans), "x");
	cr_assert_eq(exchange_str("HEAD /nothing-here HTTP/1.1\r\n\r\n", ans, sizeof(ans)), 404);
	cr_assert_str_eq(body_of(ans), "");
}
