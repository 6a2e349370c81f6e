// SPDX-License-Identifier: MIT
// sockclose.c - nng_close on a thread of its own, waited for with a bound (sockclose.h says
// why). The waiter and the thread share a small record; whichever of them is last frees it.

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "mono.h"
#include "sockclose.h"

typedef struct sock_closing {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	nng_socket sock;
	bool done;
	int refs; /* the waiter and the thread */
} sock_closing;

static void
closing_rele(sock_closing *sc)
{
	bool last;

	pthread_mutex_lock(&sc->mu);
	last = --sc->refs == 0;
	pthread_mutex_unlock(&sc->mu);
	if (last) {
		pthread_cond_destroy(&sc->cv);
		pthread_mutex_destroy(&sc->mu);
		free(sc);
	}
}

static void *
closing_main(void *arg)
{
	sock_closing *sc = arg;

	nng_close(sc->sock);
	pthread_mutex_lock(&sc->mu);
	sc->done = true;
	pthread_cond_signal(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
	closing_rele(sc);
	return NULL;
}

bool
dobj__sock_close(nng_socket sock, int wait_ms)
{
	sock_closing *sc = calloc(1, sizeof(*sc));
	pthread_condattr_t ca;
	struct timespec until;
	pthread_t t;
	bool done;

	if (sc == NULL)
		goto inline_close;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sc->cv, &ca);
	pthread_condattr_destroy(&ca);
	sc->sock = sock;
	sc->refs = 2;
	if (pthread_create(&t, NULL, closing_main, sc) != 0) {
		pthread_cond_destroy(&sc->cv);
		pthread_mutex_destroy(&sc->mu);
		free(sc);
		goto inline_close;
	}
	pthread_detach(t);
	until = dobj__mono_in_ms(wait_ms);
	pthread_mutex_lock(&sc->mu);
	while (!sc->done && pthread_cond_timedwait(&sc->cv, &sc->mu, &until) != ETIMEDOUT)
		;
	done = sc->done;
	pthread_mutex_unlock(&sc->mu);
	closing_rele(sc);
	return done;

inline_close: /* out of memory or threads: no bound */
	nng_close(sock);
	return true;
}
