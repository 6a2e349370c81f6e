// SPDX-License-Identifier: MIT
// observe.c - reading a running stack from the outside for integration tests: samples of
// dobjd's /metrics (over fx_http_get), PostgreSQL's pg_stat_activity (over fx_db_query1), and
// an HTTP port's raw answers over plain sockets.
// Making PostgreSQL slow or failing is left to each test, which knows what it wants to see.

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
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
