// SPDX-License-Identifier: MIT
// options.c - dobj-bench's command line: parsing, validation and the scenarios (which class,
// method and payload "echo", "increment" and "get" stand for). Running is dobj-bench.c's.

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/client.h>

#include "counter/counter.pb-c.h"
#include "options.h"

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: dobj-bench --url URL --scenario echo|increment|get [options]\n"
	    "       dobj-bench --url URL --class C --method M [--payload-hex HEX] [options]\n"
	    "\n"
	    "Calls dobjd and reports calls/s, latency percentiles and errors by status.\n"
	    "Objects are named \"bench-<i>\", i from 0 to K-1, of the class. Scenarios:\n"
	    "  echo       dobj.Echo.echo, the server's built-in no-op (no storage)\n"
	    "  increment  Counter.increment by 1 (a durable write per call)\n"
	    "  get        Counter.get (a read)\n"
	    "\n"
	    "Objects (one of):\n"
	    "  --objects K       uniformly over K objects (default 10000)\n"
	    "  --hot             one object (same as --objects 1)\n"
	    "  --zipf S          zipfian over K objects with exponent S > 0 (object 0 hottest)\n"
	    "  --sequential      each of K objects once, in order, then stop (cold activations)\n"
	    "Load:\n"
	    "  --inflight N      calls in flight (default 64); with --rate, the cap\n"
	    "  --connections C   client sockets the calls are spread over (default 1)\n"
	    "  --rate R          open loop: start R calls/s on a fixed schedule; latency is\n"
	    "                    measured from each call's scheduled start\n"
	    "  --duration S      seconds measured (default 10)\n"
	    "  --count N         stop after N measured calls instead\n"
	    "  --warmup S        seconds run before measuring (default 1; 0 with --sequential)\n"
	    "  --timeout-ms MS   per-call deadline (default 30000)\n"
	    "TLS (tls+tcp:// URLs; PEM files):\n"
	    "  --tls-ca FILE     the CA of the server's certificate (required for tls+tcp://)\n"
	    "  --tls-server-name NAME  the name the server's certificate must carry (default:\n"
	    "                    the URL's host)\n"
	    "  --tls-cert FILE   a client certificate, for dobjd --tls-client-ca\n"
	    "  --tls-key FILE    its key (default: in the --tls-cert file)\n"
	    "Output:\n"
	    "  --json            print one JSON object as the last line of stdout\n");
}

static int
bad(const char *what, const char *val)
{
	if (val != NULL)
		fprintf(stderr, "dobj-bench: bad %s \"%s\"\n", what, val);
	else
		fprintf(stderr, "dobj-bench: %s\n", what);
	fprintf(stderr, "try 'dobj-bench --help'\n");
	return 2;
}

/* takes_value says whether a is an option that takes a value. */
static bool
takes_value(const char *a)
{
	static const char *const names[] = {
	    "--url",      "--scenario", "--class",          "--method",      "--payload-hex",
	    "--objects",  "--zipf",     "--inflight",       "--connections", "--timeout-ms",
	    "--duration", "--count",    "--warmup",         "--rate",        "--tls-ca",
	    "--tls-cert", "--tls-key",  "--tls-server-name"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(a, names[i]) == 0)
			return true;
	return false;
}

