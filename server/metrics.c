// SPDX-License-Identifier: MIT
// metrics.c - histograms, the calls table (class x method x status, latency per method) and
// the Prometheus text they render to. What each metric means, and who updates it, is decided
// by the modules that own the numbers (listener.c, shard.c, pgstore.c); http.c serves them.

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Bounds per kind: seconds buckets in microseconds (100 us to 10 s), sizes in turns. */
static const uint64_t hist_bounds[2][DOBJ_HIST_BUCKETS] = {
    [DOBJ_HIST_SECONDS] = {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
                           500000, 1000000, 2500000, 5000000, 10000000},
    [DOBJ_HIST_SIZE] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
                        32768},
};

void
dobj__text_printf(dobj__text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->oom)
		return;
	for (;;) {
		size_t room = t->cap - t->len;
		char *p;

		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->oom = true;
			return;
		}
		if ((size_t)n < room) {
			t->len += (size_t)n;
			return;
		}
		if ((p = realloc(t->p, t->cap * 2 + (size_t)n + 1)) == NULL) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = t->cap * 2 + (size_t)n + 1;
	}
}

void
dobj__text_label(dobj__text *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			dobj__text_printf(t, "\\%c", *s);
		else if (*s == '\n')
			dobj__text_printf(t, "\\n");
		else
			dobj__text_printf(t, "%c", *s);
	}
}

