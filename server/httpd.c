// SPDX-License-Identifier: MIT
// httpd.c - the operator port's HTTP/1.1 server: the listening socket, the connections, the
// request's bytes in and the answer's bytes out, each connection under a deadline (httpd.h
// has the limits). The request head's syntax belongs to httpd_parse.c; routing and the
// answers' content to http.c, through dobj__httpd_ops.
//
// Threads: one, "dobj-http", polls the listener, a wake pipe and every connection, and runs
// the callbacks; dobj__httpd_wake and dobj__httpd_stop reach it only through the pipe and the
// `stop` flag. No lock.

#define _GNU_SOURCE /* accept4, pipe2 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "httpd.h"
#include "httpd_parse.h"
#include "log.h"
#include "thread.h"

#define HTTPD_BACKLOG 128          /* the listen queue; accepted promptly, refused at the cap */
#define HTTPD_ACCEPT_BATCH 32      /* accepts per poll round, so connections are not starved */
#define HTTPD_ACCEPT_PAUSE_MS 100  /* no accepts this long after running out of descriptors */
#define HTTPD_ACCEPT_WARN_MS 60000 /* at most one warning about it this often */
#define HTTPD_DISCARD_MAX 65536    /* bytes dropped per poll round of a lingering connection */

/* The answer to a connection over the cap; best effort, the client may not have asked yet. */
static const char httpd_refusal[] = "HTTP/1.1 503 Service Unavailable\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Cache-Control: no-store\r\n"
                                    "Content-Length: 21\r\n"
                                    "Connection: close\r\n"
                                    "\r\n"
                                    "too many connections\n";

typedef enum httpd_state {
	HTTPD_FREE,   /* no connection in this slot */
	HTTPD_READ,   /* reading the request's headers */
	HTTPD_PARKED, /* complete, waiting for resume */
	HTTPD_WRITE,  /* sending the answer */
	HTTPD_LINGER, /* answer sent, our side shut: dropping input until the client closes */
} httpd_state;

struct dobj__httpd_req {
	dobj__httpd *d;
	int fd;
	httpd_state state;
	int64_t deadline_ms; /* of the current state */
	uint64_t seq;        /* the order of accepts, for choosing which idle one to close */
	bool head;           /* a HEAD request: the answer goes without its body */
	const char *path;    /* into in[], NUL-terminated */
	size_t inlen;
	char in[DOBJ__HTTPD_HEADER_MAX + 1];
	char *out; /* the answer, headers and body */
	size_t outlen;
	size_t outoff; /* sent so far */
};

struct dobj__httpd {
	const dobj__httpd_ops *ops;
	void *arg;
	int lfd;     /* the listening socket; -1 once closed */
	int wake[2]; /* a pipe: [1] written by dobj__httpd_wake and stop, [0] read by the thread */
	int port;
	pthread_t thread;
	bool running;     /* owner thread only */
	atomic_bool stop; /* the thread ends its loop */
	/* The thread's own, from start to its end: */
	size_t nconns;
	size_t nparked;
	int64_t accept_pause_ms; /* no accepts before this (mono ms) */
	int64_t accept_warn_ms;  /* when the last warning about accepts went out */
	dobj__httpd_stats counts;
	uint64_t accepts; /* connections taken into a slot so far */
	dobj__httpd_req conns[DOBJ__HTTPD_CONN_MAX];
};

/* --- connections --------------------------------------------------------------------- */

/* httpd_conn_close closes r's socket; with reset the peer gets a RST and the kernel drops
 * what is still unsent at once. */
