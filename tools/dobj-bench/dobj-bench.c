// SPDX-License-Identifier: MIT
// dobj-bench.c - dobj-bench's run: the calls in flight (closed loop) or on a schedule (open
// loop), object choice, warm-up and end, the progress line. Options are options.c's, numbers
// hist.c's and report.c's; the calls are libdobj's (dobj_call_async), the work the server's.
//
// Threads and locks: main starts the run, prints progress and waits; every completion runs on
// one of nng's threads; in open loop a pacer thread starts the calls. b->mtx is the only lock;
// it is never held across dobj_call_async(), so a completion that runs early never finds it
// taken by its own caller.

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dobj/client.h>

#include "hist.h"
#include "options.h"
#include "report.h"
#include "zipf.h"

#define NS 1000000000ull
#define IDS_PRECOMPUTED_MAX 2000000 /* more objects: each call hashes its object's name */

typedef struct bench bench;

/* bench_slot: one call in flight. Only the slot's own current call touches it. */
typedef struct bench_slot {
	bench *b;
	dobj_client *client;
	uint64_t start_ns; /* closed loop: when sent; open loop: when scheduled */
	uint64_t object;
	bool measured;
	uint64_t rng;
	struct bench_slot *next_free;
} bench_slot;

struct bench {
	bench_opts o;
	dobj_client **clients;
	dobj_id *ids; /* precomputed ids of "bench-<i>", or NULL */
	bench_slot *slots;
	bench_zipf zipf;
	uint64_t start_ns, warm_ns, end_ns; /* end_ns is UINT64_MAX when --count ends the run */

