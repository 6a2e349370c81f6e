// SPDX-License-Identifier: MIT
// alarm.c - the object side of alarms (dobj_alarm_set/get/delete): the alarm is part of the
// live object's state, read from PostgreSQL on first use and written by the turn's commit
// (pgstore.c). Firing alarms is the poller's (poller.c); the seed's helpers are in
// alarm_helpers.c.

#include <dobj/alarm.h>

#include "call.h"
#include "ctx.h"
#include "object.h"
#include "pgstore.h"
#include "registry.h"

/* alarm_load makes the object's alarm state known. */
static dobj_err
alarm_load(dobj_ctx *ctx, const char *op)
{
	dobj__object *o = ctx->obj;
	char err[256];
	dobj_err rc;

	if (o->alarm_known)
		return DOBJ_OK;
	if (ctx->pg == NULL) { /* no database behind this turn (unit tests): no alarm */
		o->alarm_known = true;
		o->has_alarm = false;
		return DOBJ_OK;
	}
	if ((rc = dobj__pg_fetch_alarm(ctx->pg, o, err, sizeof(err))) != DOBJ_OK)
		return dobj_ctx_errorf(ctx, rc, "%s: could not read the alarm: %s", op, err);
	return DOBJ_OK;
}

dobj_err
dobj_alarm_set(dobj_ctx *ctx, int64_t at_ms)
{
	/* Cloudflare refuses both: an alarm time <= 0, and a class that could not run it */
	if (at_ms <= 0)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "alarm_set: time %lld is not after the epoch",
		                       (long long)at_ms);
	if (ctx->obj->cls->cls->alarm == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
		                       "alarm_set: class %s has no alarm entry (dobj_class.alarm; "
		                       "generated: on_alarm), so its alarm would never run",
		                       ctx->obj->cls->cls->name);
	if (dobj__object_set_alarm(ctx->obj, ctx->undo, true, at_ms, true) != 0)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "alarm_set: out of memory");
	return DOBJ_OK;
}

dobj_err
dobj_alarm_get(dobj_ctx *ctx, int64_t *at_ms)
{
	dobj_err rc;

	if (at_ms == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "alarm_get: at_ms is NULL");
	if ((rc = alarm_load(ctx, "alarm_get")) != DOBJ_OK)
		return rc;
	if (!ctx->obj->has_alarm)
		return DOBJ_NOT_FOUND;
	*at_ms = ctx->obj->alarm_ms;
	return DOBJ_OK;
}

dobj_err
dobj_alarm_delete(dobj_ctx *ctx, bool *existed)
{
	dobj_err rc = alarm_load(ctx, "alarm_delete");
	bool had;

	if (existed != NULL)
		*existed = false;
	if (rc != DOBJ_OK)
		return rc;
	had = ctx->obj->has_alarm;
	if (dobj__object_set_alarm(ctx->obj, ctx->undo, false, 0, true) != 0)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "alarm_delete: out of memory");
	if (existed != NULL)
		*existed = had;
	return DOBJ_OK;
}

dobj_err
dobj_alarm_info_get(dobj_ctx *ctx, dobj_alarm_info *out)
{
	if (out == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "alarm_info: out is NULL");
	if (ctx->alarm == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
		                       "alarm_info: this turn is not an alarm's");
	out->due_ms = ctx->alarm->alarm_due_ms;
	out->retry_count = ctx->alarm->alarm_attempts;
	return DOBJ_OK;
}
