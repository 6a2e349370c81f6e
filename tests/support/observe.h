/* SPDX-License-Identifier: MIT */
/* observe.h - what a test reads off a running server: an HTTP port's answers to GET, dobjd's
 * series in /metrics, a backend asleep in a trigger, and an HTTP port's raw answers. */
#ifndef DOBJ_TEST_OBSERVE_H
#define DOBJ_TEST_OBSERVE_H

#include <stdint.h>
#include <sys/types.h>

#include "fixture.h"

/* fx_metric reads one unlabelled counter from /metrics on port (dobjd's --http-listen);
 * fails the test if there is no such series. */
uint64_t fx_metric(int port, const char *name);

/* fx_metric_seconds reads one unlabelled gauge in seconds from /metrics on port. */
double fx_metric_seconds(int port, const char *name);

/* fx_db_wait_sleeping waits until a backend of db sleeps in pg_sleep (the trigger a test made
 * slow); fails the test after 10 s. */
void fx_db_wait_sleeping(fx_db *db);

/* fx_tcp_dial connects to 127.0.0.1:port: the socket, or -1 if the connection is refused. */
int fx_tcp_dial(int port);

/* fx_read_to_end reads fd until the peer closes it (EOF or reset) or timeout_ms pass: the
 * bytes read (into buf, NUL-terminated; more than cap - 1 fails the test), or -1 on the
 * timeout. */
ssize_t fx_read_to_end(int fd, char *buf, size_t cap, int timeout_ms);

/* fx_http_get sends GET path to 127.0.0.1:port and returns the HTTP status, with the body in
 * body (truncated to bodylen); 0 if nothing accepts on the port. Fails the test when an
 * answer does not complete within 10 s. */
int fx_http_get(int port, const char *path, char *body, size_t bodylen);

/* fx_http_await polls GET path on port every 5 ms until it answers want or, if or_want is not
 * -1, or_want (0 stands for no answer: nothing accepts on the port), and returns the status
 * it saw, with the answer's body in body (left as it was for 0); fails the test, naming the
 * last answer, after timeout_ms. */
int fx_http_await(int port, const char *path, int want, int or_want, int timeout_ms, char *body,
                  size_t bodylen);

/* fx_http_wait waits until GET /healthz on port answers 200 (dobjd opens its HTTP port after
 * the RPC port that fx_server_start waits for); fails the test after 10 s. */
void fx_http_wait(int port);

#endif /* DOBJ_TEST_OBSERVE_H */
