// SPDX-License-Identifier: MIT
// metrics_test.c - the Prometheus text of server/metrics.c: gauges in seconds written from
// milliseconds, negative ones included (a value Prometheus cannot parse fails the whole
// scrape).

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "metrics.h"

/* seconds_line returns the sample line dobj__metric_seconds writes for ms (malloc'd). */
static char *
seconds_line(int64_t ms)
{
	dobj__text t = {0};
	char *line;

	dobj__metric_seconds(&t, "x_seconds", "help", ms);
	cr_assert_not(t.oom);
	cr_assert_not_null(t.p);
	line = strstr(t.p, "\nx_seconds ");
	cr_assert_not_null(line, "no sample line in:\n%s", t.p);
	line = strdup(line + 1);
	free(t.p);
	return line;
}

static void
expect(int64_t ms, const char *want)
{
	char *got = seconds_line(ms);

	cr_expect_str_eq(got, want, "%lld ms", (long long)ms);
	free(got);
}

Test(metrics, seconds_from_milliseconds)
{
	expect(0, "x_seconds 0.000\n");
	expect(7, "x_seconds 0.007\n");
	expect(1500, "x_seconds 1.500\n");
	expect(1795912831687, "x_seconds 1795912831.687\n");
}

Test(metrics, negative_seconds_keep_one_sign)
{
	expect(-30, "x_seconds -0.030\n");
	expect(-1500, "x_seconds -1.500\n");
	expect(INT64_MIN, "x_seconds -9223372036854775.808\n");
}

Test(metrics, a_gauge_has_help_and_type)
{
	dobj__text t = {0};

	dobj__metric_seconds(&t, "x_seconds", "Some help.", 1);
	cr_assert_str_eq(t.p,
	                 "# HELP x_seconds Some help.\n# TYPE x_seconds gauge\nx_seconds 0.001\n");
	free(t.p);
}
