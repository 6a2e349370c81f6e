// SPDX-License-Identifier: MIT
// poller.c - the alarm poller thread. It owns one PostgreSQL connection (LISTEN dobj_alarms),
// claims alarms with a lease a little before they are due (CLAIM_AHEAD_MS) and holds them,
// submits each as a DOBJ_CALL_ALARM call to its shard at its due time, and applies the
// outcomes the shards report back: a fired alarm was already deleted by the shard's commit; a
// failed one is rescheduled with backoff or parked. Claiming ahead keeps the claim's round
// trip and fsync out of an alarm's lag.
//
// Threads: `mu` protects the outcome list, `stopping` and the in-flight count; the shards
// append outcomes under it and write the wake eventfd. Everything else is the poller thread's
// (and, after stop, dobj__poller_close's).

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "call.h"
#include "claims.h"
#include "clock.h"
#include "log.h"
#include "pgarr.h"
#include "pgstore.h"
#include "pgstore_int.h"
#include "poller.h"
#include "thread.h"

#define CLAIM_BATCH 256
#define MAX_SLEEP_MS 1000
/* Alarms due within this many milliseconds are claimed now and held until due. */
#define CLAIM_AHEAD_MS 50
/* how long an alarm whose object could not be loaded waits before it is claimed again */
#define LOAD_RETRY_MS 1000
#define RENEW_EVERY_MS 5000 /* how often the poller looks for waiting alarms' leases to renew */
/* how long dobj__poller_close may spend recording the last outcomes */
#define CLOSE_RECORD_MS 5000
/* Alarm turns queued in the shards at most: past this the poller waits for outcomes before
 * claiming more, so that no claimed alarm waits in a queue until its lease runs out. */
#define MAX_INFLIGHT 4096

struct dobj__poller {
	char *dsn;
	char *node_id;
	dobj__poller_cfg cfg;
	const dobj__registry *reg;
	dobj__shard *const *shards;
	unsigned nshards;
	PGconn *conn;   /* poller thread only */
	bool listening; /* LISTEN dobj_alarms succeeded on conn (poller thread only) */
	int wake_fd;
	pthread_t thread;
	bool started;

	pthread_mutex_t mu; /* protects outcomes, stopping, exited, inflight */
	pthread_cond_t exit_cv;
	dobj__call *outcomes;
	bool stopping, exited;
	size_t inflight;

	/* the alarm calls claimed and not yet recorded, and when to look for leases to renew
	 * (poller thread only) */
	dobj__claims claims;
	int64_t next_renew_ms;
	/* claimed alarms not due yet, a min-heap on alarm_due_ms (poller thread only) */
	dobj__call **held;
	size_t nheld, held_cap;

	_Atomic uint64_t fired, retried, parked;
	_Atomic int64_t last_lag_ms;
};

static const char claim_sql[] =
    "UPDATE dobj_alarms a SET lease_owner = $1, lease_until_ms = $2 "
    "FROM (SELECT class, id FROM dobj_alarms WHERE NOT parked AND due_ms <= $5 "
    "AND (lease_until_ms IS NULL OR lease_until_ms < $3) ORDER BY due_ms LIMIT $4 "
    "FOR UPDATE SKIP LOCKED) c WHERE a.class = c.class AND a.id = c.id "
    "RETURNING a.class, a.id, a.due_ms, a.attempts";

/* The next moment something may be due: a free alarm's due time or a lease's end. */
static const char next_sql[] =
    "SELECT min(GREATEST(due_ms, COALESCE(lease_until_ms, 0))) FROM dobj_alarms WHERE NOT parked";

static const char retry_sql[] =
    "UPDATE dobj_alarms SET attempts = attempts + 1, due_ms = $4, lease_owner = NULL, "
    "lease_until_ms = NULL, last_error = $5, parked = attempts + 1 > $7, updated_at = now() "
    "WHERE class = $1 AND id = $2 AND due_ms = $3 AND lease_owner = $6 "
    "RETURNING attempts, parked";

