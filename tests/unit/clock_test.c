// SPDX-License-Identifier: MIT
// clock_test.c - the server clock's timed waits (server/clock.c). They run on the monotonic
// clock: a condition variable made by dobj__cond_init times out after the milliseconds asked,
// measured on dobj__clock_mono_ms, and wakes early when signalled.

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <criterion/criterion.h>

#include "clock.h"

typedef struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool go;
} waiter;

static void
waiter_init(waiter *w)
{
	pthread_mutex_init(&w->mu, NULL);
	cr_assert_eq(dobj__cond_init(&w->cv), 0);
	w->go = false;
}

static void
waiter_fini(waiter *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

Test(clock, a_timed_wait_lasts_its_milliseconds_on_the_monotonic_clock)
{
	waiter w;
	int64_t t0, waited;

	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	t0 = dobj__clock_mono_ms();
	dobj__cond_wait_ms(&w.cv, &w.mu, 120);
	waited = dobj__clock_mono_ms() - t0;
	pthread_mutex_unlock(&w.mu);
	/* a wait on the wrong clock ends at once (an absolute time decades past) or never */
	cr_assert_geq(waited, 119, "waited %lld ms of 120", (long long)waited);
	cr_assert_lt(waited, 5000, "waited %lld ms of 120", (long long)waited);
	waiter_fini(&w);
}

Test(clock, a_wait_until_a_moment_passed_returns_false_at_once)
{
	waiter w;

	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	cr_assert_not(dobj__cond_wait_until_mono_ms(&w.cv, &w.mu, dobj__clock_mono_ms() - 1));
	pthread_mutex_unlock(&w.mu);
	waiter_fini(&w);
}

Test(clock, a_wait_until_times_out_at_its_moment)
{
	waiter w;
	int64_t until;
	bool woken = true;

	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	until = dobj__clock_mono_ms() + 100;
	while (!w.go && (woken = dobj__cond_wait_until_mono_ms(&w.cv, &w.mu, until)))
		;
	cr_assert_not(woken);
	cr_assert_geq(dobj__clock_mono_ms(), until);
	pthread_mutex_unlock(&w.mu);
	waiter_fini(&w);
}

static void *
signal_later(void *arg)
{
	waiter *w = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};

	nanosleep(&ts, NULL);
	pthread_mutex_lock(&w->mu);
	w->go = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

Test(clock, a_signal_ends_a_wait_until_before_its_moment)
{
	waiter w;
	pthread_t t;
	int64_t until;

	waiter_init(&w);
	cr_assert_eq(pthread_create(&t, NULL, signal_later, &w), 0);
	pthread_mutex_lock(&w.mu);
	until = dobj__clock_mono_ms() + 30000;
	while (!w.go && dobj__cond_wait_until_mono_ms(&w.cv, &w.mu, until))
		;
	cr_assert(w.go, "the wait ended without the signal");
	cr_assert_lt(dobj__clock_mono_ms(), until);
	pthread_mutex_unlock(&w.mu);
	pthread_join(t, NULL);
	waiter_fini(&w);
}

Test(clock, a_flag_wait_returns_the_flag_set_by_another_thread, .timeout = 30)
{
	waiter w;
	pthread_t t;

	waiter_init(&w);
	cr_assert_eq(pthread_create(&t, NULL, signal_later, &w), 0);
	pthread_mutex_lock(&w.mu);
	cr_assert(dobj__cond_wait_flag(&w.cv, &w.mu, &w.go, 0), "no deadline: waits for the flag");
	pthread_mutex_unlock(&w.mu);
	pthread_join(t, NULL);
	waiter_fini(&w);
}

Test(clock, a_flag_wait_past_its_moment_returns_the_flag_as_it_is)
{
	waiter w;

	waiter_init(&w);
	pthread_mutex_lock(&w.mu);
	cr_assert_not(dobj__cond_wait_flag(&w.cv, &w.mu, &w.go, dobj__clock_mono_ms() - 1));
	w.go = true;
	cr_assert(dobj__cond_wait_flag(&w.cv, &w.mu, &w.go, dobj__clock_mono_ms() - 1));
	pthread_mutex_unlock(&w.mu);
	waiter_fini(&w);
}
