// SPDX-License-Identifier: MIT
// report.c - dobj-bench's output: the summary for people and the JSON line for scripts
// (bench/run.sh reads it). The numbers come from dobj-bench.c's run.

#include <stdio.h>

#include "report.h"

static const double quantiles[] = {0.5, 0.9, 0.99, 0.999};
static const char *const quantile_names[] = {"p50", "p90", "p99", "p999"};
#define NQUANTILES (sizeof(quantiles) / sizeof(quantiles[0]))

unsigned
bench_status_slot(dobj_err st)
{
	return (unsigned)st < DOBJ_ERR_COUNT ? (unsigned)st : BENCH_NSTATUS - 1;
}

static const char *
status_name(unsigned slot)
{
	return slot < DOBJ_ERR_COUNT ? dobj_err_name((dobj_err)slot) : "OTHER";
}

/* json_str prints s as a JSON string. */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned)(unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static double
ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void
report_json(const bench_opts *o, const bench_result *r, uint64_t calls, double rate)
{
	bool first = true;
	unsigned i;

	printf("{\"scenario\":");
	json_str(o->scenario);
	printf(",\"class\":");
	json_str(o->class_name);
	printf(",\"method\":");
	json_str(o->method);
	printf(",\"choice\":\"%s\",\"objects\":%llu", bench_choice_name(o),
	       (unsigned long long)o->objects);
	if (o->choice == BENCH_ZIPF)
		printf(",\"zipf_s\":%g", o->zipf_s);
	printf(",\"inflight\":%u,\"connections\":%u,\"mode\":\"%s\"", o->inflight, o->connections,
	       o->rate > 0 ? "open" : "closed");
	if (o->rate > 0)
		printf(",\"rate_target\":%.1f,\"inflight_cap_hits\":%llu,\"unstarted\":%llu",
		       o->rate, (unsigned long long)r->cap_hits, (unsigned long long)r->unstarted);
	printf(",\"duration_s\":%.3f,\"calls\":%llu,\"ok\":%llu,\"calls_per_s\":%.1f", r->secs,
	       (unsigned long long)calls, (unsigned long long)r->ok, rate);
	for (i = 0; i < NQUANTILES; i++)
		printf(",\"%s_ms\":%.3f", quantile_names[i],
		       ms(bench_hist_quantile(&r->hist, quantiles[i])));
	printf(",\"max_ms\":%.3f,\"errors\":{", ms(r->hist.max));
	for (i = 0; i < BENCH_NSTATUS; i++) {
		if (r->errors[i] == 0)
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",", status_name(i),
		       (unsigned long long)r->errors[i]);
		first = false;
	}
	printf("}}\n");
}

void
bench_report(const bench_opts *o, const bench_result *r)
{
	uint64_t nerr = 0, calls;
	double rate;
	unsigned i;

	for (i = 0; i < BENCH_NSTATUS; i++)
		nerr += r->errors[i];
	calls = r->ok + nerr;
	rate = r->secs > 0 ? (double)calls / r->secs : 0.0;
	printf("dobj-bench: %s %s.%s, %s over %llu object%s, ", o->scenario, o->class_name,
	       o->method, bench_choice_name(o), (unsigned long long)o->objects,
	       o->objects == 1 ? "" : "s");
	if (o->rate > 0)
		printf("open loop at %.1f/s (cap %u in flight)", o->rate, o->inflight);
	else
		printf("closed loop, %u in flight", o->inflight);
	printf(" over %u connection%s, %.2f s after %.1f s warm-up\n", o->connections,
	       o->connections == 1 ? "" : "s", r->secs, o->warmup_s);
	printf("calls      %llu (%.1f/s), errors %llu\n", (unsigned long long)calls, rate,
	       (unsigned long long)nerr);
	printf("latency ms");
	for (i = 0; i < NQUANTILES; i++)
		printf("  %s %.3f", quantile_names[i],
		       ms(bench_hist_quantile(&r->hist, quantiles[i])));
	printf("  max %.3f\n", ms(r->hist.max));
	if (o->rate > 0 && r->cap_hits > 0)
		printf("warning    the in-flight cap (%u) was hit: %llu calls waited for a slot; "
		       "their wait counts in their latency\n",
		       o->inflight, (unsigned long long)r->cap_hits);
	if (r->unstarted > 0)
		printf("warning    the server did not keep up: %llu scheduled calls never started "
		       "(the in-flight cap held them back past the end)\n",
		       (unsigned long long)r->unstarted);
	for (i = 0; i < BENCH_NSTATUS; i++) {
		if (r->errors[i] == 0)
			continue;
		printf("error      %s: %llu%s%s\n", status_name(i),
		       (unsigned long long)r->errors[i], r->first_msg[i] ? ", first: " : "",
		       r->first_msg[i] ? r->first_msg[i] : "");
	}
	if (o->json)
		report_json(o, r, calls, rate);
}