static const char renew_sql[] =
    "UPDATE dobj_alarms a SET lease_until_ms = $1 "
    "FROM unnest($2::text[], $3::bytea[], $4::bigint[]) AS r(class, id, due) "
    "WHERE a.class = r.class AND a.id = r.id AND a.due_ms = r.due AND a.lease_owner = $5";

/* $5 NULL gives the lease up; a time keeps it until then, so that nobody claims the alarm
 * again before */
static const char release_sql[] =
    "UPDATE dobj_alarms SET lease_owner = CASE WHEN $5::bigint IS NULL THEN NULL "
    "ELSE lease_owner END, lease_until_ms = $5::bigint "
    "WHERE class = $1 AND id = $2 AND due_ms = $3 AND lease_owner = $4";

int64_t
dobj__alarm_backoff_ms(int first_ms, int attempt, uint32_t random)
{
	int64_t base = (int64_t)first_ms << (attempt > 1 ? (attempt < 30 ? attempt - 1 : 30) : 0);
	int64_t jitter = base / 5; /* +-20%, at most */

	return base - jitter + (int64_t)(random % (uint32_t)(2 * jitter + 1));
}

static uint32_t
random32(void)
{
	uint32_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)dobj__clock_mono_ms();
	return v;
}

static void
i64_param(char buf[32], int64_t v)
{
	snprintf(buf, 32, "%lld", (long long)v);
}

/* id_hex renders an id as the bytea text literal PostgreSQL accepts: \x followed by hex. */
static void
id_param(char buf[2 * DOBJ_ID_SIZE + 3], const dobj_id *id)
{
	buf[0] = '\\';
	buf[1] = 'x';
	dobj_id_to_string(id, buf + 2);
}

static void
wake(dobj__poller *p)
{
	uint64_t one = 1;

	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		dobj__log_warn("alarm poller: could not wake: %s", strerror(errno));
}

/* poller_done: a shard finished an alarm turn; queue its outcome for the poller thread. */
static void
poller_done(dobj__call *c)
{
	dobj__poller *p = c->owner;

	pthread_mutex_lock(&p->mu);
	c->next = p->outcomes;
	p->outcomes = c;
	pthread_mutex_unlock(&p->mu);
	wake(p);
}

/* connect_poller (re)opens the connection and listens for new alarms. */
static bool
connect_poller(dobj__poller *p, int failures)
{
	PGresult *r;

	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK && p->listening)
		return true;
	/* a connection whose LISTEN failed is dropped too: it would never hear of new alarms */
	p->listening = false;
	PQfinish(p->conn);
	p->conn = dobj__pg_connect(p->dsn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		/* once per outage at warn; each retry at debug */
		dobj__log(
		    failures == 0 ? DOBJ_LOG_WARN : DOBJ_LOG_DEBUG,
		    "alarm poller: could not connect to PostgreSQL: %s; retrying with backoff",
		    PQerrorMessage(p->conn));
		return false;
	}
	if (failures > 0)
		dobj__log_info("alarm poller: reconnected to PostgreSQL");
	PQsetNoticeProcessor(p->conn, dobj__log_pg_notice, (void *)"alarm poller");
	r = PQexec(p->conn, "LISTEN dobj_alarms");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		dobj__log_warn("alarm poller: LISTEN failed: %s", PQresultErrorMessage(r));
		PQclear(r);
		return false;
	}
	PQclear(r);
	p->listening = true;
	return true;
}

/* --- held alarms: claimed ahead, submitted when due ---------------------------------------- */

static bool
held_before(const dobj__call *a, const dobj__call *b)
{
	return a->alarm_due_ms < b->alarm_due_ms;
}

static int
held_push(dobj__poller *p, dobj__call *c)
{
	size_t i;

	if (p->nheld == p->held_cap) {
		size_t cap = p->held_cap ? p->held_cap * 2 : 64;
		dobj__call **h = realloc(p->held, cap * sizeof(*h));
		if (h == NULL)
			return -1;
		p->held = h;
		p->held_cap = cap;
	}
	for (i = p->nheld++; i > 0 && held_before(c, p->held[(i - 1) / 2]); i = (i - 1) / 2)
		p->held[i] = p->held[(i - 1) / 2];
	p->held[i] = c;
	return 0;
}

