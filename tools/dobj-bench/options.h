/* SPDX-License-Identifier: MIT */
/* options.h - dobj-bench's command line: what to call, on which objects, how hard, how long. */
#ifndef DOBJ_BENCH_OPTIONS_H
#define DOBJ_BENCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_PAYLOAD_MAX 65536

/* bench_choice: how each call picks its object among the K named "bench-<i>". */
typedef enum bench_choice {
	BENCH_UNIFORM,    /* uniformly at random */
	BENCH_ZIPF,       /* zipfian with exponent zipf_s: object 0 the hottest */
	BENCH_SEQUENTIAL, /* 0, 1, ..., K-1, each once, then the run ends */
} bench_choice;

/* bench_opts: the command line, validated. */
typedef struct bench_opts {
	const char *url;
	const char *scenario; /* "echo", "increment", "get", or "raw" for --class/--method */
	const char *class_name;
	const char *method;
	uint8_t payload[BENCH_PAYLOAD_MAX];
	size_t payload_len;
	bench_choice choice;
	uint64_t objects;
	double zipf_s;
	unsigned inflight;    /* closed loop: calls kept in flight; open loop: the cap */
	unsigned connections; /* clients (nng sockets) the calls are spread over */
	double duration_s;    /* measured seconds, unless count is set */
	uint64_t count;       /* measured calls; 0 = run for duration_s */
	double warmup_s;
	double rate; /* calls/s on a fixed schedule (open loop); 0 = closed loop */
	int timeout_ms;
	bool json;
	/* tls+tcp:// (dobj_client_opts' TLS fields) */
	const char *tls_ca, *tls_server_name, *tls_cert, *tls_key;
} bench_opts;

/* bench_opts_parse fills o from argv. Returns 0 to run, 1 after printing --help (exit 0), or
 * 2 after printing what is wrong to stderr (exit 2). */
int bench_opts_parse(bench_opts *o, int argc, char **argv);

/* bench_choice_name names o's object choice: "uniform", "zipf", "sequential" or "hot". */
const char *bench_choice_name(const bench_opts *o);

#endif /* DOBJ_BENCH_OPTIONS_H */
