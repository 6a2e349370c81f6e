/* SPDX-License-Identifier: MIT */
/*
 * dobj/alarm.h - one durable alarm per object (Cloudflare's setAlarm/getAlarm/deleteAlarm)
 * and the seed's helpers on top: scheduleAlarm, parseDuration and the alarm router.
 *
 * Setting or deleting an alarm is a write of the turn: it commits with the turn's other
 * writes, or not at all. When the alarm is due, the server runs the class's `alarm` entry
 * (dobj_class.alarm) as a turn of the object; the alarm is removed in the same commit as that
 * turn's writes. Delivery is at least once: a failing alarm turn is retried with exponential
 * backoff (from dobjd's --alarm-retry-ms, 2 s by default, doubling, with +-20% jitter; at most
 * --alarm-max-retries retries, 6 by default), then parked with its last error until the object
 * sets a new alarm. Times are the server clock's, in ms since the epoch.
 */
#ifndef DOBJ_ALARM_H
#define DOBJ_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/object.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dobj_alarm_set sets the object's alarm to at_ms, replacing any earlier one. A time in the
 * past fires as soon as possible. Like Cloudflare's setAlarm, at_ms <= 0 is
 * DOBJ_INVALID_ARGUMENT and a class without an alarm entry (dobj_class.alarm) is
 * DOBJ_FAILED_PRECONDITION: nothing would ever run the alarm. */
DOBJ_API dobj_err dobj_alarm_set(dobj_ctx *ctx, int64_t at_ms);

/* dobj_alarm_get sets *at_ms to the object's alarm; DOBJ_NOT_FOUND when none is set,
 * DOBJ_INVALID_ARGUMENT when at_ms is NULL. */
DOBJ_API dobj_err dobj_alarm_get(dobj_ctx *ctx, int64_t *at_ms);

/* dobj_alarm_delete removes the object's alarm; *existed (may be NULL) says whether one was
 * set. */
DOBJ_API dobj_err dobj_alarm_delete(dobj_ctx *ctx, bool *existed);

/* dobj_alarm_info: about the alarm being run (Cloudflare's alarmInfo). */
typedef struct dobj_alarm_info {
	int64_t due_ms;  /* the time the alarm was set for */
	int retry_count; /* earlier failed runs of this alarm */
} dobj_alarm_info;

/* dobj_alarm_info_get describes the alarm whose turn this is; DOBJ_FAILED_PRECONDITION when
 * the turn is not an alarm's, DOBJ_INVALID_ARGUMENT when out is NULL. */
DOBJ_API dobj_err dobj_alarm_info_get(dobj_ctx *ctx, dobj_alarm_info *out);

/* dobj_parse_duration parses "<number><unit>" with unit s, m, h or d into *ms. Anything else
 * is DOBJ_INVALID_ARGUMENT with the seed's text in err: `Invalid duration format: "5x".
 * Expected format: <number><unit> where unit is s, m, h, or d.`, or for zero `Duration must be
 * positive, got: "0s"`. A number too large for int64 milliseconds is an invalid format. A NULL
 * s reads as "" (an invalid format); a NULL ms is DOBJ_INVALID_ARGUMENT `parse duration: ms is
 * NULL`. err may be NULL. Needs no turn: usable anywhere. */
DOBJ_API dobj_err dobj_parse_duration(const char *s, int64_t *ms, char *err, size_t errlen);

/* dobj_alarm_when: the seed's schedule, `{in: "5m"}` or `{at: ms}`; exactly one is given. */
typedef struct dobj_alarm_when {
	const char *in; /* a duration from now, or NULL */
	int64_t at_ms;  /* an absolute time, used when in is NULL */
} dobj_alarm_when;

/* dobj_alarm_schedule sets the alarm from a schedule (scheduleAlarm). A bad duration is
 * DOBJ_INVALID_ARGUMENT with dobj_parse_duration's text as the turn's message. */
DOBJ_API dobj_err dobj_alarm_schedule(dobj_ctx *ctx, const dobj_alarm_when *when);

/* dobj_alarm_action_fn: one named alarm action. */
typedef dobj_err (*dobj_alarm_action_fn)(dobj_ctx *ctx, void *arg);

typedef struct dobj_alarm_action {
	const char *name;
	dobj_alarm_action_fn fn;
} dobj_alarm_action;

/* dobj_alarm_router: the seed's createAlarmHandler. */
typedef struct dobj_alarm_router {
	const dobj_alarm_action *actions;
	size_t nactions;
	const char *action_key; /* NULL: "__alarm_action" */
	void *arg;              /* passed to every action */
} dobj_alarm_router;

/* dobj_alarm_route reads the action name from storage key action_key (stored as its UTF-8
 * bytes), runs that action, and deletes the key once the action succeeded. A NULL r, a NULL
 * actions with nactions > 0, or an action without a name or fn is DOBJ_INVALID_ARGUMENT
 * (`alarm route: actions[1] has no name`), checked before anything is read. A missing key is
 * DOBJ_FAILED_PRECONDITION `No alarm action found in storage at key "__alarm_action". Set the
 * action before scheduling the alarm.`; an unknown name is DOBJ_FAILED_PRECONDITION `Unknown
 * alarm action: "x". Valid actions: [check-expiry, send-reminder]`. An action's error is
 * returned as it is (and the key is kept, so a retry runs the action again). */
DOBJ_API dobj_err dobj_alarm_route(const dobj_alarm_router *r, dobj_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_ALARM_H */
