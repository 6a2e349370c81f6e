/* SPDX-License-Identifier: MIT */
/*
 * writer.h - the writer lock: at most one dobjd commits to a database. Each object's cache is
 * the truth between commits, so two dobjd processes serving one database would overwrite each
 * other's writes. A serving dobjd holds a session-level advisory lock (DOBJ__WRITER_LOCK_KEY)
 * on its commit connection, the only connection that writes objects' storage, FSM state and
 * alarms; another one waits for the lock as a standby, without serving.
 *
 * Each time a dobjd takes the lock it adds one to the writer epoch (dobj_writer, migration
 * 0004), on the same connection, once it holds the lock. When the commit connection is lost
 * and made again, the lock is taken again before anything is committed: if the epoch is
 * still the one this dobjd set, nobody wrote meanwhile; if it moved, or another session holds
 * the lock, the caches may be stale and this dobjd must never commit again.
 */
#ifndef DOBJ_SERVER_WRITER_H
#define DOBJ_SERVER_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>

#include "pgstore.h"

/* dobj__writer: the lock as the commit connection holds it. */
typedef struct dobj__writer {
	bool held;     /* taken on the connection of generation gen */
	uint64_t gen;  /* dobj__pg_gen when it was taken */
	int64_t epoch; /* the epoch this dobjd set when it last took the lock; 0: never took it */
	/* the backend that held it, to tell this dobjd's own old session from another's */
	int pid;
	int64_t start;
} dobj__writer;

typedef enum dobj__writer_rc {
	DOBJ__WRITER_HELD,  /* this connection holds the lock; w->epoch is this dobjd's */
	DOBJ__WRITER_BUSY,  /* another session holds it: msg names it */
	DOBJ__WRITER_MOVED, /* taken again, but the epoch moved: another dobjd wrote */
	DOBJ__WRITER_ERROR, /* could not tell (PostgreSQL unavailable, ...): msg says why */
} dobj__writer_rc;

/* dobj__writer_take takes the lock on pg's connection (made first if need be; not in
 * pipeline mode) and bumps the epoch. The first time (w->epoch 0) the epoch is bumped
 * whatever it was; later, only if it is still w->epoch (DOBJ__WRITER_MOVED otherwise, and
 * the lock is let go). When this dobjd's own previous session still holds the lock (its
 * connection died unseen by PostgreSQL), that backend is ended and DOBJ__WRITER_ERROR asks
 * for another try. Blocking: a few round trips, at start and after a reconnect only. */
dobj__writer_rc dobj__writer_take(dobj__writer *w, dobj__pg *pg, char *msg, size_t msglen);

/* dobj__writer_current: the lock was taken on pg's present connection. It does not ask
 * PostgreSQL: a connection whose backend has ended is found out by its next use. */
bool dobj__writer_current(const dobj__writer *w, const dobj__pg *pg);

#endif /* DOBJ_SERVER_WRITER_H */
