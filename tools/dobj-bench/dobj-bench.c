// SPDX-License-Identifier: MIT
// dobj-bench.c - dobj-bench: a closed-loop load tester that keeps N calls in flight against one
// dobjd and reports throughput, latency percentiles and errors by status.
// Flags, the call loop, the latency histogram and the report live here; the calls themselves are
// libdobj's (dobj_call_async), the work and its durability the server's.
//
// Threads and locks: main starts the calls, prints progress and waits; every completion runs on
// one of nng's threads. b->mtx is the only lock; it is never held across dobj_call_async(), so a
// completion that runs early never finds it taken by its own caller.

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dobj/client.h>

#include "counter/counter.pb-c.h"

#define BENCH_SUB_BITS 7 /* 128 sub-buckets per power of two: under 0.8% relative error */
#define BENCH_SUB (1u << BENCH_SUB_BITS)
#define BENCH_MAX_SHIFT 44 /* values up to 2^51 ns; larger ones land in the last bucket */
#define BENCH_NBUCKETS ((BENCH_MAX_SHIFT + 2) * BENCH_SUB)
#define BENCH_PAYLOAD_MAX 65536
#define BENCH_NSTATUS (DOBJ_ERR_COUNT + 1) /* the last slot counts codes outside the map */

typedef struct bench bench;

/* bench_slot: one of the N calls kept in flight. Only the slot's own current call touches it. */
typedef struct bench_slot {
	bench *b;
	dobj_client *client;
	uint64_t start_ns;
	uint64_t rng; /* xorshift64 state, never 0 */
} bench_slot;

/* bench_opts: the command line, validated. */
typedef struct bench_opts {
	const char *url;
	const char *scenario; /* "increment", "get" or "raw" */
	const char *class_name;
	const char *method;
	uint8_t payload[BENCH_PAYLOAD_MAX];
	size_t payload_len;
	unsigned objects;
	unsigned inflight;
	unsigned connections;
	double duration_s;
	double warmup_s;
	int timeout_ms;
	bool json;
} bench_opts;

struct bench {
	bench_opts o;
	dobj_client **clients;
	dobj_id *ids; /* o.objects ids, from the names "bench-<i>" */
	bench_slot *slots;
	uint64_t warm_ns; /* completions from here on are counted */

	pthread_mutex_t mtx; /* protects every field below */
	pthread_cond_t cv;   /* signalled when inflight drops to 0 while stopping */
	unsigned inflight;
	bool stopping;
	uint64_t calls;    /* counted completions, ok or not */
	uint64_t done_all; /* every completion, for the progress line */
	uint64_t last_ns;  /* when the last counted call completed */
	uint64_t max_ns;
	uint64_t buckets[BENCH_NBUCKETS];
	uint64_t errors[BENCH_NSTATUS];
	char *first_msg[BENCH_NSTATUS]; /* the first message seen per status, for the report */
};

static void bench_issue(bench_slot *slot);

static uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bench_bucket maps a latency to its log-linear bucket: exact below 2*BENCH_SUB ns, else one
 * of BENCH_SUB buckets per power of two. */
static unsigned
bench_bucket(uint64_t v)
{
	unsigned shift;

	if (v < 2 * BENCH_SUB)
		return (unsigned)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - BENCH_SUB_BITS;
	if (shift > BENCH_MAX_SHIFT)
		return BENCH_NBUCKETS - 1;
	return (shift + 1) * BENCH_SUB + (unsigned)((v >> shift) - BENCH_SUB);
}

/* bench_bucket_mid is the middle of bucket i's range of values, in ns. */
static double
bench_bucket_mid(unsigned i)
{
	unsigned shift;

	if (i < 2 * BENCH_SUB)
		return (double)i;
	shift = i / BENCH_SUB - 1;
	return (double)(((uint64_t)(i % BENCH_SUB + BENCH_SUB) << shift)) +
	       (double)((uint64_t)1 << shift) / 2.0;
}

/* bench_percentile_ms returns the latency at quantile q (0..1) in ms, never above the max.
 * Called with b->mtx held or after every call completed. */
