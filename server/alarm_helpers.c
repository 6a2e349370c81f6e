// SPDX-License-Identifier: MIT
// alarm_helpers.c - the seed's alarm helpers over dobj_alarm_set (dobj/alarm.h): durations,
// scheduling from a duration or a time, and routing an alarm to a named action. The alarm
// itself (its row, the poller, retries) is alarm.c's.

#include <stdio.h>
#include <string.h>

#include <dobj/alarm.h>
#include <dobj/storage.h>

#include "log.h"

#define ALARM_ACTION_KEY "__alarm_action"

/* dobj_parse_duration accepts what the seed's /^(\d+)(s|m|h|d)$/ accepts: ASCII digits, then
 * one unit letter, then the end of the string. */
dobj_err
dobj_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen)
{
	static const char *const bad = "Invalid duration format: \"%s\". Expected format: "
	                               "<number><unit> where unit is s, m, h, or d.";
	const char *in = s != NULL ? s : "", *p = in;
	int64_t n = 0, unit;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (ms == NULL)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, "parse duration: ms is NULL");
	*ms = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, bad, in);
		n = n * 10 + (*p - '0');
	}
	/* at least one digit, then exactly one more character */
	switch (p > in && *p != '\0' && p[1] == '\0' ? *p : '\0') {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60 * 1000;
		break;
	case 'h':
		unit = 60 * 60 * 1000;
		break;
	case 'd':
		unit = 24 * 60 * 60 * 1000;
		break;
	default:
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, bad, in);
	}
	if (n == 0)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "Duration must be positive, got: \"%s\"", in);
	if (n > INT64_MAX / unit)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, bad, in);
	*ms = n * unit;
	return DOBJ_OK;
}

dobj_err
dobj_alarm_schedule(dobj_ctx *ctx, const dobj_alarm_when *when)
{
	char err[256];
	int64_t ms, now;
	dobj_err rc;

	if (when == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "schedule alarm: when is NULL");
	if (when->in == NULL)
		return dobj_alarm_set(ctx, when->at_ms);
	if ((rc = dobj_parse_duration(when->in, &ms, err, sizeof(err))) != DOBJ_OK)
		return dobj_ctx_errorf(ctx, rc, "%s", err);
	now = dobj_ctx_now_ms(ctx);
	if (ms > INT64_MAX - now)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "schedule alarm: \"%s\" from now is past the largest time",
		                       when->in);
	return dobj_alarm_set(ctx, now + ms);
}

typedef struct route_args {
	const dobj_alarm_router *r;
	const char *key;
	const dobj_alarm_action *action;
} route_args;

/* route_txn clears the key and runs the action as one unit: a failing action gets the key
 * back (with its own writes undone), and an action may set the key again for its next alarm. */
static dobj_err
route_txn(dobj_ctx *ctx, void *arg)
{
	route_args *a = arg;
	dobj_err rc;

	if ((rc = dobj_storage_delete(ctx, a->key, NULL)) != DOBJ_OK)
		return rc;
	return a->action->fn(ctx, a->r->arg);
}

/* route_check refuses a router that would crash the routing: missing, or with an action
 * that has no name or no function. */
static dobj_err
route_check(const dobj_alarm_router *r, dobj_ctx *ctx)
{
	if (r == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "alarm route: router is NULL");
	if (r->nactions > 0 && r->actions == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "alarm route: actions is NULL but nactions is %zu",
		                       r->nactions);
	for (size_t i = 0; i < r->nactions; i++) {
		if (r->actions[i].name == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
			                       "alarm route: actions[%zu] has no name", i);
		if (r->actions[i].fn == NULL)
			return dobj_ctx_errorf(
			    ctx, DOBJ_INVALID_ARGUMENT,
			    "alarm route: actions[%zu] (\"%.64s\") has no function", i,
			    r->actions[i].name);
	}
	return DOBJ_OK;
}

dobj_err
dobj_alarm_route(const dobj_alarm_router *r, dobj_ctx *ctx)
{
	route_args a = {.r = r};
	char names[512];
	size_t off = 0;
	dobj_bytes v;
	dobj_err rc;

	if ((rc = route_check(r, ctx)) != DOBJ_OK)
		return rc;
	a.key = r->action_key != NULL ? r->action_key : ALARM_ACTION_KEY;
	rc = dobj_storage_get(ctx, a.key, &v);
	if (rc == DOBJ_NOT_FOUND || (rc == DOBJ_OK && v.len == 0)) /* the seed's `!action` */
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
		                       "No alarm action found in storage at key \"%s\". Set the "
		                       "action before scheduling the alarm.",
		                       a.key);
	if (rc != DOBJ_OK)
		return rc;
	for (size_t i = 0; i < r->nactions; i++) {
		const dobj_alarm_action *act = &r->actions[i];

		if (strlen(act->name) == v.len && memcmp(act->name, v.data, v.len) == 0) {
			a.action = act;
			return dobj_storage_transaction(ctx, route_txn, &a);
		}
	}
	names[0] = '\0';
	for (size_t i = 0; i < r->nactions && off < sizeof(names); i++) {
		int w = snprintf(names + off, sizeof(names) - off, "%s%s", i > 0 ? ", " : "",
		                 r->actions[i].name);

		off += w > 0 ? (size_t)w : 0;
	}
	return dobj_ctx_errorf(
	    ctx, DOBJ_FAILED_PRECONDITION, "Unknown alarm action: \"%.*s\". Valid actions: [%s]",
	    (int)(v.len < 128 ? v.len : 128), v.len > 0 ? (const char *)v.data : "", names);
}
