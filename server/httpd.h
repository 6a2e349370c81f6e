/* SPDX-License-Identifier: MIT */
/*
 * httpd.h - a small HTTP/1.1 server for the operator port: one thread, poll(2), one request
 * per connection (answered with Connection: close), GET and HEAD only, no request bodies, and
 * the limits below so that no client holds a connection or a descriptor for long. What the
 * paths mean is the caller's business (http.c); this file only moves bytes.
 */
#ifndef DOBJ_SERVER_HTTPD_H
#define DOBJ_SERVER_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

#include <dobj/err.h>

/* Open connections at most, so that the server's descriptors stay bounded. One past it takes
 * the place of the idle connection that has waited longest (lingering after its answer, else
 * still without its headers), which is closed; when every connection is busy (an answer being
 * sent, a parked /readyz), it is closed at once after a best-effort 503. Idle connections
 * therefore cannot keep probes out, and the listen queue does not fill up. */
#define DOBJ__HTTPD_CONN_MAX 64
/* From accept until the request's headers are complete; past it: 408 and close. */
#define DOBJ__HTTPD_REQUEST_MS 5000
/* The request line and headers together; past it: 431 and close. */
#define DOBJ__HTTPD_HEADER_MAX 8192
/* From the answer being ready until its last byte is with the kernel; past it the connection
 * is reset, so a client that never reads cannot hold it. */
#define DOBJ__HTTPD_WRITE_MS 10000
/* After the answer: how long the server keeps reading (and dropping) what the client still
 * sends, until it closes its side, so that unread input does not turn the close into a reset
 * that could destroy the answer before the client reads it. */
#define DOBJ__HTTPD_LINGER_MS 2000

typedef struct dobj__httpd dobj__httpd;

/* dobj__httpd_req: one connection and its one request. Owned by the server; valid in a
 * callback and, once parked, until the resume callback has answered it. */
typedef struct dobj__httpd_req dobj__httpd_req;

/* dobj__httpd_ops: the caller's side. Both run on the server's thread, one at a time, between
 * dobj__httpd_start and the return of dobj__httpd_stop; they must not block. Each must answer
 * req with dobj__httpd_reply (serve may park it instead); a request left unanswered is
 * closed. */
typedef struct dobj__httpd_ops {
	/* serve: a complete GET or HEAD request (HEAD's answer is sent without its body). */
	void (*serve)(void *arg, dobj__httpd_req *req);
	/* resume: a parked request, after dobj__httpd_wake, at dobj__httpd_stop, or with
	 * timed_out when its park timeout passed first. */
	void (*resume)(void *arg, dobj__httpd_req *req, bool timed_out);
} dobj__httpd_ops;

/* dobj__httpd_open resolves host (empty: every address) and port (numeric; "0" picks a free
 * one), binds the first address that takes it and listens; not serving yet. ops (static) and
 * arg must stay valid until dobj__httpd_stop returns. On failure err says why. Free with
 * dobj__httpd_close(). */
dobj_err dobj__httpd_open(dobj__httpd **out, const char *host, const char *port,
                          const dobj__httpd_ops *ops, void *arg, char *err, size_t errlen);

/* dobj__httpd_port returns the port d listens on. */
int dobj__httpd_port(const dobj__httpd *d);

/* dobj__httpd_start starts the server's thread. */
dobj_err dobj__httpd_start(dobj__httpd *d, char *err, size_t errlen);

/* dobj__httpd_wake makes the server resume every parked request soon. Any thread. */
void dobj__httpd_wake(dobj__httpd *d);

/* dobj__httpd_stop closes the port, resumes the parked requests, sends what answers fit into
 * the sockets without waiting, closes every connection and joins the thread. Idempotent;
 * never call it from a callback. */
void dobj__httpd_stop(dobj__httpd *d);

/* dobj__httpd_close stops d if needed and frees it. NULL is allowed. */
void dobj__httpd_close(dobj__httpd *d);

/* dobj__httpd_req_path returns the request's path without its query string; owned by req. */
const char *dobj__httpd_req_path(const dobj__httpd_req *req);

/* dobj__httpd_reply answers req: status, Content-Type ctype and body (copied), with
 * Cache-Control: no-store, Content-Length and Connection: close. Once per request. */
void dobj__httpd_reply(dobj__httpd_req *req, int status, const char *ctype, const void *body,
                       size_t len);

/* dobj__httpd_park leaves req unanswered until the resume callback: after the next
 * dobj__httpd_wake, or timeout_ms from now. */
void dobj__httpd_park(dobj__httpd_req *req, int timeout_ms);

/* dobj__httpd_stats: what the connection cap did since the server started. */
typedef struct dobj__httpd_stats {
	unsigned long long evicted; /* idle connections closed for a new one */
	unsigned long long refused; /* new connections closed, every connection being busy */
} dobj__httpd_stats;

/* dobj__httpd_get_stats fills *out. Server thread only (a callback). */
void dobj__httpd_get_stats(const dobj__httpd *d, dobj__httpd_stats *out);

/* dobj__httpd_parked returns how many requests are parked. Server thread only. */
size_t dobj__httpd_parked(const dobj__httpd *d);

#endif /* DOBJ_SERVER_HTTPD_H */
