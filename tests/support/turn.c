// SPDX-License-Identifier: MIT
// turn.c - a database-free turn context for unit tests (see turn.h).

#include <string.h>

#include "turn.h"

void
fx_turn_open(fx_turn *t, const char *class_name, const char *method, const dobj_limits *limits)
{
	static const dobj_limits defaults = {.key_max = DOBJ_DEFAULT_KEY_MAX,
	                                     .value_max = DOBJ_DEFAULT_VALUE_MAX,
	                                     .many_max = DOBJ_DEFAULT_MANY_MAX};
	dobj_id id;

	memset(t, 0, sizeof(*t));
	t->cls.name = class_name;
	t->reg.cls = &t->cls;
	t->limits = limits ? *limits : defaults;
	dobj_id_from_name(class_name, "unit", &id);
	t->ctx.obj = dobj__object_new(&t->reg, &id);
	t->ctx.obj->complete = true;
	t->ctx.method = method;
	t->ctx.arena = &t->arena;
	t->ctx.undo = &t->undo;
	t->ctx.limits = &t->limits;
}

static dobj_err
no_op_alarm(dobj_ctx *ctx)
{
	(void)ctx;
	return DOBJ_OK;
}

void
fx_turn_open_alarmed(fx_turn *t, const char *class_name, const char *method)
{
	fx_turn_open(t, class_name, method, NULL);
	t->cls.alarm = no_op_alarm;
}

void
fx_turn_close(fx_turn *t)
{
	dobj__undo_fini(&t->undo);
	dobj__object_free(t->ctx.obj);
	dobj__arena_fini(&t->arena);
}