static void
httpd_conn_close(dobj__httpd_req *r, bool reset)
{
	dobj__httpd *d = r->d;

	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		(void)setsockopt(r->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (r->state == HTTPD_PARKED)
		d->nparked--;
	close(r->fd);
	free(r->out);
	r->fd = -1;
	r->out = NULL;
	r->outlen = r->outoff = r->inlen = 0;
	r->path = NULL;
	r->head = false;
	r->state = HTTPD_FREE;
	d->nconns--;
}

static const char *
httpd_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

/* httpd_answer makes r's answer; allow adds the Allow header of a 405. Closes r when out of
 * memory. */
static void
httpd_answer(dobj__httpd_req *r, int status, const char *ctype, const void *body, size_t len,
             bool allow)
{
	char head[512];
	int n;

	assert(r->state == HTTPD_READ || r->state == HTTPD_PARKED);
	n = snprintf(head, sizeof(head),
	             "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
	             "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
	             status, httpd_status_text(status), ctype, len,
	             allow ? "Allow: GET, HEAD\r\n" : "");
	if (r->head)
		len = 0;
	/* ctype is one of ours and fits; out of memory, the client gets a reset */
	if (n < 0 || (size_t)n >= sizeof(head) || (r->out = malloc((size_t)n + len)) == NULL) {
		httpd_conn_close(r, true);
		return;
	}
	memcpy(r->out, head, (size_t)n);
	if (len > 0)
		memcpy(r->out + n, body, len);
	r->outlen = (size_t)n + len;
	r->outoff = 0;
	if (r->state == HTTPD_PARKED)
		r->d->nparked--;
	r->state = HTTPD_WRITE;
	r->deadline_ms = dobj__clock_mono_ms() + DOBJ__HTTPD_WRITE_MS;
}

/* httpd_error answers r with a short text of the server's own. */
static void
httpd_error(dobj__httpd_req *r, int status, const char *text)
{
	httpd_answer(r, status, "text/plain; charset=utf-8", text, strlen(text), status == 405);
}

void
dobj__httpd_reply(dobj__httpd_req *r, int status, const char *ctype, const void *body, size_t len)
{
	httpd_answer(r, status, ctype, body, len, false);
}

void
dobj__httpd_park(dobj__httpd_req *r, int timeout_ms)
{
	assert(r->state == HTTPD_READ);
	r->state = HTTPD_PARKED;
	r->deadline_ms = dobj__clock_mono_ms() + timeout_ms;
	r->d->nparked++;
}

void
dobj__httpd_get_stats(const dobj__httpd *d, dobj__httpd_stats *out)
{
	*out = d->counts;
}

size_t
dobj__httpd_parked(const dobj__httpd *d)
{
	return d->nparked;
}

const char *
dobj__httpd_req_path(const dobj__httpd_req *r)
{
	return r->path;
}

/* httpd_write sends what the kernel takes of r's answer; once all is sent, shuts our side
 * and lingers. */
static void
httpd_write(dobj__httpd_req *r)
{
	while (r->outoff < r->outlen) {
		ssize_t n = send(r->fd, r->out + r->outoff, r->outlen - r->outoff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			httpd_conn_close(r, false);
			return;
		}
		r->outoff += (size_t)n;
	}
	free(r->out);
	r->out = NULL;
	(void)shutdown(r->fd, SHUT_WR);
	r->state = HTTPD_LINGER;
	r->deadline_ms = dobj__clock_mono_ms() + DOBJ__HTTPD_LINGER_MS;
}

/* httpd_flush starts sending r's answer, if it has one. */
static void
httpd_flush(dobj__httpd_req *r)
{
	if (r->state == HTTPD_WRITE)
		httpd_write(r);
}

/* --- requests ------------------------------------------------------------------------ */

/* httpd_dispatch runs the callback on r's complete request and starts sending its answer. */
static void
httpd_dispatch(dobj__httpd_req *r)
{
	const char *why;
	int status = dobj__httpd_parse(r->in, &r->head, &r->path, &why);

	if (status != 0)
		httpd_error(r, status, why);
	else
		r->d->ops->serve(r->d->arg, r);
	if (r->state == HTTPD_READ)
		httpd_conn_close(r, true); /* the callback left it unanswered */
	else
		httpd_flush(r);
}

/* httpd_read takes what the client sent; a complete request is dispatched. */
static void
httpd_read(dobj__httpd_req *r)
{
	size_t from = r->inlen > 3 ? r->inlen - 3 : 0, end;
	ssize_t n;

	do
		n = recv(r->fd, r->in + r->inlen, DOBJ__HTTPD_HEADER_MAX - r->inlen, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		httpd_conn_close(r, false); /* gone before its request was complete */
		return;
	}
	if (memchr(r->in + r->inlen, '\0', (size_t)n) != NULL) {
		httpd_error(r, 400, "bad request\n");
		httpd_flush(r);
		return;
	}
	r->inlen += (size_t)n;
	r->in[r->inlen] = '\0';
	if ((end = dobj__httpd_head_end(r->in, r->inlen, from)) != 0) {
		r->in[end] = '\0'; /* what follows is not read */
		httpd_dispatch(r);
		return;
	}
	if (r->inlen == DOBJ__HTTPD_HEADER_MAX) {
		httpd_error(r, 431, "request headers too large\n");
		httpd_flush(r);
	}
}

/* httpd_discard drops what a lingering client still sends; closes at its end. */
static void
httpd_discard(dobj__httpd_req *r)
{
	char buf[4096];

	for (size_t total = 0; total < HTTPD_DISCARD_MAX; total += sizeof(buf)) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			httpd_conn_close(r, false);
			return;
		}
	}
}

