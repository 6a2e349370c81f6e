/* SPDX-License-Identifier: MIT */
/* turn.h - a turn context without a database, for unit tests of the object-side API: a new,
 * fully loaded object (so nothing is ever read from PostgreSQL), an arena and an undo log. */
#ifndef DOBJ_TEST_TURN_H
#define DOBJ_TEST_TURN_H

#include "ctx.h"
#include "registry.h"

typedef struct fx_turn {
	dobj_ctx ctx; /* pass &t.ctx to the API under test */
	dobj__arena arena;
	dobj__undo undo;
	dobj_class cls;
	dobj__class_reg reg;
	dobj_limits limits;
} fx_turn;

/* fx_turn_open starts a turn of method `method` on a new object of class `class_name`, with
 * the given limits (NULL: the defaults). t must not move while it is open. */
void fx_turn_open(fx_turn *t, const char *class_name, const char *method,
                  const dobj_limits *limits);

/* fx_turn_open_alarmed is fx_turn_open for a class with an alarm entry that does nothing, as
 * dobj_alarm_set requires. */
void fx_turn_open_alarmed(fx_turn *t, const char *class_name, const char *method);

/* fx_turn_close frees the object, the undo log and the arena. */
void fx_turn_close(fx_turn *t);

#endif /* DOBJ_TEST_TURN_H */
