/* SPDX-License-Identifier: MIT */
/* clock.h - the one server clock. Wall time plus an offset that tests and drills can move
 * forward (`dobjd --clock-offset`), and a monotonic clock for deadlines. */
#ifndef DOBJ_SERVER_CLOCK_H
#define DOBJ_SERVER_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* dobj__clock_now_ms returns the server's time in ms since the Unix epoch. Thread-safe. */
int64_t dobj__clock_now_ms(void);

/* dobj__clock_advance moves the server clock forward by delta_ms (may be negative). */
void dobj__clock_advance(int64_t delta_ms);

/* dobj__clock_mono_ms returns a monotonic time in ms, for deadlines and timeouts. */
int64_t dobj__clock_mono_ms(void);

/* dobj__clock_mono_us returns the same monotonic clock in microseconds, for latencies. */
int64_t dobj__clock_mono_us(void);

/* dobj__cond_wait_ms waits on cv (mu held) for at most ms milliseconds (at least 1). */
void dobj__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms);

#endif /* DOBJ_SERVER_CLOCK_H */
