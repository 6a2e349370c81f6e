// SPDX-License-Identifier: MIT
// proxy.c - the tests' TCP relay (proxy.h). One thread polls the listening socket, a wake-up
// pipe and both ends of every relayed connection; fx_proxy_cut and fx_proxy_stop talk to it
// through the pipe and wait for its answer under the mutex.

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "proxy.h"

#define MAX_PAIRS 64

struct fx_proxy {
	struct sockaddr_storage up; /* the server's address: TCP, or its unix socket */
	socklen_t uplen;
	int lfd;     /* listening */
	int wake[2]; /* pipe: a request from the test */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum { REQ_NONE, REQ_CUT, REQ_STOP, REQ_FREEZE } req; /* under mu; NONE when answered */
	int cut_count;                                        /* under mu: the answer to REQ_CUT */
	int pairs[MAX_PAIRS][2]; /* relay thread only: client fd, server fd */
	int npairs;
	bool frozen; /* relay thread only: nothing is relayed or accepted any more */
};

static void
close_pair(fx_proxy *p, int i)
{
	close(p->pairs[i][0]);
	close(p->pairs[i][1]);
	p->pairs[i][0] = p->pairs[--p->npairs][0];
	p->pairs[i][1] = p->pairs[p->npairs][1];
}

static void
accept_one(fx_proxy *p)
{
	int c = accept(p->lfd, NULL, NULL), s;

	if (c < 0)
		return;
	s = socket(p->up.ss_family, SOCK_STREAM, 0);
	if (p->npairs == MAX_PAIRS || s < 0 ||
	    connect(s, (struct sockaddr *)&p->up, p->uplen) != 0) {
		close(c);
		if (s >= 0)
			close(s);
		return;
	}
	p->pairs[p->npairs][0] = c;
	p->pairs[p->npairs++][1] = s;
}

/* relay copies what one end has to the other: false once that end or the other is gone. */
static bool
relay(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	for (ssize_t off = 0; off < n;) {
		ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += w;
	}
	return true;
}

static void *
relay_main(void *arg)
{
	fx_proxy *p = arg;
	struct pollfd pfd[2 + 2 * MAX_PAIRS];

	for (;;) {
		int n = 0;

		pfd[n++] = (struct pollfd){.fd = p->frozen ? -1 : p->lfd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
		for (int i = 0; i < p->npairs && !p->frozen; i++) {
			pfd[n++] = (struct pollfd){.fd = p->pairs[i][0], .events = POLLIN};
			pfd[n++] = (struct pollfd){.fd = p->pairs[i][1], .events = POLLIN};
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents) {
			char b;
			bool stop;

			if (read(p->wake[0], &b, 1) < 0 && errno != EINTR)
				break;
			pthread_mutex_lock(&p->mu);
			stop = p->req == REQ_STOP;
			p->cut_count = p->npairs;
			if (p->req == REQ_FREEZE)
				p->frozen = true;
			else
				while (p->npairs > 0)
					close_pair(p, 0);
			p->req = REQ_NONE;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
			if (stop)
				return NULL;
			continue; /* the pairs polled are gone */
		}
		/* pairs from the end, so that closing one does not move one not yet looked at */
		for (int i = p->npairs - 1; i >= 0; i--) {
			short a = pfd[2 + 2 * i].revents, b = pfd[3 + 2 * i].revents;
			if ((a && !relay(p->pairs[i][0], p->pairs[i][1])) ||
			    (b && !relay(p->pairs[i][1], p->pairs[i][0])))
				close_pair(p, i);
		}
		if (pfd[0].revents)
			accept_one(p);
	}
	return NULL;
}

/* put_param appends key='value' to out, quoted as libpq wants. */
static void
put_param(char *out, size_t outlen, const char *key, const char *val)
{
	size_t n = strlen(out);

	n += (size_t)snprintf(out + n, n < outlen ? outlen - n : 0, "%s%s='", n ? " " : "", key);
	for (const char *v = val; *v && n + 3 < outlen; v++) {
		if (*v == '\'' || *v == '\\')
			out[n++] = '\\';
		out[n++] = *v;
	}
	cr_assert_lt(n + 2, outlen, "proxy: the DSN does not fit");
	out[n++] = '\'';
	out[n] = '\0';
}

fx_proxy *
fx_proxy_start(const char *dsn, char *out, size_t outlen)
{
	fx_proxy *p = calloc(1, sizeof(*p));
	PQconninfoOption *opts = PQconninfoParse(dsn, NULL);
	const char *host = NULL, *port = "5432";
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	char lport[16];

	cr_assert(p != NULL && opts != NULL, "proxy: cannot parse the DSN");
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0 || strcmp(o->keyword, "hostaddr") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
	}
	cr_assert(host != NULL, "proxy: the DSN names no host: %s", dsn);
	if (host[0] == '/') { /* a unix socket directory, as libpq reads it */
		struct sockaddr_un *un = (struct sockaddr_un *)&p->up;
		un->sun_family = AF_UNIX;
		cr_assert_lt((size_t)snprintf(un->sun_path, sizeof(un->sun_path), "%s/.s.PGSQL.%s",
		                              host, port),
		             sizeof(un->sun_path), "proxy: socket path too long");
		p->uplen = sizeof(*un);
	} else {
		struct addrinfo *ai;
		cr_assert_eq(getaddrinfo(host, port, &hints, &ai), 0, "proxy: cannot resolve %s",
		             host);
		memcpy(&p->up, ai->ai_addr, ai->ai_addrlen);
		p->uplen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(p->lfd >= 0 && bind(p->lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	              listen(p->lfd, 64) == 0 &&
	              getsockname(p->lfd, (struct sockaddr *)&a, &alen) == 0,
	          "proxy: cannot listen: %s", strerror(errno));
	snprintf(lport, sizeof(lport), "%d", ntohs(a.sin_port));
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0' || strcmp(o->keyword, "host") == 0 ||
		    strcmp(o->keyword, "hostaddr") == 0 || strcmp(o->keyword, "port") == 0)
			continue;
		put_param(out, outlen, o->keyword, o->val);
	}
	put_param(out, outlen, "host", "127.0.0.1");
	put_param(out, outlen, "port", lport);
	PQconninfoFree(opts);
	cr_assert_eq(pipe(p->wake), 0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	cr_assert_eq(pthread_create(&p->thread, NULL, relay_main, p), 0);
	return p;
}

/* ask hands a request to the relay thread and waits for its answer. */
static int
ask(fx_proxy *p, int req)
{
	int n;

	pthread_mutex_lock(&p->mu);
	p->req = req;
	cr_assert_eq(write(p->wake[1], "x", 1), 1);
	while (p->req != REQ_NONE)
		pthread_cond_wait(&p->cv, &p->mu);
	n = p->cut_count;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int
fx_proxy_cut(fx_proxy *p)
{
	return ask(p, REQ_CUT);
}

int
fx_proxy_freeze(fx_proxy *p)
{
	return ask(p, REQ_FREEZE);
}

void
fx_proxy_stop(fx_proxy *p)
{
	if (p == NULL)
		return;
	ask(p, REQ_STOP);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	close(p->wake[0]);
	close(p->wake[1]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
