/* SPDX-License-Identifier: MIT */
/* observe.h - what a test reads off a running server: dobjd's series in /metrics, a backend
 * asleep in a trigger, and an HTTP port's raw answers. */
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

#endif /* DOBJ_TEST_OBSERVE_H */
