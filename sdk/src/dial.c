// SPDX-License-Identifier: MIT
// dial.c - a TLS client's connection: a thread of its own makes one attempt at a time, each
// with a dialer of its own started synchronously, so that every failed attempt's nng error is
// known. nng 1.5 tells a background dialer's errors only by kind in its statistics (a server
// that closed the connection during the handshake and a name that does not resolve are both
// "other"), and such a dialer stops for good after an attempt that failed with NNG_ECLOSED.
// Once an attempt connects, its dialer holds the connection until nng removes the pipe; the
// thread then closes that dialer and dials anew: at once, then after 100 ms, twice as long
// each time up to 2 s (from half to all of it, at random). The plain transports' dialers
// reconnect by themselves (client.c).
//
// Threads and locks: d->mtx is this file's only lock, taken by the thread, the pipe callback
// (nng's threads) and the calls without a connection; no nng call is made under it.

#define _GNU_SOURCE /* pthread_timedjoin_np */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "dial.h"
#include "mono.h"

#define DIAL_STOP_WAIT_MS 2000 /* for the thread, at most (dobj__dial_stop) */
#define DIAL_RETRY_MIN_MS 100
#define DIAL_RETRY_MAX_MS 2000
/* A connected dialer's own reconnect time: nng redials at random within it after the pipe
 * closes, and the thread closes the dialer long before. */
#define DIAL_NNG_RECONN_MS 3600000

static const char *const dial_kind_what[DOBJ__DIAL_KINDS] = {
    [DOBJ__DIAL_TLS] = "TLS handshake or certificate verification",
    [DOBJ__DIAL_CLOSED] = "closed by the server during the handshake",
    [DOBJ__DIAL_REFUSED] = "connection refused",
    [DOBJ__DIAL_TIMEOUT] = "timed out",
    [DOBJ__DIAL_PROTO] = "protocol errors",
    [DOBJ__DIAL_OTHER] = "other errors",
};

static int
dial_kind(int rv)
{
	switch (rv) {
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return DOBJ__DIAL_TLS;
	case NNG_ECONNSHUT:
	case NNG_ECONNRESET:
	case NNG_ECONNABORTED:
	case NNG_ECLOSED: /* nng 1.5's name for a write's EPIPE */
		return DOBJ__DIAL_CLOSED;
	case NNG_ECONNREFUSED:
		return DOBJ__DIAL_REFUSED;
	case NNG_ETIMEDOUT:
		return DOBJ__DIAL_TIMEOUT;
	case NNG_EPROTO:
		return DOBJ__DIAL_PROTO;
	default:
		return DOBJ__DIAL_OTHER;
	}
}

/* dial_new makes a dialer of d->url with d->tls, not started. */
static int
dial_new(dobj__dial *d, nng_dialer *out)
{
	nng_dialer nd;
	int rv;

	if ((rv = nng_dialer_create(&nd, d->sock, d->url)) != 0)
		return rv;
	if ((rv = nng_dialer_set_ptr(nd, NNG_OPT_TLS_CONFIG, d->tls)) != 0 ||
	    (rv = nng_dialer_set_ms(nd, NNG_OPT_RECONNMINT, DIAL_NNG_RECONN_MS)) != 0 ||
	    (rv = nng_dialer_set_ms(nd, NNG_OPT_RECONNMAXT, DIAL_NNG_RECONN_MS)) != 0) {
		nng_dialer_close(nd);
		return rv;
	}
	*out = nd;
	return 0;
}

/* dial_sleep waits ms, or less if the client closes; with d->mtx held. */
static void
dial_sleep(dobj__dial *d, int ms)
{
	struct timespec until;

	until = dobj__mono_in_ms(ms);
	while (!d->closing && pthread_cond_timedwait(&d->cv, &d->mtx, &until) == 0)
		;
}

/* dial_failed counts a failed attempt; with d->mtx held. */
static void
dial_failed(dobj__dial *d, int rv)
{
	int kind = dial_kind(rv);

	d->failed[kind]++;
	if (kind == DOBJ__DIAL_TLS || kind == DOBJ__DIAL_CLOSED)
		d->handshake_rv = rv;
	else if (kind == DOBJ__DIAL_OTHER)
		d->other_rv = rv;
}

