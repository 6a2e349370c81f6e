// SPDX-License-Identifier: MIT
// alarm_router_test.c - dobj_alarm_route (server/alarm_helpers.c) on a fully loaded object
// without a database: dispatch by stored name, the seed's texts, when the key is cleared.

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <dobj/alarm.h>
#include <dobj/storage.h>

#include "turn.h"

typedef struct fixture {
	fx_turn t;
	char ran[256]; /* the actions run, comma-separated */
	void *arg;     /* the arg the last action saw */
	dobj_err fail; /* what send-reminder returns */
} fixture;

static fixture f;

static void
setup(void)
{
	memset(&f, 0, sizeof(f));
	fx_turn_open(&f.t, "T", "alarm", NULL);
}

static void
teardown(void)
{
	fx_turn_close(&f.t);
}

TestSuite(alarm_router, .init = setup, .fini = teardown);

static void
ran(const char *name, void *arg)
{
	size_t off = strlen(f.ran);

	snprintf(f.ran + off, sizeof(f.ran) - off, "%s%s", off ? "," : "", name);
	f.arg = arg;
}

static dobj_err
check_expiry(dobj_ctx *ctx, void *arg)
{
	ran("check-expiry", arg);
	return dobj_storage_put(ctx, "status", "expired", 7);
}

static dobj_err
send_reminder(dobj_ctx *ctx, void *arg)
{
	ran("send-reminder", arg);
	dobj_storage_put(ctx, "reminded", "1", 1);
	if (f.fail != DOBJ_OK)
		return dobj_ctx_errorf(ctx, f.fail, "mail server unreachable");
	return DOBJ_OK;
}

/* follow_up schedules the next step: sets the action key again, as a recurring job would. */
static dobj_err
follow_up(dobj_ctx *ctx, void *arg)
{
	ran("follow-up", arg);
	return dobj_storage_put(ctx, "__alarm_action", "check-expiry", 12);
}

static const dobj_alarm_action actions[] = {
    {"check-expiry", check_expiry},
    {"send-reminder", send_reminder},
};

static int router_arg;

static const dobj_alarm_router router = {.actions = actions, .nactions = 2, .arg = &router_arg};

static void
set_action(const char *key, const char *name)
{
	cr_assert_eq(dobj_storage_put(&f.t.ctx, key, name, strlen(name)), DOBJ_OK);
}

static bool
has(const char *key)
{
	dobj_bytes v;

	return dobj_storage_get(&f.t.ctx, key, &v) == DOBJ_OK;
}

Test(alarm_router, dispatches_to_the_named_action)
{
	set_action("__alarm_action", "send-reminder");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.t.ctx));
	cr_assert_str_eq(f.ran, "send-reminder");
	cr_assert_eq(f.arg, &router_arg);
	cr_assert(has("reminded"));
	cr_assert(!has("__alarm_action"), "the key is cleared after success");

	set_action("__alarm_action", "check-expiry");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(f.ran, "send-reminder,check-expiry");
	cr_assert(!has("__alarm_action"));
}

Test(alarm_router, missing_key_gets_the_seed_text)
{
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "No alarm action found in storage at key \"__alarm_action\". Set the "
	                 "action before scheduling the alarm.");
	cr_assert_str_eq(f.ran, "");
}

Test(alarm_router, unknown_action_gets_the_seed_text)
{
	set_action("__alarm_action", "x");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(
	    dobj_ctx_errmsg(&f.t.ctx),
	    "Unknown alarm action: \"x\". Valid actions: [check-expiry, send-reminder]");
	cr_assert(has("__alarm_action"));

	/* names match whole: a prefix is unknown too */
	set_action("__alarm_action", "check");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(
	    dobj_ctx_errmsg(&f.t.ctx),
	    "Unknown alarm action: \"check\". Valid actions: [check-expiry, send-reminder]");
	/* an empty name is no action at all, as the seed's `!action` has it */
	set_action("__alarm_action", "");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "No alarm action found in storage at key \"__alarm_action\". Set the "
	                 "action before scheduling the alarm.");
	cr_assert_str_eq(f.ran, "");
}

Test(alarm_router, failing_action_keeps_the_key)
{
	f.fail = DOBJ_UNAVAILABLE;
	set_action("__alarm_action", "send-reminder");
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_UNAVAILABLE);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx), "mail server unreachable");
	cr_assert(has("__alarm_action"), "a retry runs the action again");
	cr_assert(!has("reminded"), "the action's writes are undone with it");

	f.fail = DOBJ_OK;
	cr_assert_eq(dobj_alarm_route(&router, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(f.ran, "send-reminder,send-reminder");
	cr_assert(!has("__alarm_action"));
}

Test(alarm_router, custom_action_key)
{
	dobj_alarm_router r = router;

	r.action_key = "next_job";
	set_action("__alarm_action", "send-reminder");
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "No alarm action found in storage at key \"next_job\". Set the action "
	                 "before scheduling the alarm.");
	set_action("next_job", "check-expiry");
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(f.ran, "check-expiry");
	cr_assert(!has("next_job"));
	cr_assert(has("__alarm_action"), "the default key is not the router's");
}

Test(alarm_router, action_may_set_the_next_action)
{
	static const dobj_alarm_action chain[] = {{"follow-up", follow_up},
	                                          {"check-expiry", check_expiry}};
	dobj_alarm_router r = {.actions = chain, .nactions = 2};
	dobj_bytes v;

	set_action("__alarm_action", "follow-up");
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_OK);
	cr_assert_eq(dobj_storage_get(&f.t.ctx, "__alarm_action", &v), DOBJ_OK,
	             "the action's own write of the key stays");
	cr_assert_eq(v.len, 12);
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(f.ran, "follow-up,check-expiry");
	cr_assert(!has("__alarm_action"));
}

Test(alarm_router, null_router_or_action_is_invalid_not_a_crash)
{
	static const dobj_alarm_action unnamed[] = {{"check-expiry", check_expiry},
	                                            {NULL, send_reminder}};
	static const dobj_alarm_action no_fn[] = {{"check-expiry", check_expiry},
	                                          {"send-reminder", NULL}};
	dobj_alarm_router r = {.actions = NULL, .nactions = 2};

	set_action("__alarm_action", "send-reminder");
	cr_assert_eq(dobj_alarm_route(NULL, &f.t.ctx), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx), "alarm route: router is NULL");
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "alarm route: actions is NULL but nactions is 2");
	r.actions = unnamed;
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx), "alarm route: actions[1] has no name");
	r.actions = no_fn;
	cr_assert_eq(dobj_alarm_route(&r, &f.t.ctx), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "alarm route: actions[1] (\"send-reminder\") has no function");
	cr_assert_str_eq(f.ran, "");
	cr_assert(has("__alarm_action"), "a refused router leaves the action for a retry");
}