/* --- the loop ------------------------------------------------------------------------ */

/* httpd_victim picks the connection to close for a new one at the cap: the oldest of those
 * that linger (their answer is sent), else the oldest of those still waiting for their
 * headers (a client that sends its request with the connection, as probes and Prometheus
 * do, is past this state within a poll round or two), else none. So that idle connections
 * cannot keep the kubelet's probes out, whereas refusing new ones would let 64 of them do
 * just that. */
static dobj__httpd_req *
httpd_victim(dobj__httpd *d)
{
	dobj__httpd_req *v = NULL;

	for (int pass = 0; pass < 2 && v == NULL; pass++) {
		httpd_state want = pass == 0 ? HTTPD_LINGER : HTTPD_READ;

		for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
			dobj__httpd_req *r = &d->conns[i];

			if (r->state == want && (v == NULL || r->seq < v->seq))
				v = r;
		}
	}
	return v;
}

/* httpd_accept takes the waiting connections: into a free slot, into the slot of an idle
 * connection it closes at the cap, or refused when every connection is busy. */
static void
httpd_accept(dobj__httpd *d, int64_t now)
{
	for (int i = 0; i < HTTPD_ACCEPT_BATCH; i++) {
		int fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		dobj__httpd_req *r = NULL;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* the socket stays readable: wait instead of spinning */
				d->accept_pause_ms = now + HTTPD_ACCEPT_PAUSE_MS;
				if (d->accept_warn_ms == 0 ||
				    now - d->accept_warn_ms >= HTTPD_ACCEPT_WARN_MS) {
					d->accept_warn_ms = now;
					dobj__log_warn("could not accept an HTTP connection: %s",
					               strerror(errno));
				}
			}
			return;
		}
		if (d->nconns == DOBJ__HTTPD_CONN_MAX && (r = httpd_victim(d)) != NULL) {
			httpd_conn_close(r, true);
			r = NULL;
			d->counts.evicted++;
		}
		if (d->nconns == DOBJ__HTTPD_CONN_MAX) {
			d->counts.refused++;
			(void)send(fd, httpd_refusal, sizeof(httpd_refusal) - 1,
			           MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		for (size_t k = 0; r == NULL; k++)
			if (d->conns[k].state == HTTPD_FREE)
				r = &d->conns[k];
		r->fd = fd;
		r->seq = d->accepts++;
		r->state = HTTPD_READ;
		r->deadline_ms = now + DOBJ__HTTPD_REQUEST_MS;
		d->nconns++;
	}
}