static dobj__call *
held_pop(dobj__poller *p)
{
	dobj__call *top = p->held[0], *last = p->held[--p->nheld];
	size_t i = 0;

	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= p->nheld)
			break;
		if (k + 1 < p->nheld && held_before(p->held[k + 1], p->held[k]))
			k++;
		if (!held_before(p->held[k], last))
			break;
		p->held[i] = p->held[k];
		i = k;
	}
	if (p->nheld > 0)
		p->held[i] = last;
	return top;
}

static void
to_shard(dobj__poller *p, dobj__call *c)
{
	dobj__shard_submit(p->shards[dobj_id_shard(&c->id, p->nshards)], c);
}

/* release_due submits the held alarms due by now; returns the milliseconds until the next
 * one (MAX_SLEEP_MS if none is held). */
static int
release_due(dobj__poller *p, int64_t now)
{
	while (p->nheld > 0 && p->held[0]->alarm_due_ms <= now)
		to_shard(p, held_pop(p));
	if (p->nheld == 0)
		return MAX_SLEEP_MS;
	return (int)(p->held[0]->alarm_due_ms - now < MAX_SLEEP_MS ? p->held[0]->alarm_due_ms - now
	                                                           : MAX_SLEEP_MS);
}

/* submit makes an alarm call for one claimed row and hands it to the object's shard, or holds
 * it until due. */
static void
submit(dobj__poller *p, PGresult *r, int row, int64_t now)
{
	const char *cls_name = PQgetvalue(r, row, 0);
	const dobj__class_reg *cls = dobj__registry_find(p->reg, cls_name, strlen(cls_name));
	size_t idlen = 0;
	unsigned char *id = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, 1), &idlen);
	dobj__call *c;
	dobj_id rid;
	int64_t due;

	if (cls == NULL || id == NULL || idlen != DOBJ_ID_SIZE) {
		/* Another server may serve the class; the lease lets it try after this one. */
		dobj__log_warn(
		    "alarm poller: class \"%.64s\" is not served here; leaving its alarm",
		    cls_name);
		PQfreemem(id);
		return;
	}
	memcpy(rid.bytes, id, DOBJ_ID_SIZE);
	PQfreemem(id);
	due = strtoll(PQgetvalue(r, row, 2), NULL, 10);
	if ((c = dobj__claims_find(&p->claims, cls, &rid, due)) != NULL) {
		/* Its call is still on its way here (its lease ran out while it waited in a busy
		 * shard): the claim has renewed the lease, and the alarm runs once. */
		c->alarm_leased_ms = now;
		c->alarm_reclaimed = true;
		dobj__log_debug("alarm poller: alarm of %s claimed again while its turn waits; "
		                "lease renewed",
		                cls->cls->name);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		dobj__log_error(
		    "alarm poller: out of memory; the alarm is retried after its lease");
		return;
	}
	c->kind = DOBJ_CALL_ALARM;
	c->done = poller_done;
	c->owner = p;
	c->cls = cls;
	c->id = rid;
	c->alarm_due_ms = due;
	c->alarm_attempts = atoi(PQgetvalue(r, row, 3));
	c->alarm_leased_ms = now;
	dobj__arena_init(&c->arena);
	dobj__claims_add(&p->claims, c);
	pthread_mutex_lock(&p->mu);
	p->inflight++;
	pthread_mutex_unlock(&p->mu);
	/* due, or no room to hold it: run it early rather than not at all */
	if (c->alarm_due_ms <= now || held_push(p, c) != 0)
		to_shard(p, c);
}

/* claim leases up to CLAIM_BATCH alarms due by now + CLAIM_AHEAD_MS and submits or holds
 * them; returns how many, or -1. */