static double
bench_percentile_ms(const bench *b, double q)
{
	uint64_t rank, seen = 0;
	double v;
	unsigned i;

	if (b->calls == 0)
		return 0.0;
	rank = (uint64_t)ceil(q * (double)b->calls);
	if (rank == 0)
		rank = 1;
	for (i = 0; i < BENCH_NBUCKETS; i++) {
		seen += b->buckets[i];
		if (seen >= rank)
			break;
	}
	v = bench_bucket_mid(i < BENCH_NBUCKETS ? i : BENCH_NBUCKETS - 1);
	if (v > (double)b->max_ns)
		v = (double)b->max_ns;
	return v / 1e6;
}

/* bench_call_cb records one completion and, unless the run is stopping, starts the slot's next
 * call. Runs on an nng thread. */
static void
bench_call_cb(void *arg, dobj_reply *reply)
{
	bench_slot *slot = arg;
	bench *b = slot->b;
	uint64_t now = bench_now_ns(), lat = now - slot->start_ns;
	unsigned st;
	bool again;

	pthread_mutex_lock(&b->mtx);
	b->done_all++;
	if (now >= b->warm_ns) {
		b->calls++;
		b->last_ns = now;
		b->buckets[bench_bucket(lat)]++;
		if (lat > b->max_ns)
			b->max_ns = lat;
		if (reply->status != DOBJ_OK) {
			st = (unsigned)reply->status < DOBJ_ERR_COUNT ? (unsigned)reply->status
			                                              : BENCH_NSTATUS - 1;
			b->errors[st]++;
			if (b->first_msg[st] == NULL && reply->message != NULL) {
				b->first_msg[st] = reply->message; /* taken from the reply */
				reply->message = NULL;
			}
		}
	}
	again = !b->stopping;
	if (!again && --b->inflight == 0)
		pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
	if (again)
		bench_issue(slot);
}

/* bench_issue starts the slot's next call on a random object. A call that cannot start is
 * counted under its status and retires the slot. */
static void
bench_issue(bench_slot *slot)
{
	bench *b = slot->b;
	dobj_call_opts copts = {.timeout_ms = b->o.timeout_ms};
	dobj_stub stub;
	dobj_err err;
	uint64_t x = slot->rng;
	unsigned left;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	slot->rng = x;
	stub.client = slot->client;
	snprintf(stub.class_name, sizeof(stub.class_name), "%s", b->o.class_name);
	stub.id = b->ids[x % b->o.objects];
	slot->start_ns = bench_now_ns();
	err = dobj_call_async(&stub, b->o.method, b->o.payload, b->o.payload_len, &copts,
	                      bench_call_cb, slot);
	if (err == DOBJ_OK)
		return;
	pthread_mutex_lock(&b->mtx);
	b->errors[(unsigned)err < DOBJ_ERR_COUNT ? (unsigned)err : BENCH_NSTATUS - 1]++;
	left = --b->inflight;
	if (left == 0)
		pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mtx);
	fprintf(stderr, "dobj-bench: could not start a call: %s; %u calls left in flight\n",
	        dobj_err_name(err), left);
}

static void
bench_usage(FILE *f)
{
	fprintf(f,
	        "usage: dobj-bench --url URL --scenario increment|get [options]\n"
	        "       dobj-bench --url URL --class C --method M [--payload-hex HEX] [options]\n"
	        "\n"
	        "Keeps N calls in flight against dobjd (closed loop) and reports calls/s and\n"
	        "latency. Objects are named \"bench-<i>\" of the class (Counter for scenarios).\n"
	        "\n"
	        "  --objects K       call K objects, chosen uniformly per call (default 10000)\n"
	        "  --hot             call one object (same as --objects 1)\n"
	        "  --inflight N      calls in flight (default 64)\n"
	        "  --connections C   clients (sockets) the calls are spread over (default 1)\n"
	        "  --duration S      seconds measured (default 10)\n"
	        "  --warmup S        seconds run before measuring (default 1)\n"
	        "  --timeout-ms MS   per-call deadline (default 30000)\n"
	        "  --json            print one JSON object as the last line of stdout\n");
}

/* bench_parse_uint parses all of s as a decimal in [min, max]; -1 if it is not one. */
static int
bench_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* bench_parse_secs parses all of s as a finite number of seconds >= min; -1 if it is not. */
static int
bench_parse_secs(const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > 1e6)
		return -1;
	*out = v;
	return 0;
}

