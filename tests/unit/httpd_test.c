// SPDX-License-Identifier: MIT
// httpd_test.c - the operator port's HTTP server (server/httpd.c) on its own, in this process:
// a client that never reads its answer is reset at the write deadline; parked requests are
// answered after a wake, at their timeout, and at stop; a request the callback leaves
// unanswered is closed; port 0 and IPv6 addresses bind; a port in use fails with its cause;
// at the cap a new connection replaces the oldest idle one, or is refused when all are busy.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "clock.h"
#include "httpd.h"
#include "observe.h"

#define BIG_BYTES ((size_t)16 << 20) /* well past any socket buffers of both sides */
#define WAIT_MS 5000

static atomic_int parked; /* requests the test server parked */
static atomic_bool stopping;
static char *big;

/* test_serve: /big answers BIG_BYTES, /park and /park-short park, /silent answers nothing. */
static void
test_serve(void *arg, dobj__httpd_req *req)
{
	const char *path = dobj__httpd_req_path(req);

	(void)arg;
	if (strcmp(path, "/big") == 0) {
		dobj__httpd_reply(req, 200, "application/octet-stream", big, BIG_BYTES);
	} else if (strcmp(path, "/park") == 0 || strcmp(path, "/park-short") == 0) {
		dobj__httpd_park(req, path[5] == '\0' ? 60000 : 300);
		atomic_fetch_add(&parked, 1);
	} else if (strcmp(path, "/silent") != 0) {
		dobj__httpd_reply(req, 200, "text/plain", "hi\n", 3);
	}
}

static void
test_resume(void *arg, dobj__httpd_req *req, bool timed_out)
{
	(void)arg;
	if (atomic_load(&stopping))
		dobj__httpd_reply(req, 503, "text/plain", "stopping\n", 9);
	else if (timed_out)
		dobj__httpd_reply(req, 504, "text/plain", "timed out\n", 10);
	else
		dobj__httpd_reply(req, 200, "text/plain", "resumed\n", 8);
}

static const dobj__httpd_ops test_ops = {.serve = test_serve, .resume = test_resume};

static dobj__httpd *
serve_on(const char *host)
{
	dobj__httpd *d;
	char err[256];

	cr_assert_eq(dobj__httpd_open(&d, host, "0", &test_ops, NULL, err, sizeof(err)), DOBJ_OK,
	             "%s", err);
	cr_assert_gt(dobj__httpd_port(d), 0);
	cr_assert_eq(dobj__httpd_start(d, err, sizeof(err)), DOBJ_OK, "%s", err);
	return d;
}

/* dial connects to 127.0.0.1:port (or [::1]:port); rcvbuf > 0 shrinks the receive buffer
 * first. -1 if refused. */
static int
dial(int port, bool v6, int rcvbuf)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rv;

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	if (rcvbuf > 0)
		cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa6.sin6_addr = in6addr_loopback;
	rv = v6 ? connect(fd, (struct sockaddr *)&sa6, sizeof(sa6))
	        : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rv != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_get(int port, const char *path)
{
	char req[128];
	int fd = dial(port, false, 0);
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);

	cr_assert(fd >= 0, "connect: %s", strerror(errno));
	cr_assert_eq(write(fd, req, (size_t)n), n);
	return fd;
}

static void
await_parked(int n)
{
	int64_t deadline = dobj__clock_mono_ms() + WAIT_MS;

	while (atomic_load(&parked) < n) {
		struct timespec ts = {.tv_nsec = 2000000};

		cr_assert(dobj__clock_mono_ms() < deadline, "%d requests parked, not %d",
		          atomic_load(&parked), n);
		nanosleep(&ts, NULL);
	}
}

