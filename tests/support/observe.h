/* SPDX-License-Identifier: MIT */
/* observe.h - what an integration test reads off a running stack while it makes PostgreSQL
 * slow or fail on purpose: dobjd's series in /metrics, and a backend asleep in a trigger. */
#ifndef DOBJ_TEST_OBSERVE_H
#define DOBJ_TEST_OBSERVE_H

#include <stdint.h>

#include "fixture.h"

/* fx_metric reads one unlabelled counter from /metrics on port (dobjd's --http-listen);
 * fails the test if there is no such series. */
uint64_t fx_metric(int port, const char *name);

/* fx_metric_seconds reads one unlabelled gauge in seconds from /metrics on port. */
double fx_metric_seconds(int port, const char *name);

/* fx_db_wait_sleeping waits until a backend of db sleeps in pg_sleep (the trigger a test made
 * slow); fails the test after 10 s. */
void fx_db_wait_sleeping(fx_db *db);

#endif /* DOBJ_TEST_OBSERVE_H */