static void *
dial_thread(void *arg)
{
	dobj__dial *d = arg;
	int backoff = 0; /* the wait before the next attempt, before its jitter; 0: none */
	nng_dialer nd;
	int rv;

	pthread_mutex_lock(&d->mtx);
	while (!d->closing) {
		if (d->pipes > 0) {
			pthread_cond_wait(&d->cv, &d->mtx);
			backoff = 0;
			continue;
		}
		if (backoff > 0) {
			dial_sleep(d,
			           backoff / 2 + (int)(nng_random() % (uint32_t)(backoff / 2 + 1)));
			backoff = backoff * 2 > DIAL_RETRY_MAX_MS ? DIAL_RETRY_MAX_MS : backoff * 2;
			if (d->closing)
				break;
		} else {
			backoff = DIAL_RETRY_MIN_MS;
		}
		/* No connection: the last attempt's or connection's dialer goes, a new one dials;
		 * published in d->dialer, so that dobj__dial_stop's close ends its start. */
		nd = d->dialer;
		rv = 0;
		if (!d->fresh) {
			d->dialer = (nng_dialer)NNG_DIALER_INITIALIZER;
			pthread_mutex_unlock(&d->mtx);
			if (nng_dialer_id(nd) > 0)
				nng_dialer_close(nd);
			rv = dial_new(d, &nd);
			pthread_mutex_lock(&d->mtx);
			if (rv == 0)
				d->dialer = nd;
		}
		d->fresh = false;
		if (d->closing)
			break;
		if (rv == 0) {
			/* one attempt: connect, TLS handshake, SP header; a pipe event on success */
			pthread_mutex_unlock(&d->mtx);
			rv = nng_dialer_start(nd, 0);
			pthread_mutex_lock(&d->mtx);
		}
		if (rv == 0)
			backoff = 0;
		else if (!d->closing)
			dial_failed(d, rv);
	}
	pthread_mutex_unlock(&d->mtx);
	return NULL;
}

int
dobj__dial_start(dobj__dial *d, nng_socket sock, const char *url, nng_tls_config *tls)
{
	pthread_condattr_t ca;
	int rv;

	memset(d, 0, sizeof(*d));
	d->sock = sock;
	d->url = url;
	d->tls = tls;
	if ((rv = dial_new(d, &d->dialer)) != 0)
		return rv;
	d->fresh = true;
	nng_tls_config_hold(tls);
	pthread_mutex_init(&d->mtx, NULL);
	/* the waits between attempts run on the monotonic clock, as client.c's */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&d->thread, NULL, dial_thread, d) != 0) {
		nng_dialer_close(d->dialer);
		dobj__dial_fini(d);
		return NNG_ENOMEM;
	}
	return 0;
}

void
dobj__dial_pipe(dobj__dial *d, bool up)
{
	pthread_mutex_lock(&d->mtx);
	if (up) {
		d->pipes++;
		d->connected = true;
		memset(d->failed, 0, sizeof(d->failed));
		d->handshake_rv = 0;
		d->other_rv = 0;
	} else if (d->pipes > 0 && --d->pipes == 0) {
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mtx);
}

/* dial_note_locked is dobj__dial_note with d->mtx held. */
static void
dial_note_locked(dobj__dial *d, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	for (int k = 0; k < DOBJ__DIAL_KINDS && off < len; k++) {
		if (d->failed[k] == 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%u %s",
		                        n++ ? ", " : " (failed connection attempts: ", d->failed[k],
		                        dial_kind_what[k]);
		if (k == DOBJ__DIAL_OTHER && d->other_rv != 0 && off < len)
			off += (size_t)snprintf(buf + off, len - off, " (last: %s)",
			                        nng_strerror(d->other_rv));
	}
	if (n > 0 && off < len)
		snprintf(
		    buf + off, len - off, "%s)",
		    d->failed[DOBJ__DIAL_TLS] + d->failed[DOBJ__DIAL_CLOSED] > 0
		        ? "; check the CA, the server name and, if the server requires one, the "
		          "client certificate"
		        : "");
}

bool
dobj__dial_failing(dobj__dial *d, char *why, size_t whylen, char *note, size_t notelen)
{
	unsigned tls, handshakes;
	bool failing;

	pthread_mutex_lock(&d->mtx);
	tls = d->failed[DOBJ__DIAL_TLS];
	handshakes = tls + d->failed[DOBJ__DIAL_CLOSED];
	failing = d->pipes == 0 && (handshakes >= DOBJ__DIAL_FAILS || (tls > 0 && !d->connected));
	if (failing) {
		snprintf(why, whylen,
		         dial_kind(d->handshake_rv) == DOBJ__DIAL_CLOSED
		             ? "TLS handshake failed: the server closed the connection (%s)"
		             : "TLS handshake failed: %s",
		         nng_strerror(d->handshake_rv));
		dial_note_locked(d, note, notelen);
	}
	pthread_mutex_unlock(&d->mtx);
	return failing;
}

void
dobj__dial_note(dobj__dial *d, char *buf, size_t len)
{
	pthread_mutex_lock(&d->mtx);
	dial_note_locked(d, buf, len);
	pthread_mutex_unlock(&d->mtx);
}

bool
dobj__dial_stop(dobj__dial *d)
{
	struct timespec until;
	nng_dialer nd;

	pthread_mutex_lock(&d->mtx);
	d->closing = true;
	nd = d->dialer;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mtx);
	if (nng_dialer_id(nd) > 0)
		nng_dialer_close(nd); /* ends an attempt in progress */
	/* pthread_timedjoin_np counts on the realtime clock */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DIAL_STOP_WAIT_MS / 1000;
	if (pthread_timedjoin_np(d->thread, NULL, &until) == 0)
		return true;
	pthread_detach(d->thread); /* still in nng_dialer_start: d must stay */
	return false;
}

void
dobj__dial_fini(dobj__dial *d)
{
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mtx);
	nng_tls_config_free(d->tls);
}