/* bench_parse_hex decodes s into o->payload; -1 for odd length, bad digits or too many bytes. */
static int
bench_parse_hex(bench_opts *o, const char *s)
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

static int
bench_bad(const char *what, const char *val)
{
	if (what != NULL && val != NULL)
		fprintf(stderr, "dobj-bench: bad %s \"%s\"\n", what, val);
	else if (what != NULL)
		fprintf(stderr, "dobj-bench: %s\n", what);
	fprintf(stderr, "try 'dobj-bench --help'\n");
	return 2;
}

/* bench_parse fills o from argv; returns -1 after --help, 0 on success, else the exit code. */
static int
bench_parse(bench_opts *o, int argc, char **argv)
{
	Dobj__Examples__Counter__IncrementRequest inc =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	const char *hex = NULL;
	unsigned long v;
	bool hot = false, objects_set = false;
	int i;

	o->objects = 10000;
	o->inflight = 64;
	o->connections = 1;
	o->duration_s = 10;
	o->warmup_s = 1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			bench_usage(stdout);
			return -1;
		} else if (strcmp(a, "--hot") == 0) {
			hot = true;
			continue;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		} else if (strncmp(a, "--", 2) != 0) {
			return bench_bad("argument", a);
		} else if (val == NULL) {
			fprintf(stderr, "dobj-bench: option %s needs a value\n", a);
			return bench_bad(NULL, NULL);
		}
		i++;
		if (strcmp(a, "--url") == 0) {
			o->url = val;
		} else if (strcmp(a, "--scenario") == 0) {
			if (strcmp(val, "increment") != 0 && strcmp(val, "get") != 0)
				return bench_bad("--scenario (want increment or get)", val);
			o->scenario = val;
		} else if (strcmp(a, "--class") == 0) {
			if (val[0] == '\0' || strlen(val) > DOBJ_CLASS_NAME_MAX)
				return bench_bad("--class", val);
			o->class_name = val;
		} else if (strcmp(a, "--method") == 0) {
			if (val[0] == '\0')
				return bench_bad("--method", val);
			o->method = val;
		} else if (strcmp(a, "--payload-hex") == 0) {
			if (bench_parse_hex(o, val) != 0)
				return bench_bad(
				    "--payload-hex (want pairs of hex digits, at most 64 KiB)",
				    val);
			hex = val;
		} else if (strcmp(a, "--objects") == 0) {
			if (bench_parse_uint(val, 1, 100000000, &v) != 0)
				return bench_bad("--objects (want 1..100000000)", val);
			o->objects = (unsigned)v;
			objects_set = true;
		} else if (strcmp(a, "--inflight") == 0) {
			if (bench_parse_uint(val, 1, 100000, &v) != 0)
				return bench_bad("--inflight (want 1..100000)", val);
			o->inflight = (unsigned)v;
		} else if (strcmp(a, "--connections") == 0) {
			if (bench_parse_uint(val, 1, 1024, &v) != 0)
				return bench_bad("--connections (want 1..1024)", val);
			o->connections = (unsigned)v;
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (bench_parse_uint(val, 1, 3600000, &v) != 0)
				return bench_bad("--timeout-ms (want 1..3600000)", val);
			o->timeout_ms = (int)v;
		} else if (strcmp(a, "--duration") == 0) {
			if (bench_parse_secs(val, 0.001, &o->duration_s) != 0)
				return bench_bad("--duration (want seconds > 0)", val);
		} else if (strcmp(a, "--warmup") == 0) {
			if (bench_parse_secs(val, 0, &o->warmup_s) != 0)
				return bench_bad("--warmup (want seconds >= 0)", val);
		} else {
			return bench_bad("option", a);
		}
	}
	if (o->url == NULL)
		return bench_bad("--url is required", NULL);
	if (hot && objects_set)
		return bench_bad("--hot and --objects exclude each other", NULL);
	if (hot)
		o->objects = 1;
	if (o->connections > o->inflight)
		return bench_bad("--connections must not exceed --inflight", NULL);
	if (o->scenario != NULL) {
		if (o->class_name != NULL || o->method != NULL || hex != NULL)
			return bench_bad("--scenario excludes --class, --method and --payload-hex",
			                 NULL);
		o->class_name = "Counter";
		o->method = o->scenario;
		if (strcmp(o->scenario, "increment") == 0) {
			inc.amount = 1;
			o->payload_len =
			    dobj__examples__counter__increment_request__pack(&inc, o->payload);
		}
	} else {
		if (o->class_name == NULL || o->method == NULL)
			return bench_bad("give --scenario, or --class and --method", NULL);
		o->scenario = "raw";
	}
	return 0;
}

