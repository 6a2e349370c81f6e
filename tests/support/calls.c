// SPDX-License-Identifier: MIT
// calls.c - typed calls on Counter and TestKV over a real client, for integration tests:
// synchronous, or asynchronous with their replies collected in an fx_reply.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "counter/counter.pb-c.h"

dobj_client *
fx_client(const char *url, int timeout_ms)
{
	dobj_client_opts o = {.url = url, .default_timeout_ms = timeout_ms};
	dobj_client *c = NULL;
	dobj_err rc = dobj_client_open(&c, &o);

	cr_assert_eq(rc, DOBJ_OK, "could not open a client on %s: %s", url, dobj_err_name(rc));
	return c;
}

dobj_err
fx_counter(dobj_client *c, const char *name, const char *method, int64_t amount, int64_t *count)
{
	Dobj__Examples__Counter__IncrementRequest req =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	uint8_t buf[32];
	size_t len = 0;
	dobj_reply r;
	dobj_stub s;
	dobj_err rc;

	cr_assert_eq(dobj_singleton(c, "Counter", name, &s), DOBJ_OK);
	if (strcmp(method, "increment") == 0) {
		req.amount = amount;
		len = dobj__examples__counter__increment_request__pack(&req, buf);
	}
	rc = dobj_call(&s, method, buf, len, NULL, &r);
	if (rc == DOBJ_OK && count != NULL) {
		Dobj__Examples__Counter__CountReply *rep =
		    dobj__examples__counter__count_reply__unpack(NULL, r.len, r.data);
		cr_assert_not_null(rep, "undecodable CountReply");
		*count = rep->count;
		dobj__examples__counter__count_reply__free_unpacked(rep, NULL);
	}
	dobj_reply_fini(&r);
	return rc;
}

dobj_err
fx_kv_run(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n,
          Dobj__Test__ScriptResult **out, char *msg, size_t msglen)
{
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	dobj_reply r;
	dobj_stub s;
	dobj_err rc;
	uint8_t *buf;
	size_t len;

	*out = NULL;
	script.ops = ops;
	script.n_ops = n;
	len = dobj__test__script__get_packed_size(&script);
	buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	dobj__test__script__pack(&script, buf);
	cr_assert_eq(dobj_singleton(c, "TestKV", name, &s), DOBJ_OK);
	rc = dobj_call(&s, "run", buf, len, NULL, &r);
	free(buf);
	if (rc == DOBJ_OK) {
		*out = dobj__test__script_result__unpack(NULL, r.len, r.data);
		cr_assert_not_null(*out, "undecodable ScriptResult");
	} else if (msg != NULL) {
		snprintf(msg, msglen, "%s", r.message);
	}
	dobj_reply_fini(&r);
	return rc;
}

/* Ops made by fx_op live on one list until fx_ops_free. */
static Dobj__Test__Op **made;
static size_t nmade;

Dobj__Test__Op *
fx_op(const char *kind, const char *key, const char *value)
{
	Dobj__Test__Op *op = calloc(1, sizeof(*op));

	cr_assert_not_null(op);
	dobj__test__op__init(op);
	op->kind = strdup(kind);
	op->key = key ? strdup(key) : NULL;
	if (value != NULL) {
		op->has_value = 1;
		op->value.data = (uint8_t *)strdup(value);
		op->value.len = strlen(value);
	}
	made = realloc(made, (nmade + 1) * sizeof(*made));
	made[nmade++] = op;
	return op;
}

void
fx_ops_free(void)
{
	for (size_t i = 0; i < nmade; i++) {
		Dobj__Test__Op *op = made[i];
		free(op->kind);
		free(op->key);
		free(op->value.data);
		for (size_t k = 0; k < op->n_keys; k++)
			free(op->keys[k]);
		free(op->keys);
		for (size_t k = 0; k < op->n_values; k++)
			free(op->values[k].data);
		free(op->values);
		free(op->ops);
		free(op->prefix);
		free(op->start);
		free(op->start_after);
		free(op->end);
		free(op);
	}
	free(made);
	made = NULL;
	nmade = 0;
}

Dobj__Test__ScriptResult *
fx_kv_run_ok(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n)
{
	Dobj__Test__ScriptResult *r;
	char msg[512] = "";
	dobj_err rc = fx_kv_run(c, name, ops, n, &r, msg, sizeof(msg));

	cr_assert_eq(rc, DOBJ_OK, "script failed: %s: %s", dobj_err_name(rc), msg);
	cr_assert_eq(r->n_results, n);
	return r;
}

void
fx_reply_cb(void *arg, dobj_reply *reply)
{
	fx_reply *w = arg;

	pthread_mutex_lock(&w->mu);
	w->status = reply->status;
	snprintf(w->message, sizeof(w->message), "%s", reply->message);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
fx_reply_await(fx_reply *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void
fx_kv_run_async_cb(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n,
                   dobj_call_cb cb, fx_reply *w)
{
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	dobj_stub s;
	uint8_t *buf;
	size_t len;

	script.ops = ops;
	script.n_ops = n;
	len = dobj__test__script__get_packed_size(&script);
	buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	dobj__test__script__pack(&script, buf);
	cr_assert_eq(dobj_singleton(c, "TestKV", name, &s), DOBJ_OK);
	/* the request is encoded before the call returns: buf is free to go */
	cr_assert_eq(dobj_call_async(&s, "run", buf, len, NULL, cb, w), DOBJ_OK);
	free(buf);
}

void
fx_kv_run_async(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n, fx_reply *w)
{
	fx_kv_run_async_cb(c, name, ops, n, fx_reply_cb, w);
}

void
fx_kv_name_in_shard(dobj_client *c, const char *prefix, unsigned shard, unsigned nshards, char *buf,
                    size_t len)
{
	for (int i = 0; i < 1000; i++) {
		dobj_stub s;
		snprintf(buf, len, "%s%d", prefix, i);
		cr_assert_eq(dobj_singleton(c, "TestKV", buf, &s), DOBJ_OK);
		if (dobj_id_shard(&s.id, nshards) == shard)
			return;
	}
	cr_assert_fail("no name for shard %u", shard);
}