Test(httpd, a_client_that_never_reads_is_reset_at_the_write_deadline)
{
	dobj__httpd *d;
	struct pollfd pfd;
	int64_t t0, waited;
	char buf[65536];
	size_t got = 0;
	int fd;

	cr_assert_not_null(big = calloc(1, BIG_BYTES));
	d = serve_on("127.0.0.1");
	fd = dial(dobj__httpd_port(d), false, 4096);
	cr_assert(fd >= 0);
	t0 = dobj__clock_mono_ms();
	cr_assert_eq(write(fd, "GET /big HTTP/1.1\r\n\r\n", 21), 21);
	/* Not reading: the reset shows as an error on the socket. */
	pfd = (struct pollfd){.fd = fd, .events = 0};
	cr_assert_eq(poll(&pfd, 1, DOBJ__HTTPD_WRITE_MS + 3000), 1, "no reset within %d ms",
	             DOBJ__HTTPD_WRITE_MS + 3000);
	waited = dobj__clock_mono_ms() - t0;
	cr_assert(pfd.revents & (POLLERR | POLLHUP), "revents 0x%x", pfd.revents);
	cr_assert_geq(waited, DOBJ__HTTPD_WRITE_MS - 100, "reset after %lld ms", (long long)waited);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	cr_assert_lt(got, BIG_BYTES, "the whole answer arrived");
	close(fd);
	/* The server goes on. */
	fd = send_get(dobj__httpd_port(d), "/");
	cr_assert_gt(fx_read_to_end(fd, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	close(fd);
	dobj__httpd_close(d);
	free(big);
}

Test(httpd, parked_requests_are_answered_after_a_wake_or_at_their_timeout)
{
	dobj__httpd *d = serve_on("127.0.0.1");
	int port = dobj__httpd_port(d);
	struct pollfd pfd;
	char buf[4096];
	int64_t t0;
	int a, b, c;

	a = send_get(port, "/park");
	b = send_get(port, "/park");
	await_parked(2);
	pfd = (struct pollfd){.fd = a, .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 100), 0, "a parked request was answered before the wake");
	dobj__httpd_wake(d);
	cr_assert_gt(fx_read_to_end(a, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strstr(buf, "HTTP/1.1 200 ") == buf && strstr(buf, "\r\n\r\nresumed\n"), "%s",
	          buf);
	cr_assert_gt(fx_read_to_end(b, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strstr(buf, "\r\n\r\nresumed\n") != NULL, "%s", buf);

	t0 = dobj__clock_mono_ms();
	c = send_get(port, "/park-short");
	cr_assert_gt(fx_read_to_end(c, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert_geq(dobj__clock_mono_ms() - t0, 300);
	cr_assert(strncmp(buf, "HTTP/1.1 504 ", 13) == 0, "%s", buf);
	close(a);
	close(b);
	close(c);
	dobj__httpd_close(d);
}

Test(httpd, stop_answers_parked_requests_closes_the_rest_and_the_port)
{
	dobj__httpd *d = serve_on("127.0.0.1");
	int port = dobj__httpd_port(d);
	char buf[4096];
	int parked_fd, idle, half;

	parked_fd = send_get(port, "/park");
	await_parked(1);
	idle = dial(port, false, 0);
	half = dial(port, false, 0);
	cr_assert(idle >= 0 && half >= 0);
	cr_assert_eq(write(half, "GET / HTTP/1.1\r\n", 16), 16);
	atomic_store(&stopping, true);
	dobj__httpd_stop(d);
	cr_assert_gt(fx_read_to_end(parked_fd, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strncmp(buf, "HTTP/1.1 503 ", 13) == 0 && strstr(buf, "\r\n\r\nstopping\n"), "%s",
	          buf);
	cr_assert_eq(fx_read_to_end(idle, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert_eq(fx_read_to_end(half, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert_eq(dial(port, false, 0), -1, "the port still accepts after stop");
	dobj__httpd_stop(d); /* idempotent */
	dobj__httpd_close(d);
	close(parked_fd);
	close(idle);
	close(half);
}

Test(httpd, a_request_left_unanswered_is_closed)
{
	dobj__httpd *d = serve_on("127.0.0.1");
	char buf[4096];
	int fd = send_get(dobj__httpd_port(d), "/silent");

	cr_assert_eq(fx_read_to_end(fd, buf, sizeof(buf), WAIT_MS), 0, "%s", buf);
	close(fd);
	dobj__httpd_close(d);
}

Test(httpd, an_ipv6_address_binds_and_serves)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	dobj__httpd *d;
	char buf[4096];
	int fd;

	if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (probe >= 0)
			close(probe);
		cr_skip_test("no IPv6 loopback here");
	}
	close(probe);
	d = serve_on("::1");
	fd = dial(dobj__httpd_port(d), true, 0);
	cr_assert(fd >= 0, "connect to [::1]: %s", strerror(errno));
	cr_assert_eq(write(fd, "HEAD / HTTP/1.1\r\n\r\n", 19), 19);
	cr_assert_gt(fx_read_to_end(fd, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	cr_assert(strstr(buf, "\r\nContent-Length: 3\r\n") != NULL, "%s", buf);
	cr_assert_str_eq(strstr(buf, "\r\n\r\n"), "\r\n\r\n", "HEAD sent a body");
	close(fd);
	dobj__httpd_close(d);
}

Test(httpd, a_port_in_use_fails_with_its_cause)
{
	dobj__httpd *d = serve_on("127.0.0.1"), *d2 = NULL;
	char port[16], err[256];

	snprintf(port, sizeof(port), "%d", dobj__httpd_port(d));
	cr_assert_eq(dobj__httpd_open(&d2, "127.0.0.1", port, &test_ops, NULL, err, sizeof(err)),
	             DOBJ_UNAVAILABLE);
	cr_assert_null(d2);
	cr_assert(strstr(err, "bind") != NULL && strstr(err, strerror(EADDRINUSE)) != NULL, "%s",
	          err);
	cr_assert_eq(dobj__httpd_open(&d2, "127.0.0.1", "http", &test_ops, NULL, err, sizeof(err)),
	             DOBJ_UNAVAILABLE, "a service name was taken for a port");
	dobj__httpd_close(d);
}

/* At the cap, a new connection takes the place of the oldest one still without its request,
 * which is closed: idle connections cannot keep a probe out. */
Test(httpd, at_the_cap_a_new_connection_replaces_the_oldest_idle_one)
{
	dobj__httpd *d = serve_on("127.0.0.1");
	int port = dobj__httpd_port(d), idle[DOBJ__HTTPD_CONN_MAX], fd;
	struct pollfd pfd;
	char buf[4096];

	for (int i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
		idle[i] = dial(port, false, 0);
		cr_assert(idle[i] >= 0);
		/* one at a time, so that their order is the server's order */
		pfd = (struct pollfd){.fd = idle[i], .events = POLLIN};
		cr_assert_eq(poll(&pfd, 1, 5), 0, "idle connection %d closed", i);
	}
	fd = send_get(port, "/hello");
	cr_assert_gt(fx_read_to_end(fd, buf, sizeof(buf), WAIT_MS), 0);
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%s", buf);
	close(fd);
	cr_assert_eq(fx_read_to_end(idle[0], buf, sizeof(buf), WAIT_MS), 0,
	             "the oldest idle connection was not closed");
	for (int i = 1; i < DOBJ__HTTPD_CONN_MAX; i++) {
		pfd = (struct pollfd){.fd = idle[i], .events = POLLIN};
		cr_assert_eq(poll(&pfd, 1, 0), 0, "idle connection %d closed too", i);
	}
	for (int i = 0; i < DOBJ__HTTPD_CONN_MAX; i++)
		close(idle[i]);
	dobj__httpd_close(d);
}

/* When every connection is busy (here: parked), one more is refused with 503 at once. */
Test(httpd, at_the_cap_with_every_connection_busy_a_new_one_is_refused)
{
	dobj__httpd *d;
	int port, busy[DOBJ__HTTPD_CONN_MAX], fd;
	char buf[4096];

	atomic_store(&parked, 0);
	d = serve_on("127.0.0.1");
	port = dobj__httpd_port(d);
	for (int i = 0; i < DOBJ__HTTPD_CONN_MAX; i++)
		busy[i] = send_get(port, "/park");
	await_parked(DOBJ__HTTPD_CONN_MAX);
	fd = dial(port, false, 0);
	cr_assert(fd >= 0);
	cr_assert_gt(fx_read_to_end(fd, buf, sizeof(buf), WAIT_MS), 0, "closed without an answer");
	cr_assert(strncmp(buf, "HTTP/1.1 503 ", 13) == 0 && strstr(buf, "too many connections"),
	          "%s", buf);
	close(fd);
	dobj__httpd_wake(d);
	for (int i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
		cr_assert_gt(fx_read_to_end(busy[i], buf, sizeof(buf), WAIT_MS), 0);
		cr_assert(strstr(buf, "\r\n\r\nresumed\n") != NULL, "parked %d: %s", i, buf);
		close(busy[i]);
	}
	dobj__httpd_close(d);
}
