// SPDX-License-Identifier: MIT
// big_batch_test.c - calls whose values add up to more than 1 GiB, queued at once on one shard:
// each is within the default limits (128 KiB values, 128 keys per put_many, 16 MiB requests),
// and together they would make one upsert over PostgreSQL's 1 GiB message limit. The shard
// hands its batch over every 64 MiB of requests and the commit thread joins batches up to
// 256 MiB, so they all commit.

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

Test(big_batch, a_batch_of_calls_within_the_limits_commits)
{
	static const char *const args[] = {"--shards", "1", NULL};
	Dobj__Test__Op hold = DOBJ__TEST__OP__INIT, put = DOBJ__TEST__OP__INIT;
	Dobj__Test__Op *ops[1];
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	char marker[64], *keys[NKEYS], *n;
	ProtobufCBinaryData vals[NKEYS];
	uint8_t *val = malloc(VLEN), *buf, hbuf[256];
	size_t len, hlen;
	dobj_stub s;
	dobj_call_opts opts = {200000};

	cr_assert_not_null(val);
	memset(val, 'v', VLEN);
	fx_stack_restart(&db, &srv, &cl, args);

	/* hold the shard while the big calls queue up, so that they run as one batch */
	snprintf(marker, sizeof(marker), "/tmp/dobj-bigbatch-%ld", (long)getpid());
	unlink(marker);
	hold.kind = "sleep";
	hold.key = marker;
	hold.has_sleep_ms = 1;
	hold.sleep_ms = 12000;
	ops[0] = &hold;
	script.ops = ops;
	script.n_ops = 1;
	hlen = dobj__test__script__pack(&script, hbuf);
	cr_assert_eq(dobj_singleton(cl, "TestKV", "holder", &s), DOBJ_OK);
	cr_assert_eq(dobj_call_async(&s, "run", hbuf, hlen, &opts, cb, NULL), DOBJ_OK);
	for (int waited = 0; access(marker, F_OK) != 0; waited++) {
		cr_assert_lt(waited, 10000, "the holder did not run");
		fx_nap_ms(1);
	}
	unlink(marker);

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
	ops[0] = &put;
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
	n = fx_db_query1(&db, "SELECT count(*) FROM dobj_storage");
	fprintf(stderr, "big_batch: %d of %d calls OK, %s rows stored; first error: %s\n", nok,
	        NCALLS + 1, n, first_err);
	cr_assert_eq(nok, NCALLS + 1, "%d of %d calls OK; first error: %s", nok, NCALLS + 1,
	             first_err);
	free(n);
	free(buf);
	free(val);
	for (int i = 0; i < NKEYS; i++)
		free(keys[i]);
}