static int
claim(dobj__poller *p, int64_t now)
{
	char until[32], nows[32], limit[32], horizon[32];
	const char *vals[5] = {p->node_id, until, nows, limit, horizon};
	PGresult *r;
	int n;

	i64_param(until, now + CLAIM_AHEAD_MS + DOBJ_ALARM_LEASE_MS);
	i64_param(nows, now);
	i64_param(limit, CLAIM_BATCH);
	i64_param(horizon, now + CLAIM_AHEAD_MS);
	r = PQexecParams(p->conn, claim_sql, 5, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		dobj__log_warn("alarm poller: could not claim alarms: %s", PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
		submit(p, r, i, now);
	PQclear(r);
	return n;
}

/* renew_leases extends, in one statement, the leases of the claimed alarms whose turns have
 * waited half a lease since it was last set (a backlog in their shards), so that no other
 * server takes an alarm this one is about to run: its commit would then fail its fence. */
typedef struct renewal {
	int64_t now;
	dobj__pgarr cls, ids, dues;
	size_t n;
	bool mark; /* second pass: the statement succeeded, set their lease times */
} renewal;

static bool
lease_old(const dobj__call *c, int64_t now)
{
	return now - c->alarm_leased_ms >= DOBJ_ALARM_LEASE_MS / 2;
}

static void
renew_one(dobj__call *c, void *arg)
{
	renewal *rn = arg;
	uint64_t due = dobj__pg_be64((uint64_t)c->alarm_due_ms);

	if (!lease_old(c, rn->now))
		return;
	if (rn->mark) {
		c->alarm_leased_ms = rn->now;
		return;
	}
	dobj__pgarr_add(&rn->cls, c->cls->cls->name, strlen(c->cls->cls->name));
	dobj__pgarr_add(&rn->ids, c->id.bytes, DOBJ_ID_SIZE);
	dobj__pgarr_add(&rn->dues, &due, sizeof(due));
	rn->n++;
}

static void
renew_leases(dobj__poller *p, int64_t now)
{
	renewal rn = {.now = now};
	char until[32];
	const char *vals[5];
	int lens[5] = {0}, fmts[5] = {0, 1, 1, 1, 0};
	PGresult *r;

	if (now < p->next_renew_ms || p->claims.n == 0)
		return;
	p->next_renew_ms = now + RENEW_EVERY_MS;
	dobj__pgarr_begin(&rn.cls, OID_TEXT);
	dobj__pgarr_begin(&rn.ids, OID_BYTEA);
	dobj__pgarr_begin(&rn.dues, OID_INT8);
	dobj__claims_each(&p->claims, renew_one, &rn);
	dobj__pgarr_end(&rn.cls);
	dobj__pgarr_end(&rn.ids);
	dobj__pgarr_end(&rn.dues);
	if (rn.n > 0 && !rn.cls.oom && !rn.ids.oom && !rn.dues.oom) {
		i64_param(until, now + DOBJ_ALARM_LEASE_MS);
		vals[0] = until;
		vals[1] = rn.cls.buf;
		lens[1] = (int)rn.cls.len;
		vals[2] = rn.ids.buf;
		lens[2] = (int)rn.ids.len;
		vals[3] = rn.dues.buf;
		lens[3] = (int)rn.dues.len;
		vals[4] = p->node_id;
		r = PQexecParams(p->conn, renew_sql, 5, NULL, vals, lens, fmts, 0);
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			rn.mark = true;
			dobj__claims_each(&p->claims, renew_one, &rn);
			dobj__log_debug(
			    "alarm poller: renewed the leases of %zu alarms whose turns "
			    "wait (%s rows)",
			    rn.n, PQcmdTuples(r));
		} else {
			dobj__log_warn("alarm poller: could not renew the leases of %zu waiting "
			               "alarms: %s",
			               rn.n, PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	free(rn.cls.buf);
	free(rn.ids.buf);
	free(rn.dues.buf);
}

/* release gives a claimed alarm back without counting an attempt: at once with hold_ms 0,
 * else when hold_ms have passed (its lease ends then). Without a connection it does nothing:
 * the lease runs out by itself. */
static void
release(dobj__poller *p, const dobj__call *c, int hold_ms)
{
	char idhex[2 * DOBJ_ID_SIZE + 3], due[32], until[32];
	const char *rv[5] = {c->cls->cls->name, idhex, due, p->node_id, hold_ms > 0 ? until : NULL};

	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK)
		return; /* the lease runs out by itself */
	id_param(idhex, &c->id);
	i64_param(due, c->alarm_due_ms);
	i64_param(until, dobj__clock_now_ms() + hold_ms);
	PQclear(PQexecParams(p->conn, release_sql, 5, NULL, rv, NULL, NULL, 0));
}

/* forget frees a claimed alarm's call, its outcome recorded or given up. */
static void
forget(dobj__poller *p, dobj__call *c)
{
	dobj__claims_remove(&p->claims, c);
	dobj__arena_fini(&c->arena);
	free(c);
}

/* record applies one finished alarm turn's outcome and frees the call. */
static void
record(dobj__poller *p, dobj__call *c)
{
	char idhex[2 * DOBJ_ID_SIZE + 3], due[32], next[32], owner_max[32];
	const char *vals[7] = {c->cls->cls->name, idhex,      due,      next,
	                       c->message,        p->node_id, owner_max};
	bool ran = c->obj != NULL, stopping;
	PGresult *r;

	id_param(idhex, &c->id);
	i64_param(due, c->alarm_due_ms);
	if (c->status == DOBJ_OK) {
		if (c->fired) {
			atomic_fetch_add(&p->fired, 1);
			atomic_store(&p->last_lag_ms, c->started_ms - c->alarm_due_ms);
		}
		/* A row of this due time still leased here has no call on its way any more: after
		 * a superseded turn, the object set the time back to it (its write kept the lease),
		 * so it runs after a second (sooner could loop while the object's change is still
		 * pending); after a fired turn that a claim found again, it is a new alarm of the
		 * same time, and runs now. */
		if (!c->fired || c->alarm_reclaimed)
			release(p, c, c->fired ? 0 : LOAD_RETRY_MS);
		goto out;
	}
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		dobj__log_warn("alarm poller: alarm of %s not rescheduled (no connection); it is "
		               "retried when its lease ends",
		               c->cls->cls->name);
		goto out;
	}
	if (!ran) {
		/* Never ran: the server is stopping (another server may take it now), or the object
		 * could not be loaded. Then the shard's PostgreSQL is likely in trouble: claiming
		 * the alarm again at once would only fail again, in a loop of claims and releases. */
		pthread_mutex_lock(&p->mu);
		stopping = p->stopping;
		pthread_mutex_unlock(&p->mu);
		release(p, c, stopping ? 0 : LOAD_RETRY_MS);
		goto out;
	}
	i64_param(next,
	          dobj__clock_now_ms() + dobj__alarm_backoff_ms(p->cfg.first_retry_ms,
	                                                        c->alarm_attempts + 1, random32()));
	i64_param(owner_max, p->cfg.max_retries);
	r = PQexecParams(p->conn, retry_sql, 7, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		bool parked = PQgetvalue(r, 0, 1)[0] == 't';
		if (parked) {
			atomic_fetch_add(&p->parked, 1);
			dobj__log_error("alarm of %s %s parked after %s failed runs: %s: %s",
			                c->cls->cls->name, idhex + 2, PQgetvalue(r, 0, 0),
			                dobj_err_name(c->status), c->message);
		} else {
			atomic_fetch_add(&p->retried, 1);
			dobj__log_warn("alarm of %s %s failed (run %s): %s: %s; retry at %s",
			               c->cls->cls->name, idhex + 2, PQgetvalue(r, 0, 0),
			               dobj_err_name(c->status), c->message, next);
		}
	} else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		dobj__log_warn("alarm poller: could not reschedule an alarm: %s",
		               PQresultErrorMessage(r));
	}
	PQclear(r);
out:
	forget(p, c);
}

/* drain_outcomes takes the shards' reports and records them; past until_mono_ms (0: no
 * limit) it drops the rest unrecorded: their leases end and they are claimed again then, as
 * those of a server that died. */
static void
drain_outcomes(dobj__poller *p, int64_t until_mono_ms)
{
	dobj__call *list, *next;
	size_t n = 0, dropped = 0;

	pthread_mutex_lock(&p->mu);
	list = p->outcomes;
	p->outcomes = NULL;
	for (dobj__call *c = list; c != NULL; c = c->next)
		n++;
	p->inflight -= n;
	pthread_mutex_unlock(&p->mu);
	for (dobj__call *c = list; c != NULL; c = next) {
		next = c->next;
		if (until_mono_ms != 0 && dobj__clock_mono_ms() >= until_mono_ms) {
			dropped++;
			forget(p, c);
			continue;
		}
		record(p, c);
	}
	if (dropped > 0)
		dobj__log_warn("alarm poller: %zu alarm outcomes not recorded before the deadline; "
		               "their alarms run again when their leases end",
		               dropped);
}

/* next_wait returns how long to sleep until the next claim: CLAIM_AHEAD_MS before the next
 * alarm is due (or just after a lease ends), at most MAX_SLEEP_MS. */
static int
next_wait(dobj__poller *p, int64_t now)
{
	PGresult *r = PQexec(p->conn, next_sql);
	int64_t wait = MAX_SLEEP_MS;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		int64_t next = strtoll(PQgetvalue(r, 0, 0), NULL, 10) - CLAIM_AHEAD_MS;
		wait = next <= now ? 0 : next - now;
		/* a lease ends at lease_until_ms; claim checks "< now", so look just after it */
		wait = wait < MAX_SLEEP_MS ? wait + 1 : MAX_SLEEP_MS;
	}
	PQclear(r);
	return (int)wait;
}