/* bench_json_str prints s as a JSON string (the names printed here need no escapes beyond
 * quotes, backslashes and control characters). */
static void
bench_json_str(const char *s)
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

/* bench_report prints the summary and, with --json, the JSON line last. */
static void
bench_report(const bench *b, double secs)
{
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};
	static const char *const qnames[] = {"p50", "p90", "p99", "p999"};
	const bench_opts *o = &b->o;
	double rate = secs > 0 ? (double)b->calls / secs : 0.0;
	uint64_t nerr = 0;
	unsigned i;
	bool first = true;

	for (i = 0; i < BENCH_NSTATUS; i++)
		nerr += b->errors[i];
	printf("dobj-bench: %s %s.%s on %u object%s, %u in flight over %u connection%s, "
	       "%.1f s after %.1f s warm-up\n",
	       o->scenario, o->class_name, o->method, o->objects, o->objects == 1 ? "" : "s",
	       o->inflight, o->connections, o->connections == 1 ? "" : "s", secs, o->warmup_s);
	printf("calls      %llu (%.1f/s), errors %llu\n", (unsigned long long)b->calls, rate,
	       (unsigned long long)nerr);
	printf("latency ms");
	for (i = 0; i < 4; i++)
		printf("  %s %.3f", qnames[i], bench_percentile_ms(b, qs[i]));
	printf("  max %.3f\n", (double)b->max_ns / 1e6);
	for (i = 0; i < BENCH_NSTATUS; i++) {
		if (b->errors[i] == 0)
			continue;
		printf("error      %s: %llu%s%s\n",
		       i < DOBJ_ERR_COUNT ? dobj_err_name((dobj_err)i) : "OTHER",
		       (unsigned long long)b->errors[i], b->first_msg[i] ? ", first: " : "",
		       b->first_msg[i] ? b->first_msg[i] : "");
	}
	if (!o->json)
		return;
	printf("{\"scenario\":");
	bench_json_str(o->scenario);
	printf(",\"class\":");
	bench_json_str(o->class_name);
	printf(",\"method\":");
	bench_json_str(o->method);
	printf(",\"objects\":%u,\"inflight\":%u,\"connections\":%u,\"duration_s\":%.3f,"
	       "\"calls\":%llu,\"calls_per_s\":%.1f",
	       o->objects, o->inflight, o->connections, secs, (unsigned long long)b->calls, rate);
	for (i = 0; i < 4; i++)
		printf(",\"%s_ms\":%.3f", qnames[i], bench_percentile_ms(b, qs[i]));
	printf(",\"max_ms\":%.3f,\"errors\":{", (double)b->max_ns / 1e6);
	for (i = 0; i < BENCH_NSTATUS; i++) {
		if (b->errors[i] == 0)
			continue;
		printf("%s\"%s\":%llu", first ? "" : ",",
		       i < DOBJ_ERR_COUNT ? dobj_err_name((dobj_err)i) : "OTHER",
		       (unsigned long long)b->errors[i]);
		first = false;
	}
	printf("}}\n");
}

