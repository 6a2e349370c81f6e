/* SPDX-License-Identifier: MIT */
/* ctx.h - the turn context behind dobj_ctx: which object, its undo log, the request's arena
 * and the shard's database connection for keys not yet cached. */
#ifndef DOBJ_SERVER_CTX_H
#define DOBJ_SERVER_CTX_H

#include <dobj/object.h>
#include <dobj/server.h>

#include "arena.h"
#include "object.h"

struct dobj__pg;

struct dobj_ctx {
	dobj__object *obj;
	const char *method;
	dobj__arena *arena;  /* the request's arena: dies after the reply is sent */
	dobj__undo *undo;    /* the shard's undo log, empty at the start of the turn */
	struct dobj__pg *pg; /* the shard's connection (partial objects read through it) */
	const dobj_limits *limits;
	const struct dobj__call *alarm; /* the alarm call, in an alarm turn; else NULL */
	char errmsg[512];
};

#endif /* DOBJ_SERVER_CTX_H */
