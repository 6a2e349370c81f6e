/* SPDX-License-Identifier: MIT */
/* server_int.h - what dobjd's main (main.c) asks of a server beyond dobj/server.h: waiting for
 * the writer lock as a standby, and learning that it was lost. */
#ifndef DOBJ_SERVER_SERVER_INT_H
#define DOBJ_SERVER_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <dobj/server.h>

/* dobj__server_take_writer tries once to take the writer lock of the database (writer.h), on
 * the commit connection, starting the HTTP endpoint first (/healthz 200, /readyz 503 with the
 * reason). DOBJ_OK once held: dobj_server_start then serves. Otherwise *wait says whether to
 * try again later (another session holds the lock, msg naming it, or PostgreSQL did not
 * answer; logged at warn the first time, at debug after) or to give up (msg says why). */
dobj_err dobj__server_take_writer(dobj_server *s, bool *wait, char *msg, size_t msglen);

/* dobj__server_lost: the commit thread found the writer lock taken by another session since
 * this server last held it (msg says how): it commits nothing more, and the process should
 * drain and exit with status 1. Thread-safe. */
bool dobj__server_lost(dobj_server *s, char *msg, size_t msglen);

#endif /* DOBJ_SERVER_SERVER_INT_H */