/* bench_setup opens the clients, computes the object ids and seeds the slots. */
static dobj_err
bench_setup(bench *b)
{
	dobj_client_opts copts = {.url = b->o.url};
	char name[32];
	dobj_stub stub;
	dobj_err err;
	unsigned i;

	b->clients = calloc(b->o.connections, sizeof(*b->clients));
	b->ids = calloc(b->o.objects, sizeof(*b->ids));
	b->slots = calloc(b->o.inflight, sizeof(*b->slots));
	if (b->clients == NULL || b->ids == NULL || b->slots == NULL) {
		fprintf(stderr, "dobj-bench: out of memory for %u objects\n", b->o.objects);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	for (i = 0; i < b->o.connections; i++) {
		if ((err = dobj_client_open(&b->clients[i], &copts)) != DOBJ_OK) {
			fprintf(stderr, "dobj-bench: could not open a client for %s: %s\n",
			        b->o.url, dobj_err_str(err));
			return err;
		}
	}
	for (i = 0; i < b->o.objects; i++) {
		snprintf(name, sizeof(name), "bench-%u", i);
		if ((err = dobj_stub_from_name(b->clients[0], b->o.class_name, name, &stub)) !=
		    DOBJ_OK) {
			fprintf(stderr, "dobj-bench: could not make a stub for %s %s: %s\n",
			        b->o.class_name, name, dobj_err_str(err));
			return err;
		}
		b->ids[i] = stub.id;
	}
	for (i = 0; i < b->o.inflight; i++) {
		b->slots[i].b = b;
		b->slots[i].client = b->clients[i % b->o.connections];
		b->slots[i].rng = 0x9e3779b97f4a7c15ull * (i + 1) ^ bench_now_ns();
		if (b->slots[i].rng == 0)
			b->slots[i].rng = 1;
	}
	return DOBJ_OK;
}

/* bench_run starts the calls, waits out warm-up and duration, stops issuing and waits for the
 * calls in flight. Returns the measured seconds: from the end of warm-up to the last counted
 * completion, so the calls drained after the duration count with the time they took. */
static double
bench_run(bench *b)
{
	bool tty = isatty(STDERR_FILENO);
	uint64_t start = bench_now_ns(), end, prev = 0;
	struct timespec ts;
	unsigned i;

	b->warm_ns = start + (uint64_t)(b->o.warmup_s * 1e9);
	end = b->warm_ns + (uint64_t)(b->o.duration_s * 1e9);
	b->inflight = b->o.inflight;
	for (i = 0; i < b->o.inflight; i++)
		bench_issue(&b->slots[i]);

	pthread_mutex_lock(&b->mtx);
	for (uint64_t tick = start + 1000000000u; b->inflight > 0; tick += 1000000000u) {
		uint64_t wake = tick < end ? tick : end;

		ts.tv_sec = (time_t)(wake / 1000000000u); /* same clock as b->cv's */
		ts.tv_nsec = (long)(wake % 1000000000u);
		while (bench_now_ns() < wake && b->inflight > 0)
			if (pthread_cond_timedwait(&b->cv, &b->mtx, &ts) == ETIMEDOUT)
				break;
		if (tty && wake == tick)
			fprintf(stderr, "\r%s %llu calls, %llu/s, %u in flight   ",
			        tick <= b->warm_ns ? "warm-up" : "running",
			        (unsigned long long)b->done_all,
			        (unsigned long long)(b->done_all - prev), b->inflight);
		prev = b->done_all;
		if (bench_now_ns() >= end)
			break;
	}
	b->stopping = true;
	while (b->inflight > 0)
		pthread_cond_wait(&b->cv, &b->mtx);
	pthread_mutex_unlock(&b->mtx);
	if (tty)
		fprintf(stderr, "\n");
	return b->last_ns > b->warm_ns ? (double)(b->last_ns - b->warm_ns) / 1e9 : 0.0;
}

int
main(int argc, char **argv)
{
	pthread_condattr_t ca;
	bench *b;
	double secs;
	unsigned i;
	int rc = 0;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		fprintf(stderr, "dobj-bench: out of memory\n");
		return 1;
	}
	if ((rc = bench_parse(&b->o, argc, argv)) != 0) {
		free(b);
		return rc < 0 ? 0 : rc;
	}
	pthread_mutex_init(&b->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);

	if (bench_setup(b) != DOBJ_OK) {
		rc = 1;
	} else {
		secs = bench_run(b);
		bench_report(b, secs);
	}
	for (i = 0; b->clients != NULL && i < b->o.connections; i++)
		dobj_client_close(b->clients[i]);
	for (i = 0; i < BENCH_NSTATUS; i++)
		free(b->first_msg[i]);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mtx);
	free(b->slots);
	free(b->ids);
	free(b->clients);
	free(b);
	return rc;
}
