/* SPDX-License-Identifier: MIT */
/* report.h - dobj-bench's results and how they are printed: a human summary, and with --json
 * one JSON object as the last line of stdout. */
#ifndef DOBJ_BENCH_REPORT_H
#define DOBJ_BENCH_REPORT_H

#include <dobj/err.h>

#include "hist.h"
#include "options.h"

#define BENCH_NSTATUS (DOBJ_ERR_COUNT + 1) /* the last slot counts codes outside the map */

/* bench_result: what a run measured. Calls are measured when they start (or, open loop, are
 * scheduled to start) after the warm-up. */
typedef struct bench_result {
	bench_hist hist;    /* latency of every measured call that completed, ok or not */
	double secs;        /* from the end of warm-up to the last measured completion */
	uint64_t ok;        /* measured calls answered DOBJ_OK */
	uint64_t cap_hits;  /* open loop: calls that waited for a free in-flight slot */
	uint64_t unstarted; /* open loop: measured calls scheduled but never started */
	uint64_t errors[BENCH_NSTATUS];
	char *first_msg[BENCH_NSTATUS]; /* the first message seen per status; owned */
} bench_result;

/* bench_status_slot maps a status to its slot in errors[]. */
unsigned bench_status_slot(dobj_err st);

/* bench_report prints r for the run o described. */
void bench_report(const bench_opts *o, const bench_result *r);

#endif /* DOBJ_BENCH_REPORT_H */