	pthread_mutex_t mtx; /* protects every field below, and the slots' free list */
	pthread_cond_t cv;   /* active reached 0; a slot was freed while the pacer waits */
	unsigned active;     /* closed loop: live slots; open loop: calls in flight + the pacer */
	bool stopping;       /* no new calls */
	bool pacer_waiting;
	bench_slot *free_slots; /* open loop */
	uint64_t next_seq;      /* --sequential: the next object */
	uint64_t issued;        /* measured calls started */
	uint64_t done_all;      /* every completion, for the progress line */
	uint64_t last_ns;       /* when the last measured call completed */
	uint64_t pacer_next;    /* open loop: the index of the next scheduled call */
	bench_result r;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* bench_object_id gives the id of object i, "bench-<i>" of the class. */
static void
bench_object_id(bench *b, uint64_t i, dobj_id *out)
{
	char name[32];

	if (b->ids != NULL) {
		*out = b->ids[i];
		return;
	}
	snprintf(name, sizeof(name), "bench-%llu", (unsigned long long)i);
	dobj_id_from_name(b->o.class_name, name, out); /* cannot fail: the name is valid */
}

/* bench_claim decides, under b->mtx, whether slot may start a call scheduled at t, and on
 * which object; false when the run has stopped starting calls. */
static bool
bench_claim(bench *b, bench_slot *slot, uint64_t t)
{
	if (b->stopping || t >= b->end_ns)
		return false;
	if (b->o.count != 0 && t >= b->warm_ns && b->issued >= b->o.count)
		return false;
	slot->measured = t >= b->warm_ns;
	if (slot->measured)
		b->issued++;
	switch (b->o.choice) {
	case BENCH_SEQUENTIAL:
		slot->object = b->next_seq++;
		break;
	case BENCH_ZIPF:
		slot->object = bench_zipf_sample(&b->zipf, &slot->rng);
		break;
	case BENCH_UNIFORM:
		slot->object = bench_rng_below(&slot->rng, b->o.objects);
		break;
	}
	return true;
}

/* bench_retire_locked drops one from active and wakes main when the run is over. */
static void
bench_retire_locked(bench *b)
{
	if (--b->active == 0)
		pthread_cond_broadcast(&b->cv);
}

static void bench_send(bench_slot *slot);

/* bench_call_cb records one completion; in closed loop it starts the slot's next call, in
 * open loop it frees the slot. Runs on an nng thread. */
static void
bench_call_cb(void *arg, dobj_reply *reply)
{
	bench_slot *slot = arg;
	bench *b = slot->b;
	uint64_t now = now_ns();
	unsigned st;
	bool again = false;

	pthread_mutex_lock(&b->mtx);
	b->done_all++;
	if (slot->measured) {
		b->last_ns = now;
		bench_hist_add(&b->r.hist, now > slot->start_ns ? now - slot->start_ns : 0);
		if (reply->status == DOBJ_OK) {
			b->r.ok++;
		} else {
			st = bench_status_slot(reply->status);
			b->r.errors[st]++;
			/* copied: the message may be the library's static out-of-memory text */
			if (b->r.first_msg[st] == NULL && reply->message != NULL)
				b->r.first_msg[st] = strdup(reply->message);
		}
	}
	if (b->o.rate > 0) {
		slot->next_free = b->free_slots;
		b->free_slots = slot;
		if (b->pacer_waiting)
			pthread_cond_broadcast(&b->cv);
		bench_retire_locked(b);
	} else if (!(again = bench_claim(b, slot, now))) {
		bench_retire_locked(b);
	} else {
		slot->start_ns = now;
	}
	pthread_mutex_unlock(&b->mtx);
	if (again)
		bench_send(slot);
}

/* bench_send starts the slot's claimed call. A call that cannot start is counted under its
 * status and ends the slot's turn as a completion would, without a latency. */
static void
bench_send(bench_slot *slot)
{
	bench *b = slot->b;
	dobj_call_opts copts = {.timeout_ms = b->o.timeout_ms};
	dobj_stub stub;
	dobj_err err;

	stub.client = slot->client;
	snprintf(stub.class_name, sizeof(stub.class_name), "%s", b->o.class_name);
	bench_object_id(b, slot->object, &stub.id);
	err = dobj_call_async(&stub, b->o.method, b->o.payload, b->o.payload_len, &copts,
	                      bench_call_cb, slot);
	if (err == DOBJ_OK)
		return;
	fprintf(stderr, "dobj-bench: could not start a call: %s\n", dobj_err_name(err));
	pthread_mutex_lock(&b->mtx);
	if (slot->measured)
		b->r.errors[bench_status_slot(err)]++;
	if (b->o.rate > 0) {
		slot->next_free = b->free_slots;
		b->free_slots = slot;
	}
	bench_retire_locked(b); /* closed loop: the slot stops here */
	pthread_mutex_unlock(&b->mtx);
}

/* bench_pacer starts calls at start, start + 1/R, start + 2/R, ... (open loop). A call waits
 * for a free slot only when the in-flight cap is reached; its latency still counts from its
 * scheduled start, so a slow server cannot hide its stalls (no coordinated omission). */
static void *
bench_pacer(void *arg)
{
	bench *b = arg;
	double period = (double)NS / b->o.rate;
	struct timespec ts;
	bench_slot *slot;

	for (uint64_t k = 0;; k++) {
		uint64_t due = b->start_ns + (uint64_t)((double)k * period);
		bool waited = false;

		ts.tv_sec = (time_t)(due / NS); /* same clock as b->cv's */
		ts.tv_nsec = (long)(due % NS);
		pthread_mutex_lock(&b->mtx);
		/* until due, or until the run stops: a slow rate must not outlast --duration */
		while (!b->stopping && pthread_cond_timedwait(&b->cv, &b->mtx, &ts) != ETIMEDOUT)
			;
		while (b->free_slots == NULL && !b->stopping) {
			waited = true;
			b->pacer_waiting = true;
			pthread_cond_wait(&b->cv, &b->mtx);
		}
		b->pacer_waiting = false;
		slot = b->free_slots;
		if (slot == NULL || !bench_claim(b, slot, due)) {
			bench_retire_locked(b); /* the pacer itself */
			pthread_mutex_unlock(&b->mtx);
			return NULL;
		}
		b->free_slots = slot->next_free;
		b->active++;
		b->pacer_next = k + 1;
		if (waited && slot->measured)
			b->r.cap_hits++;
		pthread_mutex_unlock(&b->mtx);
		slot->start_ns = due;
		bench_send(slot);
	}
}

/* bench_setup opens the clients, computes the object ids and seeds the slots. */
static dobj_err
bench_setup(bench *b)
{
	dobj_client_opts copts = {
	    .url = b->o.url,
	    .tls_ca_file = b->o.tls_ca,
	    .tls_server_name = b->o.tls_server_name,
	    .tls_cert_file = b->o.tls_cert,
	    .tls_key_file = b->o.tls_key,
	};
	char why[768] = "";
	dobj_err err;
	unsigned i;

	b->clients = calloc(b->o.connections, sizeof(*b->clients));
	b->slots = calloc(b->o.inflight, sizeof(*b->slots));
	if (b->o.objects <= IDS_PRECOMPUTED_MAX)
		b->ids = calloc(b->o.objects, sizeof(*b->ids));
	if (b->clients == NULL || b->slots == NULL ||
	    (b->ids == NULL && b->o.objects <= IDS_PRECOMPUTED_MAX)) {
		fprintf(stderr, "dobj-bench: out of memory for %llu objects\n",
		        (unsigned long long)b->o.objects);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	if (b->o.choice == BENCH_ZIPF && bench_zipf_init(&b->zipf, b->o.objects, b->o.zipf_s) != 0)
		return DOBJ_INVALID_ARGUMENT; /* options.c checked n and s */
	for (i = 0; i < b->o.connections; i++) {
		if ((err = dobj_client_open_err(&b->clients[i], &copts, why, sizeof(why))) !=
		    DOBJ_OK) {
			fprintf(stderr, "dobj-bench: could not open a client for %s: %s\n",
			        b->o.url, why[0] ? why : dobj_err_str(err));
			return err;
		}
	}
	if (b->ids != NULL) {
		dobj_id *ids = b->ids;

		b->ids = NULL; /* compute them once the slow way */
		for (uint64_t k = 0; k < b->o.objects; k++)
			bench_object_id(b, k, &ids[k]);
		b->ids = ids;
	}
	for (i = 0; i < b->o.inflight; i++) {
		b->slots[i].b = b;
		b->slots[i].client = b->clients[i % b->o.connections];
		b->slots[i].rng = bench_rng_seed(now_ns() ^ ((uint64_t)i << 32));
		b->slots[i].next_free = i + 1 < b->o.inflight ? &b->slots[i + 1] : NULL;
	}
	b->free_slots = &b->slots[0];
	return DOBJ_OK;
}

/* bench_start begins the run: every slot's first call (closed loop) or the pacer. */
static int
bench_start(bench *b, pthread_t *pacer)
{
	unsigned i, n = 0;

	b->start_ns = now_ns();
	b->warm_ns = b->start_ns + (uint64_t)(b->o.warmup_s * 1e9);
	b->end_ns = b->o.count != 0 ? UINT64_MAX : b->warm_ns + (uint64_t)(b->o.duration_s * 1e9);
	if (b->o.rate > 0) {
		b->active = 1;
		if (pthread_create(pacer, NULL, bench_pacer, b) != 0) {
			fprintf(stderr, "dobj-bench: could not start the pacer thread\n");
			return -1;
		}
		return 0;
	}
	pthread_mutex_lock(&b->mtx);
	b->active = b->o.inflight;
	b->free_slots = NULL;
	for (i = 0; i < b->o.inflight; i++) {
		if (bench_claim(b, &b->slots[i], b->start_ns)) {
			b->slots[i].start_ns = now_ns();
			n++;
		} else {
			b->active--;
		}
	}
	pthread_mutex_unlock(&b->mtx);
	for (i = 0; i < n; i++)
		bench_send(&b->slots[i]);
	return 0;
}

/* bench_count_unstarted counts the measured calls an open-loop run scheduled but never
 * started, because the in-flight cap held the pacer back past the end. */
static void
bench_count_unstarted(bench *b)
{
	double period = (double)NS / b->o.rate;
	uint64_t lo, hi;

	if (b->o.count != 0)
		return;
	lo = (uint64_t)ceil((double)(b->warm_ns - b->start_ns) / period);
	hi = (uint64_t)ceil((double)(b->end_ns - b->start_ns) / period);
	if (b->pacer_next > lo)
		lo = b->pacer_next;
	b->r.unstarted = hi > lo ? hi - lo : 0;
}

/* bench_run starts the calls, prints progress each second on a terminal, stops starting calls
 * at the end and waits for those in flight. */
static int
bench_run(bench *b)
{
	bool tty = isatty(STDERR_FILENO);
	uint64_t prev = 0, tick, stop_ns, until;
	pthread_t pacer;
	struct timespec ts;

	if (bench_start(b, &pacer) != 0)
		return -1;
	pthread_mutex_lock(&b->mtx);
	for (tick = b->start_ns + NS; b->active > 0; tick += NS) {
		uint64_t wake = tick < b->end_ns ? tick : b->end_ns;

		ts.tv_sec = (time_t)(wake / NS); /* same clock as b->cv's */
		ts.tv_nsec = (long)(wake % NS);
		while (now_ns() < wake && b->active > 0)
			if (pthread_cond_timedwait(&b->cv, &b->mtx, &ts) == ETIMEDOUT)
				break;
		if (tty && wake == tick)
			fprintf(stderr, "\r%s %llu calls, %llu/s, %llu errors   ",
			        tick <= b->warm_ns ? "warm-up" : "running",
			        (unsigned long long)b->done_all,
			        (unsigned long long)(b->done_all - prev),
			        (unsigned long long)(b->r.hist.count - b->r.ok));
		prev = b->done_all;
		if (now_ns() >= b->end_ns)
			break;
	}
	b->stopping = true;
	stop_ns = now_ns();
	pthread_cond_broadcast(&b->cv); /* a pacer waiting for its time or for a slot */
	while (b->active > 0)
		pthread_cond_wait(&b->cv, &b->mtx);
	pthread_mutex_unlock(&b->mtx);
	if (b->o.rate > 0) {
		pthread_join(pacer, NULL);
		bench_count_unstarted(b);
	}
	if (tty)
		fprintf(stderr, "\n");
	/* The measured window: from the end of the warm-up to the end of the run (the end of
	 * --duration, or earlier if every call stopped), or to the last completion if that came
	 * later; not to the last completion alone, which a slow rate or an early stop leaves
	 * far before the end. */
	until = stop_ns < b->end_ns ? stop_ns : b->end_ns;
	if (b->o.count != 0 || b->last_ns > until)
		until = b->last_ns;
	b->r.secs = until > b->warm_ns ? (double)(until - b->warm_ns) / 1e9 : 0.0;
	return 0;
}

int
main(int argc, char **argv)
{
	pthread_condattr_t ca;
	bench *b;
	unsigned i;
	int rc;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		fprintf(stderr, "dobj-bench: out of memory\n");
		return 1;
	}
	if ((rc = bench_opts_parse(&b->o, argc, argv)) != 0) {
		free(b);
		return rc == 1 ? 0 : rc;
	}
	pthread_mutex_init(&b->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);

	if (bench_setup(b) != DOBJ_OK || bench_run(b) != 0) {
		rc = 1;
	} else {
		bench_report(&b->o, &b->r);
		/* a wrong URL, class or method: the report says why, the status says it failed */
		if (b->r.hist.count > 0 && b->r.ok == 0) {
			fprintf(stderr, "dobj-bench: every measured call failed\n");
			rc = 2;
		}
	}
	for (i = 0; b->clients != NULL && i < b->o.connections; i++)
		if (b->clients[i] != NULL)
			dobj_client_close(b->clients[i]);
	for (i = 0; i < BENCH_NSTATUS; i++)
		free(b->r.first_msg[i]);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mtx);
	free(b->slots);
	free(b->ids);
	free(b->clients);
	free(b);
	return rc;
}
