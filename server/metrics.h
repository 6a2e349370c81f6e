/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - counters and histograms for /metrics, and their Prometheus text. Every update
 * is a relaxed atomic add, so the hot path (a reply, a commit) never takes a lock; a scrape
 * reads the counters while they move, which Prometheus tolerates.
 */
#ifndef DOBJ_SERVER_METRICS_H
#define DOBJ_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>
#include <dobj/object.h>

#include "registry.h"

/* dobj__text: a growing text buffer; oom is set (and the text truncated) when out of memory. */
typedef struct dobj__text {
	char *p;
	size_t len, cap;
	bool oom;
} dobj__text;

void dobj__text_printf(dobj__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dobj__text_label writes s escaped as a Prometheus label value (\\, \" and \n). */
void dobj__text_label(dobj__text *t, const char *s);

/* dobj__metric_head writes a metric's HELP and TYPE lines. */
void dobj__metric_head(dobj__text *t, const char *name, const char *type, const char *help);

/* dobj__metric_u64 writes one unlabelled series of type ("gauge", "counter") with an integer
 * value. */
void dobj__metric_u64(dobj__text *t, const char *name, const char *type, const char *help,
                      uint64_t v);

/* dobj__metric_seconds writes one unlabelled gauge in seconds from a count of milliseconds,
 * which may be negative (an alarm turn that started before its due time, after the wall
 * clock stepped back). */
void dobj__metric_seconds(dobj__text *t, const char *name, const char *help, int64_t ms);

/* Histogram kinds: the bucket bounds and the unit of observed values. */
typedef enum dobj__hist_kind {
	DOBJ_HIST_SECONDS, /* observed in microseconds, written in seconds */
	DOBJ_HIST_SIZE,    /* observed and written as counts (turns per commit) */
} dobj__hist_kind;

#define DOBJ_HIST_BUCKETS 16

/* dobj__hist: bucket i counts observations above bound i-1 and up to bound i; the last one
 * counts those above every bound. Zero-initialised is empty. */
typedef struct dobj__hist {
	_Atomic uint64_t buckets[DOBJ_HIST_BUCKETS + 1];
	_Atomic uint64_t sum;
} dobj__hist;

void dobj__hist_observe(dobj__hist *h, dobj__hist_kind kind, uint64_t v);

/* dobj__hist_add adds from's counts to into (for totals over shards). */
void dobj__hist_add(dobj__hist *into, const dobj__hist *from);

/* dobj__hist_write writes name_bucket (cumulative, with le), name_sum and name_count;
 * labels is "" or `a="x",b="y"` (already escaped). */
void dobj__hist_write(dobj__text *t, const char *name, const char *labels, dobj__hist_kind kind,
                      const dobj__hist *h);

/* dobj__call_stats: calls by class, method and status, and their latency from receipt to
 * reply, for the registered classes plus one row for calls that named no known method. */
typedef struct dobj__call_stats dobj__call_stats;

/* dobj__call_stats_open sizes the table for reg, which must not change afterwards. */
dobj_err dobj__call_stats_open(dobj__call_stats **out, const dobj__registry *reg);

/* dobj__call_stats_record counts one reply. cls and m may be NULL (not routed). Thread-safe,
 * lock-free. */
void dobj__call_stats_record(dobj__call_stats *cs, const dobj__class_reg *cls, const dobj_method *m,
                             dobj_err status, int64_t elapsed_us);

/* dobj__call_stats_write writes dobj_calls_total and dobj_call_duration_seconds. */
void dobj__call_stats_write(dobj__call_stats *cs, dobj__text *t);

/* dobj__call_stats_close frees cs. NULL is allowed. */
void dobj__call_stats_close(dobj__call_stats *cs);

#endif /* DOBJ_SERVER_METRICS_H */