void
dobj__metric_head(dobj__text *t, const char *name, const char *type, const char *help)
{
	dobj__text_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
dobj__metric_u64(dobj__text *t, const char *name, const char *type, const char *help, uint64_t v)
{
	dobj__metric_head(t, name, type, help);
	dobj__text_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

void
dobj__metric_seconds(dobj__text *t, const char *name, const char *help, int64_t ms)
{
	/* the magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64_t */
	uint64_t mag = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;

	dobj__metric_head(t, name, "gauge", help);
	dobj__text_printf(t, "%s %s%llu.%03llu\n", name, ms < 0 ? "-" : "",
	                  (unsigned long long)(mag / 1000), (unsigned long long)(mag % 1000));
}

void
dobj__hist_observe(dobj__hist *h, dobj__hist_kind kind, uint64_t v)
{
	unsigned i = 0;

	while (i < DOBJ_HIST_BUCKETS && v > hist_bounds[kind][i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

void
dobj__hist_add(dobj__hist *into, const dobj__hist *from)
{
	for (unsigned i = 0; i <= DOBJ_HIST_BUCKETS; i++)
		atomic_fetch_add_explicit(
		    &into->buckets[i],
		    atomic_load_explicit(&from->buckets[i], memory_order_relaxed),
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&into->sum,
	                          atomic_load_explicit(&from->sum, memory_order_relaxed),
	                          memory_order_relaxed);
}

/* hist_value writes v in the kind's unit: seconds with microsecond precision, or a count. */
static void
hist_value(dobj__text *t, dobj__hist_kind kind, uint64_t v)
{
	char buf[32];
	size_t n;

	if (kind == DOBJ_HIST_SECONDS) {
		n = (size_t)snprintf(buf, sizeof(buf), "%llu.%06llu",
		                     (unsigned long long)(v / 1000000),
		                     (unsigned long long)(v % 1000000));
		while (buf[n - 1] == '0') /* 0.250000 -> 0.25, 1.000000 -> 1 */
			n--;
		if (buf[n - 1] == '.')
			n--;
		dobj__text_printf(t, "%.*s", (int)n, buf);
	} else
		dobj__text_printf(t, "%llu", (unsigned long long)v);
}

void
dobj__hist_write(dobj__text *t, const char *name, const char *labels, dobj__hist_kind kind,
                 const dobj__hist *h)
{
	const char *sep = labels[0] ? "," : "";
	uint64_t cum = 0;

	for (unsigned i = 0; i <= DOBJ_HIST_BUCKETS; i++) {
		cum += atomic_load_explicit(&h->buckets[i], memory_order_relaxed);
		dobj__text_printf(t, "%s_bucket{%s%sle=\"", name, labels, sep);
		if (i < DOBJ_HIST_BUCKETS)
			hist_value(t, kind, hist_bounds[kind][i]);
		else
			dobj__text_printf(t, "+Inf");
		dobj__text_printf(t, "\"} %llu\n", (unsigned long long)cum);
	}
	dobj__text_printf(t, "%s_sum%s%s%s ", name, labels[0] ? "{" : "", labels,
	                  labels[0] ? "}" : "");
	hist_value(t, kind, atomic_load_explicit(&h->sum, memory_order_relaxed));
	/* The count is the +Inf bucket, read once above, so the two always agree. */
	dobj__text_printf(t, "\n%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
	                  labels[0] ? "}" : "", (unsigned long long)cum);
}

/* --- the calls table -------------------------------------------------------------------- */

typedef struct call_row {
	_Atomic uint64_t status[DOBJ_ERR_COUNT];
	dobj__hist latency;
} call_row;

struct dobj__call_stats {
	const dobj__registry *reg;
	size_t *first; /* first[i]: the row of class i's method 0 */
	size_t nrows;  /* the last row is for calls not routed to a method */
	call_row *rows;
};

dobj_err
dobj__call_stats_open(dobj__call_stats **out, const dobj__registry *reg)
{
	dobj__call_stats *cs = calloc(1, sizeof(*cs));
	size_t n = 0;

	*out = NULL;
	if (cs == NULL || (cs->first = calloc(reg->n + 1, sizeof(size_t))) == NULL) {
		free(cs);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	for (size_t i = 0; i < reg->n; i++) {
		cs->first[i] = n;
		n += reg->classes[i].cls->nmethods;
	}
	cs->reg = reg;
	cs->nrows = n + 1;
	if ((cs->rows = calloc(cs->nrows, sizeof(call_row))) == NULL) {
		dobj__call_stats_close(cs);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	*out = cs;
	return DOBJ_OK;
}

void
dobj__call_stats_record(dobj__call_stats *cs, const dobj__class_reg *cls, const dobj_method *m,
                        dobj_err status, int64_t elapsed_us)
{
	size_t row = cs->nrows - 1;
	call_row *r;

	if (cls != NULL && m != NULL)
		row = cs->first[cls->index] + (size_t)(m - cls->cls->methods);
	if ((unsigned)status >= DOBJ_ERR_COUNT)
		status = DOBJ_UNKNOWN;
	r = &cs->rows[row];
	atomic_fetch_add_explicit(&r->status[status], 1, memory_order_relaxed);
	dobj__hist_observe(&r->latency, DOBJ_HIST_SECONDS,
	                   elapsed_us > 0 ? (uint64_t)elapsed_us : 0);
}

/* row_labels writes `class="C",method="M"` for a row into a text of its own. */
static void
row_labels(dobj__call_stats *cs, size_t row, dobj__text *l)
{
	const char *cls = "", *method = "";

	l->len = 0;
	for (size_t i = 0; i < cs->reg->n && row < cs->nrows - 1; i++) {
		const dobj_class *c = cs->reg->classes[i].cls;
		if (row >= cs->first[i] && row < cs->first[i] + c->nmethods) {
			cls = c->name;
			method = c->methods[row - cs->first[i]].name;
			break;
		}
	}
	dobj__text_printf(l, "class=\"");
	dobj__text_label(l, cls);
	dobj__text_printf(l, "\",method=\"");
	dobj__text_label(l, method);
	dobj__text_printf(l, "\"");
}

void
dobj__call_stats_write(dobj__call_stats *cs, dobj__text *t)
{
	dobj__text l = {0};

	dobj__metric_head(t, "dobj_calls_total", "counter",
	                  "Calls answered, by class, method and status (gRPC code name); class "
	                  "and method are empty for calls that named no served method.");
	for (size_t row = 0; row < cs->nrows; row++) {
		row_labels(cs, row, &l);
		for (int st = 0; st < DOBJ_ERR_COUNT; st++) {
			uint64_t v =
			    atomic_load_explicit(&cs->rows[row].status[st], memory_order_relaxed);
			/* OK always, so every method has a series; errors once they happen */
			if (v == 0 && (st != DOBJ_OK || row == cs->nrows - 1))
				continue;
			dobj__text_printf(t, "dobj_calls_total{%s,status=\"%s\"} %llu\n",
			                  l.oom ? "" : l.p, dobj_err_name((dobj_err)st),
			                  (unsigned long long)v);
		}
	}
	dobj__metric_head(t, "dobj_call_duration_seconds", "histogram",
	                  "Time from a call's receipt to its reply being handed to the transport "
	                  "(queueing, the turn, and the group commit).");
	for (size_t row = 0; row < cs->nrows; row++) {
		row_labels(cs, row, &l);
		if (row == cs->nrows - 1) { /* the unrouted row only once it saw calls */
			uint64_t any = 0;
			for (int st = 0; st < DOBJ_ERR_COUNT; st++)
				any += atomic_load_explicit(&cs->rows[row].status[st],
				                            memory_order_relaxed);
			if (any == 0)
				continue;
		}
		dobj__hist_write(t, "dobj_call_duration_seconds", l.oom ? "" : l.p,
		                 DOBJ_HIST_SECONDS, &cs->rows[row].latency);
	}
	if (l.oom)
		t->oom = true;
	free(l.p);
}

void
dobj__call_stats_close(dobj__call_stats *cs)
{
	if (cs == NULL)
		return;
	free(cs->rows);
	free(cs->first);
	free(cs);
}
