/* SPDX-License-Identifier: MIT */
/*
 * poller.h - the alarm poller: one thread per server that claims due alarms from
 * dobj_alarms in batches (FOR UPDATE SKIP LOCKED plus a lease, so replicas never run one alarm
 * twice at once), hands each to its object's shard as an alarm turn, and records failures
 * with exponential backoff, parking an alarm after its last retry. It sleeps until the next
 * due time, waking early on NOTIFY dobj_alarms (sent by commits that set alarms) or when the
 * clock is moved.
 */
#ifndef DOBJ_SERVER_POLLER_H
#define DOBJ_SERVER_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>

#include "registry.h"
#include "shard.h"

typedef struct dobj__poller dobj__poller;

#define DOBJ_ALARM_LEASE_MS 60000

/* dobj__poller_cfg: the retry policy (Cloudflare's: first retry after 2 s, doubling, 6
 * retries). */
typedef struct dobj__poller_cfg {
	int first_retry_ms;
	int max_retries;
} dobj__poller_cfg;

dobj_err dobj__poller_open(dobj__poller **out, const char *dsn, const char *node_id,
                           const dobj__poller_cfg *cfg, const dobj__registry *reg,
                           dobj__shard *const *shards, unsigned nshards, char *err, size_t errlen);

dobj_err dobj__poller_start(dobj__poller *p);

/* dobj__poller_wake makes the poller look for due alarms now (the clock moved). */
void dobj__poller_wake(dobj__poller *p);

/* dobj__poller_stop stops claiming alarms and joins the thread, waiting until until_mono_ms
 * at most (0: no limit). false if the thread is still inside a PostgreSQL query then (the
 * server hangs or the network drops packets): the poller must then be left as it is, not
 * closed. Alarm turns still in the shards report to the poller until dobj__poller_close. */
bool dobj__poller_stop(dobj__poller *p, int64_t until_mono_ms);

/* dobj__poller_close records the outcomes of the alarm turns that finished after stop (call it
 * after the shards have stopped) and frees p. NULL is allowed. */
void dobj__poller_close(dobj__poller *p);

/* dobj__poller_stats: counters for logs and metrics. */
typedef struct dobj__poller_stats {
	uint64_t fired;      /* alarm turns committed */
	uint64_t retried;    /* failed runs rescheduled */
	uint64_t parked;     /* alarms parked after their last retry */
	int64_t last_lag_ms; /* start of the last alarm turn minus its due time */
} dobj__poller_stats;

void dobj__poller_stats_get(dobj__poller *p, dobj__poller_stats *out);

/* dobj__alarm_backoff_ms returns the delay before retry number `attempt` (1-based): first_ms
 * doubling, with up to 20% jitter either way taken from `random` (any 32-bit value). */
int64_t dobj__alarm_backoff_ms(int first_ms, int attempt, uint32_t random);

#endif /* DOBJ_SERVER_POLLER_H */
