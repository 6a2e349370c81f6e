// SPDX-License-Identifier: MIT
// alarm_test.c - the object side of alarms (server/alarm.c, server/alarm_helpers.c) on a
// database-free turn: what dobj_alarm_set and dobj_alarm_schedule refuse, as Cloudflare's
// setAlarm does.

#include <string.h>

#include <criterion/criterion.h>
#include <dobj/alarm.h>

#include "turn.h"

static fx_turn f;

static void
setup(void)
{
	fx_turn_open_alarmed(&f, "T", "set");
}

static void
teardown(void)
{
	fx_turn_close(&f);
}

TestSuite(alarm, .init = setup, .fini = teardown);

/* Cloudflare: "Your Durable Object class must have an alarm() handler in order to call
 * setAlarm()". Without the check the alarm is set, and dropped with a server-side warning
 * when it fires. */
Test(alarm, set_refuses_a_class_without_an_alarm_entry)
{
	int64_t at;

	f.cls.alarm = NULL;
	cr_assert_eq(dobj_alarm_set(&f.ctx, 1767225599000), DOBJ_FAILED_PRECONDITION);
	cr_assert(strstr(dobj_ctx_errmsg(&f.ctx), "alarm") != NULL, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_eq(dobj_alarm_get(&f.ctx, &at), DOBJ_NOT_FOUND, "nothing was set");
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.in = "5m"}),
	             DOBJ_FAILED_PRECONDITION);
}

/* Cloudflare: "setAlarm() cannot be called with an alarm time <= 0"; a zeroed
 * dobj_alarm_when (neither `in` nor `at_ms` given) must not schedule an alarm at the epoch. */
Test(alarm, set_refuses_a_time_that_is_not_positive)
{
	int64_t at;

	cr_assert_eq(dobj_alarm_set(&f.ctx, 0), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_alarm_set(&f.ctx, -1), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){0}), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_alarm_get(&f.ctx, &at), DOBJ_NOT_FOUND, "nothing was set");
	cr_assert_eq(dobj_alarm_set(&f.ctx, 1), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.ctx));
}

Test(alarm, null_output_is_invalid_not_a_crash)
{
	cr_assert_eq(dobj_alarm_set(&f.ctx, 1767225599000), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_eq(dobj_alarm_get(&f.ctx, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "alarm_get: at_ms is NULL");
	cr_assert_eq(dobj_alarm_info_get(&f.ctx, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "alarm_info: out is NULL");
}
