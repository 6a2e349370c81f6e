// SPDX-License-Identifier: MIT
// big_batch_test.c - calls whose writes add up to more than 1 GiB, queued at once on one shard:
// each is within the default limits (128 KiB values, 128 keys per put_many, 16 MiB requests;
// the budget for requests in flight is raised to let them all in at once), and together they
// would make one upsert over PostgreSQL's 1 GiB message limit. The shard hands its batch over
// every 64 MiB of requests and writes, and the commit thread joins batches up to 256 MiB, so
// they all commit, whether the values came in the requests or the handlers made them. One
// call alone may write 256 MiB at most.

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"
#include "stack.h"

FX_STACK_SUITE(big_batch, "dobjd-test", 300);

#define NCALLS 70
#define NKEYS 120
#define VLEN (128 * 1024)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int ndone, nok;
static char first_err[512];

static void
cb(void *arg, dobj_reply *reply)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	ndone++;
	if (reply->status == DOBJ_OK)
		nok++;
	else if (first_err[0] == '\0')
		snprintf(first_err, sizeof(first_err), "%s: %s", dobj_err_name(reply->status),
		         reply->message);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* run_held holds the only shard with a sleeping call, queues NCALLS calls of op on objects
 * big0.., so that they run in one pass, and waits for every reply: all must succeed, and
 * each must have stored NKEYS keys. */
static void
run_held(Dobj__Test__Op *op)
{
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	Dobj__Test__Op *ops[1] = {op};
	char *n;

	/* the requests in flight take about 1 GiB: above the default budget for them */
	static const char *const args[] = {"--shards", "1", "--inflight-bytes-max", "2147483648",
	                                   NULL};
	Dobj__Test__Op hold = DOBJ__TEST__OP__INIT;
	Dobj__Test__Op *hops[1] = {&hold};
	Dobj__Test__Script hscript = DOBJ__TEST__SCRIPT__INIT;
	char marker[64];
	uint8_t *buf, hbuf[256];
	size_t len, hlen;
	dobj_stub s;
	dobj_call_opts opts = {200000};

	fx_stack_restart(&db, &srv, &cl, args);
	snprintf(marker, sizeof(marker), "/tmp/dobj-bigbatch-%ld", (long)getpid());
	unlink(marker);
	hold.kind = "sleep";
	hold.key = marker;
	hold.has_sleep_ms = 1;
	hold.sleep_ms = 12000;
	hscript.ops = hops;
	hscript.n_ops = 1;
	hlen = dobj__test__script__pack(&hscript, hbuf);
	cr_assert_eq(dobj_singleton(cl, "TestKV", "holder", &s), DOBJ_OK);
	cr_assert_eq(dobj_call_async(&s, "run", hbuf, hlen, &opts, cb, NULL), DOBJ_OK);
	for (int waited = 0; access(marker, F_OK) != 0; waited++) {
		cr_assert_lt(waited, 10000, "the holder did not run");
		fx_nap_ms(1);
	}
	unlink(marker);

	script.ops = ops;
	script.n_ops = 1;
	len = dobj__test__script__get_packed_size(&script);
	buf = malloc(len);
	cr_assert_not_null(buf);
	dobj__test__script__pack(&script, buf);
	for (int i = 0; i < NCALLS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "big%d", i);
		cr_assert_eq(dobj_singleton(cl, "TestKV", name, &s), DOBJ_OK);
		cr_assert_eq(dobj_call_async(&s, "run", buf, len, &opts, cb, NULL), DOBJ_OK);
	}
	pthread_mutex_lock(&mu);
	while (ndone < NCALLS + 1)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	free(buf);
	fprintf(stderr, "big_batch: %d of %d calls OK; first error: %s\n", nok, NCALLS + 1,
	        first_err);
	cr_assert_eq(nok, NCALLS + 1, "%d of %d calls OK; first error: %s", nok, NCALLS + 1,
	             first_err);
	n = fx_db_query1(&db, "SELECT count(*) FROM dobj_storage");
	cr_assert_eq(atoi(n), NCALLS * NKEYS);
	free(n);
}

/* fill_op makes op a TestKV fill of nkeys values of VLEN bytes, keys f000000... */
static void
fill_op(Dobj__Test__Op *op, uint64_t nkeys)
{
	op->kind = "fill";
	op->prefix = "f";
	op->has_limit = 1;
	op->limit = nkeys;
	op->has_size = 1;
	op->size = VLEN;
}

Test(big_batch, a_batch_of_calls_within_the_limits_commits)
{
	Dobj__Test__Op put = DOBJ__TEST__OP__INIT;
	char *keys[NKEYS];
	ProtobufCBinaryData vals[NKEYS];
	uint8_t *val = malloc(VLEN);

	cr_assert_not_null(val);
	memset(val, 'v', VLEN);
	for (int i = 0; i < NKEYS; i++) {
		keys[i] = malloc(16);
		snprintf(keys[i], 16, "k%03d", i);
		vals[i].data = val;
		vals[i].len = VLEN;
	}
	put.kind = "put_many";
	put.n_keys = NKEYS;
	put.keys = keys;
	put.n_values = NKEYS;
	put.values = vals;
	run_held(&put);
	free(val);
	for (int i = 0; i < NKEYS; i++)
		free(keys[i]);
}

/* The same with requests of a few bytes: the handlers make the values. */
Test(big_batch, calls_that_write_far_more_than_their_requests_commit)
{
	Dobj__Test__Op fill = DOBJ__TEST__OP__INIT;

	fill_op(&fill, NKEYS);
	run_held(&fill);
}

/* One call may write 256 MiB at most: the write past it fails, and the rest of the turn is
 * the handler's to decide (here it fails, so nothing is written). */
Test(big_batch, a_call_may_write_256_MiB_at_most)
{
	static const char *const args[] = {"--shards", "1", NULL};
	Dobj__Test__Op fill = DOBJ__TEST__OP__INIT, fail = DOBJ__TEST__OP__INIT;
	Dobj__Test__Op *ops[2] = {&fill, &fail}, *get = fx_op("get", "f000000", NULL);
	Dobj__Test__ScriptResult *r;
	char msg[512], *n;

	fx_stack_restart(&db, &srv, &cl, args);
	fill_op(&fill, 2100); /* 262.5 MiB of values */
	r = fx_kv_run_ok(cl, "capped", ops, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_RESOURCE_EXHAUSTED, "%s",
	             dobj_err_name((dobj_err)r->results[0]->status));
	cr_assert(strstr(r->results[0]->message, "limit of 256 MiB that one call may write") !=
	              NULL,
	          "%s", r->results[0]->message);
	cr_assert(r->results[0]->count > 1900 && r->results[0]->count < 2048, "%llu keys put",
	          (unsigned long long)r->results[0]->count);
	dobj__test__script_result__free_unpacked(r, NULL);

	/* the same with the handler failing after it: nothing was written */
	fail.kind = "fail";
	cr_assert_neq(fx_kv_run(cl, "failed", ops, 2, &r, msg, sizeof(msg)), DOBJ_OK);
	r = fx_kv_run_ok(cl, "failed", &get, 1);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND);
	dobj__test__script_result__free_unpacked(r, NULL);
	n = fx_db_query1(&db, "SELECT count(DISTINCT id) FROM dobj_storage");
	cr_assert_str_eq(n, "1", "only the first call's writes are stored");
	free(n);
}
