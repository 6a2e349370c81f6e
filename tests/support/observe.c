// SPDX-License-Identifier: MIT
// observe.c - reading a running stack from the outside for integration tests: GET requests to
// an HTTP port (fx_http_get, and the polls built on it), samples of dobjd's /metrics,
// PostgreSQL's pg_stat_activity (over fx_db_query1), and an HTTP port's raw answers over plain
// sockets.
// Making PostgreSQL slow or failing is left to each test, which knows what it wants to see.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "observe.h"

/* metric_value finds one unlabelled series in /metrics: the text of its value. */
static const char *
metric_value(int port, const char *name)
{
	static char body[65536];
	char *at;

	cr_assert_eq(fx_http_get(port, "/metrics", body, sizeof(body)), 200);
	for (at = body; (at = strstr(at, name)) != NULL; at++)
		if ((at == body || at[-1] == '\n') && at[strlen(name)] == ' ')
			return at + strlen(name) + 1;
	cr_assert_fail("no %s in /metrics", name);
	return "";
}

uint64_t
fx_metric(int port, const char *name)
{
	return strtoull(metric_value(port, name), NULL, 10);
}

double
fx_metric_seconds(int port, const char *name)
{
	return strtod(metric_value(port, name), NULL);
}

void
fx_db_wait_sleeping(fx_db *db)
{
	for (int64_t deadline = fx_now_ms() + 10000;; fx_nap_ms(1)) {
		char *n = fx_db_query1(db, "SELECT count(*) FROM pg_stat_activity "
		                           "WHERE wait_event = 'PgSleep' AND "
		                           "datname = current_database()");
		bool sleeping = strcmp(n, "1") == 0;

		free(n);
		if (sleeping)
			return;
		cr_assert_lt(fx_now_ms(), deadline,
		             "no backend of %s slept in a trigger within 10 s", db->name);
	}
}

int
fx_tcp_dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t
fx_read_to_end(int fd, char *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = fx_now_ms() + timeout_ms;
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - fx_now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		cr_assert(len < cap - 1, "answer too long");
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

int
fx_http_get(int port, const char *path, char *body, size_t bodylen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int64_t deadline = fx_now_ms() + 10000;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap + 1), req[256], *sep;

	cr_assert(buf != NULL && fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		free(buf);
		return 0;
	}
	snprintf(req, sizeof(req),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", path, port);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		free(buf);
		return 0;
	}
	for (;;) { // Connection: close, so the answer ends where the stream does
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - fx_now_ms();
		ssize_t n;

		cr_assert(left > 0, "GET %s: no complete answer within 10 s", path);
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + len, cap - len);
		if (n <= 0 && !(n < 0 && errno == EINTR))
			break; // a reset while the server exits counts as no answer below
		if (n > 0)
			len += (size_t)n;
		cr_assert(len < cap, "GET %s: answer too long", path);
	}
	close(fd);
	buf[len] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 || (sep = strstr(buf, "\r\n\r\n")) == NULL) {
		free(buf);
		return 0;
	}
	snprintf(body, bodylen, "%s", sep + 4);
	free(buf);
	return status;
}

int
fx_http_await(int port, const char *path, int want, int or_want, int timeout_ms, char *body,
              size_t bodylen)
{
	int64_t deadline = fx_now_ms() + timeout_ms;
	char wanted[32];
	int got;

	if (or_want >= 0)
		snprintf(wanted, sizeof(wanted), "%d or %d", want, or_want);
	else
		snprintf(wanted, sizeof(wanted), "%d", want);
	while ((got = fx_http_get(port, path, body, bodylen)) != want && got != or_want) {
		cr_assert(fx_now_ms() < deadline,
		          "GET %s on port %d still answered %d after %d ms, not %s (body: %s)",
		          path, port, got, timeout_ms, wanted, got == 0 ? "none" : body);
		fx_nap_ms(5);
	}
	return got;
}

void
fx_http_wait(int port)
{
	char body[64];

	fx_http_await(port, "/healthz", 200, -1, 10000, body, sizeof(body));
}
