// SPDX-License-Identifier: MIT
// clock.c - the server clock: every "now" the server and its objects see comes from here.

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "clock.h"
#include "mono.h" /* sdk/src's */

static _Atomic int64_t clock_offset_ms;

static int64_t
clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
dobj__clock_now_ms(void)
{
	return clock_read(CLOCK_REALTIME) + atomic_load(&clock_offset_ms);
}

void
dobj__clock_advance(int64_t delta_ms)
{
	atomic_fetch_add(&clock_offset_ms, delta_ms);
}

int64_t
dobj__clock_mono_ms(void)
{
	return clock_read(CLOCK_MONOTONIC);
}

int64_t
dobj__clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
dobj__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rv;

	if ((rv = pthread_condattr_init(&attr)) != 0)
		return rv;
	if ((rv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)) == 0)
		rv = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rv;
}

bool
dobj__cond_wait_until_mono_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until)
{
	struct timespec ts = {.tv_sec = (time_t)(until / 1000),
	                      .tv_nsec = (long)(until % 1000) * 1000000L};

	if (until <= dobj__clock_mono_ms())
		return false;
	return pthread_cond_timedwait(cv, mu, &ts) != ETIMEDOUT;
}

bool
dobj__cond_wait_flag(pthread_cond_t *cv, pthread_mutex_t *mu, const bool *flag, int64_t until)
{
	while (!*flag) {
		if (until == 0)
			pthread_cond_wait(cv, mu);
		else if (!dobj__cond_wait_until_mono_ms(cv, mu, until))
			break;
	}
	return *flag;
}

void
dobj__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
	struct timespec ts;

	if (ms < 1)
		ms = 1;
	ts = dobj__mono_in_ms(ms);
	pthread_cond_timedwait(cv, mu, &ts);
}