/* httpd_event handles what poll reported on r. */
static void
httpd_event(dobj__httpd_req *r, short revents)
{
	switch (r->state) {
	case HTTPD_READ:
		httpd_read(r);
		break;
	case HTTPD_PARKED:
		if (revents & (POLLHUP | POLLERR)) /* gone both ways: no one to answer */
			httpd_conn_close(r, false);
		break;
	case HTTPD_WRITE:
		httpd_write(r);
		break;
	case HTTPD_LINGER:
		httpd_discard(r);
		break;
	case HTTPD_FREE:
		break;
	}
}

/* httpd_expire acts on a connection whose state's deadline passed. */
static void
httpd_expire(dobj__httpd *d, dobj__httpd_req *r)
{
	switch (r->state) {
	case HTTPD_READ:
		httpd_error(r, 408, "request headers not complete in time\n");
		httpd_flush(r);
		break;
	case HTTPD_PARKED:
		d->ops->resume(d->arg, r, true);
		if (r->state == HTTPD_PARKED)
			httpd_conn_close(r, true);
		else
			httpd_flush(r);
		break;
	case HTTPD_WRITE:
		httpd_conn_close(r, true); /* the client does not read */
		break;
	case HTTPD_LINGER:
		httpd_conn_close(r, false);
		break;
	case HTTPD_FREE:
		break;
	}
}

/* httpd_resume_all hands every parked request to the resume callback. */
static void
httpd_resume_all(dobj__httpd *d)
{
	for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX && d->nparked > 0; i++) {
		dobj__httpd_req *r = &d->conns[i];

		if (r->state != HTTPD_PARKED)
			continue;
		d->ops->resume(d->arg, r, false);
		if (r->state == HTTPD_PARKED)
			httpd_conn_close(r, true);
		else
			httpd_flush(r);
	}
}

static void
httpd_drain_pipe(dobj__httpd *d)
{
	char buf[64];

	while (read(d->wake[0], buf, sizeof(buf)) > 0)
		;
}

/* httpd_finish ends the thread's work at stop: no more accepts, the parked requests
 * answered, what fits sent, every connection closed. */
static void
httpd_finish(dobj__httpd *d)
{
	close(d->lfd);
	d->lfd = -1;
	httpd_resume_all(d);
	for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
		dobj__httpd_req *r = &d->conns[i];

		if (r->state == HTTPD_FREE)
			continue;
		httpd_flush(r); /* no waiting: at most what the socket takes now */
		if (r->state != HTTPD_FREE)
			httpd_conn_close(r, false);
	}
}

static void *
httpd_main(void *arg)
{
	dobj__httpd *d = arg;
	struct pollfd pfd[2 + DOBJ__HTTPD_CONN_MAX];
	dobj__httpd_req *of[2 + DOBJ__HTTPD_CONN_MAX];

	dobj__thread_name("dobj-http");
	while (!atomic_load(&d->stop)) {
		int64_t now = dobj__clock_mono_ms(), wait = -1;
		nfds_t n = 2;
		int rv;

		pfd[0] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = d->lfd, .events = POLLIN};
		if (now < d->accept_pause_ms) {
			pfd[1].fd = -1;
			wait = d->accept_pause_ms - now;
		}
		for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
			dobj__httpd_req *r = &d->conns[i];
			short ev = r->state == HTTPD_WRITE    ? POLLOUT
			           : r->state == HTTPD_PARKED ? 0
			                                      : POLLIN;

			if (r->state == HTTPD_FREE)
				continue;
			if (wait < 0 || r->deadline_ms - now < wait)
				wait = r->deadline_ms > now ? r->deadline_ms - now : 0;
			pfd[n] = (struct pollfd){.fd = r->fd, .events = ev};
			of[n++] = r;
		}
		rv = poll(pfd, n, (int)wait);
		if (rv < 0 && errno != EINTR) {
			dobj__log_error("the HTTP server's poll failed: %s", strerror(errno));
			break;
		}
		if (rv > 0 && pfd[0].revents != 0) {
			httpd_drain_pipe(d);
			if (atomic_load(&d->stop))
				break;
			httpd_resume_all(d);
		}
		for (nfds_t i = 2; rv > 0 && i < n; i++)
			if (pfd[i].revents != 0 && of[i]->fd == pfd[i].fd)
				httpd_event(of[i], pfd[i].revents);
		now = dobj__clock_mono_ms();
		for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX; i++)
			if (d->conns[i].state != HTTPD_FREE && d->conns[i].deadline_ms <= now)
				httpd_expire(d, &d->conns[i]);
		if (rv > 0 && pfd[1].revents != 0)
			httpd_accept(d, now);
	}
	httpd_finish(d);
	return NULL;
}

