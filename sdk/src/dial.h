/* SPDX-License-Identifier: MIT */
/* dial.h - a TLS client's connection to its server, made by a thread of its own one attempt at
 * a time (dial.c), so that the client knows why each attempt failed: its calls without a
 * connection fail at once while the TLS handshake keeps failing, and say why. Not installed. */
#ifndef DOBJ_SDK_DIAL_H
#define DOBJ_SDK_DIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <dobj/err.h>

/* The kinds of failed connection attempts, as a message counts them. */
enum {
	DOBJ__DIAL_TLS,     /* NNG_EPEERAUTH, NNG_ECRYPTO: a certificate, or the TLS exchange */
	DOBJ__DIAL_CLOSED,  /* closed or reset by the server during the handshake */
	DOBJ__DIAL_REFUSED, /* NNG_ECONNREFUSED */
	DOBJ__DIAL_TIMEOUT, /* NNG_ETIMEDOUT */
	DOBJ__DIAL_PROTO,   /* NNG_EPROTO: not a dobj server after the handshake */
	DOBJ__DIAL_OTHER,   /* an unresolved name, an unreachable network, ... */
	DOBJ__DIAL_KINDS
};

/* DOBJ__DIAL_FAILS: failed handshakes in a row after which calls without a connection fail at
 * once. Before the client ever connected, one that failed on a certificate or the TLS exchange
 * is enough. */
#define DOBJ__DIAL_FAILS 3

/* dobj__dial: embedded in its client. dobj__dial_start to dobj__dial_fini, all fields are the
 * thread's and the pipe callback's: use the functions below. */
typedef struct dobj__dial {
	nng_socket sock;
	const char *url;     /* the client's */
	nng_tls_config *tls; /* held for each attempt's dialer */
	pthread_t thread;
	pthread_mutex_t mtx; /* protects the fields below; never held across an nng call */
	pthread_cond_t cv;   /* wakes the thread: closing, or the connection went away */
	bool closing;
	unsigned pipes;                    /* connections up (pipe events) */
	bool connected;                    /* a connection was made since the client opened */
	nng_dialer dialer;                 /* the attempt's or the connection's; id 0: none */
	bool fresh;                        /* dialer is made and not started yet */
	unsigned failed[DOBJ__DIAL_KINDS]; /* failed attempts since the last connection */
	int handshake_rv;                  /* the last failed handshake's nng error since, or 0 */
	int other_rv;                      /* the last DOBJ__DIAL_OTHER's nng error, or 0 */
} dobj__dial;

/* dobj__dial_start makes the first dialer of url on sock with tls (which d holds) and the
 * thread that starts it and every later attempt. 0 or an nng error (a bad URL; out of memory),
 * and then nothing is left to stop. */
int dobj__dial_start(dobj__dial *d, nng_socket sock, const char *url, nng_tls_config *tls);

/* dobj__dial_pipe tells d that a connection came up (the pipe's NNG_PIPE_EV_ADD_PRE) or went
 * away (NNG_PIPE_EV_REM_POST). Runs on nng's threads. */
void dobj__dial_pipe(dobj__dial *d, bool up);

/* dobj__dial_failing says whether a call without a connection should fail at once: there is
 * none, and DOBJ__DIAL_FAILS handshakes failed since the last one (or, before the client ever
 * connected, one on a certificate or the TLS exchange). Then why gets "TLS handshake failed:
 * <nng's reason>" and note dobj__dial_note's text, of the same moment. Thread-safe and cheap. */
bool dobj__dial_failing(dobj__dial *d, char *why, size_t whylen, char *note, size_t notelen);

/* dobj__dial_note describes the failed attempts since the last connection, as " (failed
 * connection attempts: 3 TLS handshake or certificate verification; check ...)", or "". */
void dobj__dial_note(dobj__dial *d, char *buf, size_t len);

/* dobj__dial_stop ends an attempt in progress and waits for the thread, 2 s at most: false if
 * the thread did not end, which nng 1.5 can cause (a synchronous dial whose connection is
 * closed in the middle of its handshake may never return: nng issues 1543 and 1813). Then d
 * must be left as it is, never freed nor finished. Call it before closing the socket, never
 * from a callback; dobj__dial_fini after the socket is closed. */
bool dobj__dial_stop(dobj__dial *d);
void dobj__dial_fini(dobj__dial *d);

#endif /* DOBJ_SDK_DIAL_H */
