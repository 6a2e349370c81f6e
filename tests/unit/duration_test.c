// SPDX-License-Identifier: MIT
// duration_test.c - dobj_parse_duration (server/alarm_helpers.c) against the seed's
// /^(\d+)(s|m|h|d)$/ and its texts, and dobj_alarm_schedule's refusal of a bad duration.

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <dobj/alarm.h>

#include "turn.h"

static void
expect_ms(const char *s, int64_t want)
{
	char err[256];
	int64_t ms = -1;

	cr_assert_eq(dobj_parse_duration(s, &ms, err, sizeof(err)), DOBJ_OK, "%s: %s", s, err);
	cr_assert_eq(ms, want, "%s: %lld", s, (long long)ms);
	cr_assert_str_eq(err, "");
}

static void
expect_invalid(const char *s, const char *want)
{
	char err[256];
	int64_t ms = -1;

	cr_assert_eq(dobj_parse_duration(s, &ms, err, sizeof(err)), DOBJ_INVALID_ARGUMENT, "%s", s);
	cr_assert_eq(ms, 0);
	cr_assert_str_eq(err, want);
}

#define BAD_FORMAT(s)                                                                           \
	"Invalid duration format: \"" s "\". Expected format: <number><unit> where unit is s, " \
	"m, h, or d."

Test(duration, seed_examples)
{
	expect_ms("30s", 30000);
	expect_ms("5m", 300000);
	expect_ms("1h", 3600000);
	expect_ms("2d", 172800000);
	expect_ms("1d", 86400000);
	expect_ms("007s", 7000);
}

Test(duration, largest_values)
{
	expect_ms("9223372036854775s", 9223372036854775000);
	expect_ms("106751991167d", 106751991167 * 86400000LL);
}

Test(duration, malformed_input_gets_the_seed_text)
{
	static const char *const bad[] = {"",    "5",   "5x",  "-5m",  "1.5h",
	                                  " 5m", "5m ", "+5m", "5S",   "m",
	                                  "5mm", "5ms", "5 m", "1e3s", "\xd9\xa5m"};
	char want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want),
		         "Invalid duration format: \"%s\". Expected format: <number><unit> where "
		         "unit is s, m, h, or d.",
		         bad[i]);
		expect_invalid(bad[i], want);
	}
	expect_invalid("5x", BAD_FORMAT("5x"));
	expect_invalid(NULL, BAD_FORMAT(""));
}

Test(duration, zero_is_not_positive)
{
	expect_invalid("0s", "Duration must be positive, got: \"0s\"");
	expect_invalid("000d", "Duration must be positive, got: \"000d\"");
}

Test(duration, overflow_is_an_invalid_format)
{
	/* too large for int64 as a number, and too large once in milliseconds */
	expect_invalid("99999999999999999999s", BAD_FORMAT("99999999999999999999s"));
	expect_invalid("9223372036854775808s", BAD_FORMAT("9223372036854775808s"));
	expect_invalid("9223372036854776s", BAD_FORMAT("9223372036854776s"));
	expect_invalid("106751991168d", BAD_FORMAT("106751991168d"));
}

Test(duration, error_buffer_is_optional_and_truncated)
{
	char err[8];
	int64_t ms;

	cr_assert_eq(dobj_parse_duration("5x", &ms, NULL, 0), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_parse_duration("5x", &ms, err, sizeof(err)), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(err, "Invalid");
}

Test(duration, null_output_is_invalid_not_a_crash)
{
	char err[64];

	cr_assert_eq(dobj_parse_duration("5m", NULL, err, sizeof(err)), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(err, "parse duration: ms is NULL");
	cr_assert_eq(dobj_parse_duration("5m", NULL, NULL, 0), DOBJ_INVALID_ARGUMENT);
}

/* A database-free turn, for dobj_alarm_schedule, of a class with an alarm entry. */
static fx_turn f;

static void
setup(void)
{
	fx_turn_open_alarmed(&f, "T", "schedule");
}

static void
teardown(void)
{
	fx_turn_close(&f);
}

Test(duration, schedule_in_a_duration_or_at_a_time, .init = setup, .fini = teardown)
{
	int64_t before = dobj_ctx_now_ms(&f.ctx), after, at;

	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.in = "5m"}), DOBJ_OK, "%s",
	             dobj_ctx_errmsg(&f.ctx));
	after = dobj_ctx_now_ms(&f.ctx);
	cr_assert_eq(dobj_alarm_get(&f.ctx, &at), DOBJ_OK);
	cr_assert(at >= before + 300000 && at <= after + 300000, "%lld", (long long)at);
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.at_ms = 1767225599000}),
	             DOBJ_OK);
	cr_assert_eq(dobj_alarm_get(&f.ctx, &at), DOBJ_OK);
	cr_assert_eq(at, 1767225599000, "setting again replaces the alarm");
}

Test(duration, schedule_refuses_a_bad_duration, .init = setup, .fini = teardown)
{
	int64_t at;

	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.in = "1.5h"}),
	             DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), BAD_FORMAT("1.5h"));
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.in = "0m"}),
	             DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "Duration must be positive, got: \"0m\"");
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, &(dobj_alarm_when){.in = "106751991167d"}),
	             DOBJ_INVALID_ARGUMENT, "a valid duration that ends past the largest time");
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx),
	                 "schedule alarm: \"106751991167d\" from now is past the largest time");
	cr_assert_eq(dobj_alarm_schedule(&f.ctx, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_alarm_get(&f.ctx, &at), DOBJ_NOT_FOUND, "no alarm was set");
}
