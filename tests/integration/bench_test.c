// SPDX-License-Identifier: MIT
// bench_test.c - dobj-bench against a real dobjd: a closed-loop run's JSON line, and an
// open-loop run at a rate slower than its duration, which must end on time and report its
// calls over the whole measured window.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "stack.h"

FX_STACK_SUITE(bench, "dobjd", 120);

/* json_num returns the number after "key": in the last line of out (-1 if missing). */
static double
json_num(const char *out, const char *key)
{
	const char *line = out, *p;
	char pat[64];

	for (p = strchr(out, '\n'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '\n'))
		line = p + 1;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(line, pat)) == NULL)
		return -1;
	return strtod(p + strlen(pat), NULL);
}

Test(bench, a_closed_loop_run_prints_its_json_line)
{
	const char *argv[] = {
	    fx_bin("dobj-bench"), "--url", srv.url,  "--scenario", "echo", "--inflight", "4",
	    "--duration",         "1",     "--json", NULL};
	static char out[1 << 16], err[4096];
	int rc = fx_run(argv, out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 0, "dobj-bench exited %d: %s", rc, err);
	cr_assert_gt(json_num(out, "calls"), 0, "%s", out);
	cr_assert_gt(json_num(out, "calls_per_s"), 0, "%s", out);
	cr_assert_geq(json_num(out, "p99_ms"), json_num(out, "p50_ms"), "%s", out);
	cr_assert(strstr(out, "\"errors\":{}") != NULL, "%s", out);
}

Test(bench, a_run_whose_every_call_fails_exits_2_with_its_report)
{
	const char *argv[] = {fx_bin("dobj-bench"),
	                      "--url",
	                      srv.url,
	                      "--class",
	                      "NoSuchClass",
	                      "--method",
	                      "get",
	                      "--payload-hex",
	                      "",
	                      "--duration",
	                      "1",
	                      "--warmup",
	                      "0",
	                      "--json",
	                      NULL};
	static char out[1 << 16], err[4096];
	int rc = fx_run(argv, out, sizeof(out), err, sizeof(err));

	cr_assert_eq(rc, 2, "dobj-bench exited %d: %s", rc, err);
	cr_assert(strstr(err, "every measured call failed") != NULL, "%s", err);
	cr_assert(strstr(out, "\"NOT_FOUND\"") != NULL, "%s", out);
}

Test(bench, an_open_loop_run_slower_than_its_duration_ends_on_time)
{
	/* one call every 10 s for 1 s: the first call at once, then nothing until the end */
	const char *argv[] = {
	    fx_bin("dobj-bench"), "--url", srv.url,    "--scenario", "echo",   "--rate", "0.1",
	    "--duration",         "1",     "--warmup", "0",          "--json", NULL};
	static char out[1 << 16], err[4096];
	int64_t t0 = fx_now_ms();
	int rc = fx_run(argv, out, sizeof(out), err, sizeof(err));
	int64_t took = fx_now_ms() - t0;
	double secs = json_num(out, "duration_s");

	cr_assert_eq(rc, 0, "dobj-bench exited %d: %s", rc, err);
	cr_assert_lt(took, 6000, "a 1 s run took %lld ms (it waited for the next call's time)",
	             (long long)took);
	cr_assert_eq(json_num(out, "calls"), 1, "%s", out);
	cr_assert_geq(secs, 0.9, "measured over %.3f s, not the 1 s window: %s", secs, out);
	cr_assert_lt(json_num(out, "calls_per_s"), 2, "%s", out);
}

/* A bad command line exits 2 and names what is wrong: an unknown option as such, wherever it
 * stands (last, it used to be reported as an option that needs a value), and a known option
 * without its value. */
Test(bench, a_bad_command_line_names_the_option)
{
	static const struct {
		const char *args[4];
		const char *want;
	} cases[] = {
	    {{"--bogus"}, "bad option \"--bogus\""},
	    {{"--bogus", "1"}, "bad option \"--bogus\""},
	    {{"--url", "tcp://127.0.0.1:1", "--inflight"}, "option --inflight needs a value"},
	};
	static char out[4096], err[4096];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[6] = {fx_bin("dobj-bench")};
		int rc;

		for (int j = 0; j < 4 && cases[i].args[j] != NULL; j++)
			argv[j + 1] = cases[i].args[j];
		rc = fx_run(argv, out, sizeof(out), err, sizeof(err));
		cr_assert_eq(rc, 2, "case %zu: exit %d: %s", i, rc, err);
		cr_assert(strstr(err, cases[i].want) != NULL, "case %zu: %s", i, err);
		cr_assert(strstr(err, "needs a value") == NULL || i == 2, "case %zu: %s", i, err);
	}
}