/* --- life cycle ---------------------------------------------------------------------- */

/* httpd_listen binds the first address of host:port that takes it. */
static dobj_err
httpd_listen(dobj__httpd *d, const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *what = "socket";
	int rv, e = 0;

	if (host != NULL && host[0] == '\0')
		host = NULL; /* every address */
	if ((rv = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s", rv == EAI_SYSTEM ? strerror(errno) : gai_strerror(rv));
		return DOBJ_UNAVAILABLE;
	}
	for (struct addrinfo *ai = res; ai != NULL && d->lfd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;

		if (fd < 0) {
			e = errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			what = "bind";
			e = errno;
			close(fd);
		} else if (listen(fd, HTTPD_BACKLOG) != 0) {
			what = "listen";
			e = errno;
			close(fd);
		} else {
			d->lfd = fd;
		}
	}
	freeaddrinfo(res);
	if (d->lfd < 0) {
		snprintf(err, errlen, "%s: %s", what, strerror(e ? e : EADDRNOTAVAIL));
		return DOBJ_UNAVAILABLE;
	}
	if (getsockname(d->lfd, (struct sockaddr *)&ss, &sslen) == 0)
		d->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                                         : ((struct sockaddr_in *)&ss)->sin_port);
	return DOBJ_OK;
}

dobj_err
dobj__httpd_open(dobj__httpd **out, const char *host, const char *port, const dobj__httpd_ops *ops,
                 void *arg, char *err, size_t errlen)
{
	dobj__httpd *d;
	dobj_err rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	d->ops = ops;
	d->arg = arg;
	d->lfd = -1;
	d->wake[0] = d->wake[1] = -1;
	atomic_init(&d->stop, false);
	for (size_t i = 0; i < DOBJ__HTTPD_CONN_MAX; i++) {
		d->conns[i].d = d;
		d->conns[i].fd = -1;
	}
	if (pipe2(d->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		dobj__httpd_close(d);
		return DOBJ_UNAVAILABLE;
	}
	if ((rc = httpd_listen(d, host, port, err, errlen)) != DOBJ_OK) {
		dobj__httpd_close(d);
		return rc;
	}
	*out = d;
	return DOBJ_OK;
}

int
dobj__httpd_port(const dobj__httpd *d)
{
	return d->port;
}

dobj_err
dobj__httpd_start(dobj__httpd *d, char *err, size_t errlen)
{
	int rv;

	if ((rv = pthread_create(&d->thread, NULL, httpd_main, d)) != 0) {
		snprintf(err, errlen, "could not start the HTTP thread: %s", strerror(rv));
		return DOBJ_UNAVAILABLE;
	}
	d->running = true;
	return DOBJ_OK;
}

void
dobj__httpd_wake(dobj__httpd *d)
{
	char c = 0;

	/* a full pipe is a wake-up already on its way */
	while (write(d->wake[1], &c, 1) < 0 && errno == EINTR)
		;
}

void
dobj__httpd_stop(dobj__httpd *d)
{
	if (d == NULL || !d->running)
		return;
	atomic_store(&d->stop, true);
	dobj__httpd_wake(d);
	pthread_join(d->thread, NULL);
	d->running = false;
}

void
dobj__httpd_close(dobj__httpd *d)
{
	if (d == NULL)
		return;
	dobj__httpd_stop(d);
	if (d->lfd >= 0)
		close(d->lfd);
	for (int i = 0; i < 2; i++)
		if (d->wake[i] >= 0)
			close(d->wake[i]);
	free(d);
}