/* parse_u64 parses all of s as a decimal in [min, max]; -1 if it is not one. */
static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* parse_num parses all of s as a finite number in [min, max]; -1 if it is not one. */
static int
parse_num(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* parse_hex decodes s into o->payload; -1 for odd length, bad digits or too many bytes. */
static int
parse_hex(bench_opts *o, const char *s)
{
	size_t i, n = strlen(s);

	if (n % 2 != 0 || n / 2 > sizeof(o->payload) || strspn(s, "0123456789abcdefABCDEF") != n)
		return -1;
	for (i = 0; i < n; i += 2) {
		char pair[3] = {s[i], s[i + 1], '\0'};

		o->payload[i / 2] = (uint8_t)strtoul(pair, NULL, 16);
	}
	o->payload_len = n / 2;
	return 0;
}

/* set_scenario fills class, method and payload for a named scenario. */
static void
set_scenario(bench_opts *o)
{
	Dobj__Examples__Counter__IncrementRequest inc =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;

	/* echo and increment send the same bytes, so their requests are the same size */
	inc.amount = 1;
	o->payload_len = dobj__examples__counter__increment_request__pack(&inc, o->payload);
	if (strcmp(o->scenario, "echo") == 0) {
		o->class_name = "dobj.Echo";
		o->method = "echo";
	} else {
		o->class_name = "Counter";
		o->method = o->scenario;
		if (strcmp(o->scenario, "get") == 0)
			o->payload_len = 0; /* Counter.get takes Empty */
	}
}

int
bench_opts_parse(bench_opts *o, int argc, char **argv)
{
	const char *hex = NULL;
	bool hot = false, objects_set = false, warmup_set = false, duration_set = false;
	bool zipf = false, sequential = false;
	uint64_t v;
	int i;

	memset(o, 0, sizeof(*o));
	o->choice = BENCH_UNIFORM;
	o->objects = 10000;
	o->inflight = 64;
	o->connections = 1;
	o->duration_s = 10;
	o->warmup_s = 1;
	o->timeout_ms = 30000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 1;
		} else if (strcmp(a, "--hot") == 0) {
			hot = true;
			continue;
		} else if (strcmp(a, "--sequential") == 0) {
			sequential = true;
			continue;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strncmp(a, "--", 2) != 0) {
			return bad("argument", a);
		} else if (!takes_value(a)) {
			return bad("option", a);
		} else if (val == NULL) {
			fprintf(stderr, "dobj-bench: option %s needs a value\n", a);
			fprintf(stderr, "try 'dobj-bench --help'\n");
			return 2;
		}
		i++;
		if (strcmp(a, "--url") == 0) {
			o->url = val;
		} else if (strcmp(a, "--scenario") == 0) {
			if (strcmp(val, "echo") != 0 && strcmp(val, "increment") != 0 &&
			    strcmp(val, "get") != 0)
				return bad("--scenario (want echo, increment or get)", val);
			o->scenario = val;
		} else if (strcmp(a, "--class") == 0) {
			if (val[0] == '\0' || strlen(val) > DOBJ_CLASS_NAME_MAX)
				return bad("--class", val);
			o->class_name = val;
		} else if (strcmp(a, "--method") == 0) {
			if (val[0] == '\0')
				return bad("--method", val);
			o->method = val;
		} else if (strcmp(a, "--payload-hex") == 0) {
			if (parse_hex(o, val) != 0)
				return bad(
				    "--payload-hex (want pairs of hex digits, at most 64 KiB)",
				    val);
			hex = val;
		} else if (strcmp(a, "--objects") == 0) {
			if (parse_u64(val, 1, 100000000, &o->objects) != 0)
				return bad("--objects (want 1..100000000)", val);
			objects_set = true;
		} else if (strcmp(a, "--zipf") == 0) {
			if (parse_num(val, 0.01, 100, &o->zipf_s) != 0)
				return bad("--zipf (want an exponent from 0.01 to 100)", val);
			zipf = true;
		} else if (strcmp(a, "--inflight") == 0) {
			if (parse_u64(val, 1, 100000, &v) != 0)
				return bad("--inflight (want 1..100000)", val);
			o->inflight = (unsigned)v;
		} else if (strcmp(a, "--connections") == 0) {
			if (parse_u64(val, 1, 1024, &v) != 0)
				return bad("--connections (want 1..1024)", val);
			o->connections = (unsigned)v;
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (parse_u64(val, 1, 3600000, &v) != 0)
				return bad("--timeout-ms (want 1..3600000)", val);
			o->timeout_ms = (int)v;
		} else if (strcmp(a, "--duration") == 0) {
			if (parse_num(val, 0.001, 1e6, &o->duration_s) != 0)
				return bad("--duration (want seconds > 0)", val);
			duration_set = true;
		} else if (strcmp(a, "--count") == 0) {
			if (parse_u64(val, 1, UINT64_MAX / 2, &o->count) != 0)
				return bad("--count (want a number of calls >= 1)", val);
		} else if (strcmp(a, "--warmup") == 0) {
			if (parse_num(val, 0, 1e6, &o->warmup_s) != 0)
				return bad("--warmup (want seconds >= 0)", val);
			warmup_set = true;
		} else if (strcmp(a, "--tls-ca") == 0) {
			o->tls_ca = val;
		} else if (strcmp(a, "--tls-cert") == 0) {
			o->tls_cert = val;
		} else if (strcmp(a, "--tls-key") == 0) {
			o->tls_key = val;
		} else if (strcmp(a, "--tls-server-name") == 0) {
			o->tls_server_name = val;
		} else if (strcmp(a, "--rate") == 0) {
			if (parse_num(val, 0.001, 1e8, &o->rate) != 0)
				return bad("--rate (want calls per second > 0)", val);
		} else {
			return bad("option", a); /* in takes_value's list, not handled here */
		}
	}
	if (o->url == NULL)
		return bad("--url is required", NULL);
	if (hot && (objects_set || zipf || sequential))
		return bad("--hot excludes --objects, --zipf and --sequential", NULL);
	if (zipf && sequential)
		return bad("--zipf and --sequential exclude each other", NULL);
	o->choice = zipf ? BENCH_ZIPF : sequential ? BENCH_SEQUENTIAL : BENCH_UNIFORM;
	if (hot)
		o->objects = 1;
	if (o->connections > o->inflight)
		return bad("--connections must not exceed --inflight", NULL);
	if (o->count != 0 && duration_set)
		return bad("--count and --duration exclude each other", NULL);
	if (o->choice == BENCH_SEQUENTIAL) {
		if (o->count != 0 || duration_set)
			return bad("--sequential ends after K calls: no --count or --duration",
			           NULL);
		if (warmup_set && o->warmup_s > 0)
			return bad("--sequential calls each object once: no warm-up", NULL);
		o->warmup_s = 0;
		o->count = o->objects;
	}
	if (o->scenario != NULL) {
		if (o->class_name != NULL || o->method != NULL || hex != NULL)
			return bad("--scenario excludes --class, --method and --payload-hex", NULL);
		set_scenario(o);
	} else {
		if (o->class_name == NULL || o->method == NULL)
			return bad("give --scenario, or --class and --method", NULL);
		o->scenario = "raw";
	}
	return 0;
}

const char *
bench_choice_name(const bench_opts *o)
{
	switch (o->choice) {
	case BENCH_ZIPF:
		return "zipf";
	case BENCH_SEQUENTIAL:
		return "sequential";
	case BENCH_UNIFORM:
		break;
	}
	return o->objects == 1 ? "hot" : "uniform";
}
