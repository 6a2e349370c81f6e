/* SPDX-License-Identifier: MIT */
/* nngfix.h - the server's workaround for nng 1.5's listener that stops accepting after a client
 * went away in the middle of a TLS handshake (nngfix.c says how). */
#ifndef DOBJ_SERVER_NNGFIX_H
#define DOBJ_SERVER_NNGFIX_H

#include <stdbool.h>

/* dobj__nngfix_init makes this process's sendmsg(2) report EPIPE as ECONNRESET from now on, if
 * the nng in use needs it. A server calls it before it listens; idempotent, thread-safe. */
void dobj__nngfix_init(void);

/* dobj__nngfix_needed says whether nng of the given version ("1.5.2") needs the fix: older
 * than 1.6.0, or a version it cannot read. */
bool dobj__nngfix_needed(const char *version);

#endif /* DOBJ_SERVER_NNGFIX_H */
