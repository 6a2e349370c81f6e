/* SPDX-License-Identifier: MIT */
/* clock.h - the one server clock. Wall time plus an offset that tests and drills can move
 * forward (`dobjd --clock-offset`), and a monotonic clock for deadlines. */
#ifndef DOBJ_SERVER_CLOCK_H
#define DOBJ_SERVER_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* dobj__clock_now_ms returns the server's time in ms since the Unix epoch. Thread-safe. */
int64_t dobj__clock_now_ms(void);

/* dobj__clock_advance moves the server clock forward by delta_ms (may be negative). */
void dobj__clock_advance(int64_t delta_ms);

/* dobj__clock_mono_ms returns a monotonic time in ms, for deadlines and timeouts. */
int64_t dobj__clock_mono_ms(void);

/* dobj__clock_mono_us returns the same monotonic clock in microseconds, for latencies. */
int64_t dobj__clock_mono_us(void);

/* dobj__cond_init makes a condition variable whose timed waits run on the monotonic clock, so
 * that a step of the wall clock (NTP, a virtual machine resumed) neither stretches nor cuts
 * them. Every cv given to dobj__cond_wait_ms or dobj__cond_wait_until_mono_ms is made here. */
int dobj__cond_init(pthread_cond_t *cv);

/* dobj__cond_wait_ms waits on cv (mu held) for at most ms milliseconds (at least 1). */
void dobj__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms);

/* dobj__cond_wait_until_mono_ms waits on cv (mu held) until dobj__clock_mono_ms() reaches
 * until at the latest: false once that moment has passed. */
bool dobj__cond_wait_until_mono_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until);

/* dobj__cond_wait_flag waits on cv (mu held, and guarding *flag) until *flag is true or,
 * unless until is 0, until dobj__clock_mono_ms() reaches until: it returns *flag. The threads'
 * "exited" waits of the drain use it. */
bool dobj__cond_wait_flag(pthread_cond_t *cv, pthread_mutex_t *mu, const bool *flag, int64_t until);

#endif /* DOBJ_SERVER_CLOCK_H */