static void
sleep_until_woken(dobj__poller *p, int timeout_ms)
{
	struct pollfd fds[2] = {{.fd = p->wake_fd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
	uint64_t v;

	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK) {
		PGnotify *n = PQnotifies(p->conn);
		/* a notification that came with a query's results is already read: no sleep */
		if (n != NULL) {
			do
				PQfreemem(n);
			while ((n = PQnotifies(p->conn)) != NULL);
			return;
		}
		fds[1].fd = PQsocket(p->conn);
	}
	if (poll(fds, 2, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
		if (read(p->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			dobj__log_warn("alarm poller: wake read failed: %s", strerror(errno));
	}
	if (fds[1].fd >= 0 && PQconsumeInput(p->conn)) {
		PGnotify *n;
		while ((n = PQnotifies(p->conn)) != NULL)
			PQfreemem(n);
	}
}

/* release_held gives the alarms still held back when the poller stops, so that another server
 * need not wait for their leases to end. */
static void
release_held(dobj__poller *p)
{
	size_t n = p->nheld;

	while (p->nheld > 0) {
		dobj__call *c = held_pop(p);
		release(p, c, 0);
		forget(p, c);
	}
	pthread_mutex_lock(&p->mu);
	p->inflight -= n;
	pthread_mutex_unlock(&p->mu);
}

static void *
poller_main(void *arg)
{
	dobj__poller *p = arg;
	int failures = 0;

	dobj__thread_name("dobj-alarms");
	for (;;) {
		int n, wait, held;

		pthread_mutex_lock(&p->mu);
		if (p->stopping) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		/* held alarms go out when due, whatever else is going on */
		held = release_due(p, dobj__clock_now_ms());
		if (!connect_poller(p, failures)) {
			/* back off 0.1 s, 0.2 s, ... up to 5 s while PostgreSQL is away */
			wait = 100 << (failures < 6 ? failures : 6);
			failures++;
			if (wait > 5000)
				wait = 5000;
			sleep_until_woken(p, held < wait ? held : wait);
			continue;
		}
		failures = 0;
		drain_outcomes(p, 0);
		renew_leases(p, dobj__clock_now_ms());
		pthread_mutex_lock(&p->mu);
		n = p->inflight >= MAX_INFLIGHT;
		pthread_mutex_unlock(&p->mu);
		if (n) {
			sleep_until_woken(p, held); /* an outcome wakes it */
			continue;
		}
		if ((n = claim(p, dobj__clock_now_ms())) == CLAIM_BATCH)
			continue;
		wait = n < 0 ? MAX_SLEEP_MS : next_wait(p, dobj__clock_now_ms());
		held = release_due(p, dobj__clock_now_ms());
		if (held < wait)
			wait = held;
		if (wait > 0)
			sleep_until_woken(p, wait);
	}
	release_held(p);
	pthread_mutex_lock(&p->mu);
	p->exited = true;
	pthread_cond_broadcast(&p->exit_cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

dobj_err
dobj__poller_open(dobj__poller **out, const char *dsn, const char *node_id,
                  const dobj__poller_cfg *cfg, const dobj__registry *reg,
                  dobj__shard *const *shards, unsigned nshards, char *err, size_t errlen)
{
	dobj__poller *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || (p->dsn = strdup(dsn)) == NULL || (p->node_id = strdup(node_id)) == NULL) {
		if (p != NULL)
			free(p->dsn);
		free(p);
		snprintf(err, errlen, "out of memory");
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	if ((p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		snprintf(err, errlen, "could not create the alarm poller's eventfd: %s",
		         strerror(errno));
		free(p->node_id);
		free(p->dsn);
		free(p);
		return DOBJ_INTERNAL;
	}
	p->cfg = *cfg;
	p->reg = reg;
	p->shards = shards;
	p->nshards = nshards;
	pthread_mutex_init(&p->mu, NULL);
	dobj__cond_init(&p->exit_cv);
	*out = p;
	return DOBJ_OK;
}

dobj_err
dobj__poller_start(dobj__poller *p)
{
	if (pthread_create(&p->thread, NULL, poller_main, p) != 0)
		return DOBJ_RESOURCE_EXHAUSTED;
	p->started = true;
	return DOBJ_OK;
}

void
dobj__poller_wake(dobj__poller *p)
{
	if (p != NULL)
		wake(p);
}

bool
dobj__poller_stop(dobj__poller *p, int64_t until_mono_ms)
{
	bool exited;

	if (p == NULL)
		return true;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_mutex_unlock(&p->mu);
	wake(p);
	if (!p->started)
		return true;
	pthread_mutex_lock(&p->mu);
	exited = dobj__cond_wait_flag(&p->exit_cv, &p->mu, &p->exited, until_mono_ms);
	pthread_mutex_unlock(&p->mu);
	if (!exited) {
		dobj__log_error(
		    "alarm poller: still inside a PostgreSQL query at the drain deadline; "
		    "leaving it");
		return false;
	}
	pthread_join(p->thread, NULL);
	p->started = false;
	return true;
}

void
dobj__poller_close(dobj__poller *p)
{
	if (p == NULL)
		return;
	dobj__poller_stop(p, 0);
	/* the shards have stopped: every alarm turn has reported; a PostgreSQL that stopped
	 * answering must not hold the exit for one query per outcome */
	drain_outcomes(p, dobj__clock_mono_ms() + CLOSE_RECORD_MS);
	if (p->inflight > 0)
		dobj__log_warn("alarm poller: %zu alarm turns never reported back", p->inflight);
	PQfinish(p->conn);
	free(p->held);
	dobj__claims_fini(&p->claims);
	close(p->wake_fd);
	pthread_cond_destroy(&p->exit_cv);
	pthread_mutex_destroy(&p->mu);
	free(p->node_id);
	free(p->dsn);
	free(p);
}

void
dobj__poller_stats_get(dobj__poller *p, dobj__poller_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	out->fired = atomic_load(&p->fired);
	out->retried = atomic_load(&p->retried);
	out->parked = atomic_load(&p->parked);
	out->last_lag_ms = atomic_load(&p->last_lag_ms);
}
