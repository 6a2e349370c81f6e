// SPDX-License-Identifier: MIT
// testkv.c - TestKV, a class for the integration tests: its one method runs a script of
// storage calls and reports each call's status and output. An op "fail" makes the handler
// return an error (so the turn's writes must vanish); "txn" runs a nested body through
// dobj_storage_transaction and can fail it; "sleep" holds the shard for a while (and creates
// the file named by its key first, so that a test can wait until the shard is busy).

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dobj/alarm.h>
#include <dobj/storage.h>

#include "testkv.h"
#include "testkv.pb-c.h"

typedef struct run_state {
	dobj_ctx *ctx;
	Dobj__Test__OpResult **results;
	size_t n;
	bool failed; /* an op asked the handler to fail */
} run_state;

static dobj_err run_ops(dobj_ctx *ctx, Dobj__Test__Op **ops, size_t n, Dobj__Test__OpResult ***out,
                        size_t *nout, bool *failed);

static void *
arena(dobj_ctx *ctx, size_t size)
{
	void *p = dobj_ctx_alloc(ctx, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

static Dobj__Test__Entry **
make_entries(dobj_ctx *ctx, const dobj_kv *kv, size_t n, size_t *nout)
{
	Dobj__Test__Entry **e = arena(ctx, (n ? n : 1) * sizeof(*e));

	for (size_t i = 0; i < n; i++) {
		e[i] = arena(ctx, sizeof(**e));
		dobj__test__entry__init(e[i]);
		e[i]->key = (char *)kv[i].key;
		e[i]->value.data = (uint8_t *)kv[i].value.data;
		e[i]->value.len = kv[i].value.len;
	}
	*nout = n;
	return e;
}

typedef struct txn_arg {
	Dobj__Test__Op *op;
	Dobj__Test__OpResult *res;
} txn_arg;

static dobj_err
txn_body(dobj_ctx *ctx, void *p)
{
	txn_arg *t = p;
	bool failed = false;
	dobj_err rc =
	    run_ops(ctx, t->op->ops, t->op->n_ops, &t->res->results, &t->res->n_results, &failed);

	if (rc != DOBJ_OK)
		return rc;
	if (t->op->has_fail && t->op->fail)
		return dobj_ctx_errorf(ctx, DOBJ_ABORTED, "transaction failed on purpose");
	return failed ? DOBJ_ABORTED : DOBJ_OK;
}

static dobj_err
run_op(dobj_ctx *ctx, Dobj__Test__Op *op, Dobj__Test__OpResult *res, bool *failed)
{
	const char *k = op->kind;
	dobj_err rc = DOBJ_OK;

	if (strcmp(k, "get") == 0) {
		dobj_bytes v;
		rc = dobj_storage_get(ctx, op->key, &v);
		if (rc == DOBJ_OK) {
			res->has_value = 1;
			res->value.data = (uint8_t *)v.data;
			res->value.len = v.len;
		}
	} else if (strcmp(k, "put") == 0) {
		rc = dobj_storage_put(ctx, op->key, op->value.data, op->value.len);
	} else if (strcmp(k, "delete") == 0) {
		bool existed = false;
		rc = dobj_storage_delete(ctx, op->key, &existed);
		res->has_count = 1;
		res->count = existed;
	} else if (strcmp(k, "get_many") == 0) {
		dobj_bytes *v = arena(ctx, (op->n_keys ? op->n_keys : 1) * sizeof(*v));
		dobj_kv *kv = arena(ctx, (op->n_keys ? op->n_keys : 1) * sizeof(*kv));
		size_t found = 0, m = 0;
		rc = dobj_storage_get_many(ctx, (const char *const *)op->keys, op->n_keys, v,
		                           &found);
		for (size_t i = 0; rc == DOBJ_OK && i < op->n_keys; i++)
			if (v[i].data != NULL)
				kv[m++] = (dobj_kv){op->keys[i], v[i]};
		res->entries = make_entries(ctx, kv, m, &res->n_entries);
		res->has_count = 1;
		res->count = found;
	} else if (strcmp(k, "put_many") == 0) {
		size_t n = op->n_keys;
		dobj_kv *kv = arena(ctx, (n ? n : 1) * sizeof(*kv));
		for (size_t i = 0; i < n; i++)
			kv[i] = (dobj_kv){op->keys[i],
			                  {i < op->n_values ? op->values[i].data : NULL,
			                   i < op->n_values ? op->values[i].len : 0}};
		rc = dobj_storage_put_many(ctx, kv, n);
	} else if (strcmp(k, "delete_many") == 0) {
		size_t n = 0;
		rc = dobj_storage_delete_many(ctx, (const char *const *)op->keys, op->n_keys, &n);
		res->has_count = 1;
		res->count = n;
	} else if (strcmp(k, "list") == 0) {
		dobj_list_opts lo = {op->prefix,
		                     op->start,
		                     op->start_after,
		                     op->end,
		                     op->has_reverse && op->reverse,
		                     op->has_limit ? op->limit : 0};
		dobj_kv *kv;
		size_t n;
		rc = dobj_storage_list(ctx, &lo, &kv, &n);
		if (rc == DOBJ_OK)
			res->entries = make_entries(ctx, kv, n, &res->n_entries);
	} else if (strcmp(k, "delete_all") == 0) {
		rc = dobj_storage_delete_all(ctx);
	} else if (strcmp(k, "txn") == 0) {
		txn_arg t = {op, res};
		rc = dobj_storage_transaction(ctx, txn_body, &t);
	} else if (strcmp(k, "fail") == 0) {
		*failed = true;
	} else if (strcmp(k, "sleep") == 0) {
		struct timespec ts = {op->sleep_ms / 1000, (long)(op->sleep_ms % 1000) * 1000000L};
		int fd;
		/* key: a file to create once the sleep starts, so a test knows the shard is busy */
		if (op->key != NULL && (fd = open(op->key, O_CREAT | O_WRONLY, 0600)) >= 0)
			close(fd);
		nanosleep(&ts, NULL);
	} else if (strcmp(k, "alarm_set") == 0) {
		rc = dobj_alarm_set(ctx,
		                    op->has_at_ms ? op->at_ms : dobj_ctx_now_ms(ctx) + op->in_ms);
	} else if (strcmp(k, "alarm_get") == 0) {
		int64_t at = 0;
		rc = dobj_alarm_get(ctx, &at);
		res->has_count = 1;
		res->count = (uint64_t)at;
	} else if (strcmp(k, "alarm_delete") == 0) {
		bool existed = false;
		rc = dobj_alarm_delete(ctx, &existed);
		res->has_count = 1;
		res->count = existed;
	} else if (strcmp(k, "fill") == 0) {
		/* writes far more than the request carries */
		char key[64];
		uint8_t *v = arena(ctx, op->size ? op->size : 1);
		if (v == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "fill: out of memory");
		memset(v, 'f', op->size);
		res->has_count = 1;
		for (uint64_t i = 0; rc == DOBJ_OK && i < op->limit; i++) {
			snprintf(key, sizeof(key), "%s%06llu", op->prefix ? op->prefix : "",
			         (unsigned long long)i);
			if ((rc = dobj_storage_put(ctx, key, v, op->size)) == DOBJ_OK)
				res->count++;
		}
	} else if (strcmp(k, "now") == 0) {
		res->has_count = 1;
		res->count = (uint64_t)dobj_ctx_now_ms(ctx);
	} else {
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "unknown op \"%s\"", k);
	}
	res->status = (uint32_t)rc;
	if (rc != DOBJ_OK)
		res->message = (char *)dobj_ctx_errmsg(ctx);
	return DOBJ_OK;
}

static dobj_err
run_ops(dobj_ctx *ctx, Dobj__Test__Op **ops, size_t n, Dobj__Test__OpResult ***out, size_t *nout,
        bool *failed)
{
	Dobj__Test__OpResult **res = arena(ctx, (n ? n : 1) * sizeof(*res));

	if (res == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	*out = res;
	*nout = 0;
	for (size_t i = 0; i < n && !*failed; i++) {
		dobj_err rc;
		res[i] = arena(ctx, sizeof(**res));
		dobj__test__op_result__init(res[i]);
		if ((rc = run_op(ctx, ops[i], res[i], failed)) != DOBJ_OK)
			return rc;
		/* Copy the message: the next op may overwrite the context's buffer. */
		if (res[i]->message != NULL) {
			size_t len = strlen(res[i]->message);
			char *m = dobj_ctx_alloc(ctx, len + 1);
			memcpy(m, res[i]->message, len + 1);
			res[i]->message = m;
		}
		*nout = i + 1;
	}
	return DOBJ_OK;
}

static dobj_err
testkv_run(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	Dobj__Test__Script *script = dobj__test__script__unpack(NULL, arg->len, arg->data);
	Dobj__Test__ScriptResult out = DOBJ__TEST__SCRIPT_RESULT__INIT;
	bool failed = false;
	dobj_err rc;
	size_t len;
	uint8_t *buf;

	if (script == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "run: could not decode Script");
	rc = run_ops(ctx, script->ops, script->n_ops, &out.results, &out.n_results, &failed);
	if (rc == DOBJ_OK && failed)
		rc = dobj_ctx_errorf(ctx, DOBJ_ABORTED, "script failed on purpose");
	if (rc == DOBJ_OK) {
		len = dobj__test__script_result__get_packed_size(&out);
		if ((buf = dobj_ctx_alloc(ctx, len)) == NULL)
			rc = DOBJ_RESOURCE_EXHAUSTED;
		else
			result->len = dobj__test__script_result__pack(&out, buf);
		result->data = buf;
	}
	dobj__test__script__free_unpacked(script, NULL);
	return rc;
}

/* counter_add adds delta to the decimal count under key and returns the new value. */
static dobj_err
counter_add(dobj_ctx *ctx, const char *key, long delta, long *out)
{
	char buf[32];
	dobj_bytes v;
	long n = 0;
	int len;

	if (dobj_storage_get(ctx, key, &v) == DOBJ_OK && v.len < sizeof(buf)) {
		memcpy(buf, v.data, v.len);
		buf[v.len] = '\0';
		n = strtol(buf, NULL, 10);
	}
	n += delta;
	len = snprintf(buf, sizeof(buf), "%ld", n);
	if (out != NULL)
		*out = n;
	return dobj_storage_put(ctx, key, buf, (size_t)len);
}

/* testkv_alarm: counts runs in key "alarm_runs". If key "alarm_log" names a file, appends the
 * server time of each run to it first (outside the turn, so failed runs are seen too), and
 * fails while the file has fewer lines than key "alarm_fail_times" says, quoting the raw
 * bytes of key "alarm_fail_note" in its message if there is one. If key "alarm_again_ms"
 * holds a number, sets the next alarm that far ahead. */
static dobj_err
testkv_alarm(dobj_ctx *ctx)
{
	char path[256], num[32];
	dobj_bytes v;
	long lines = 0, fail_times = 0, again = 0;
	dobj_err rc;
	int len;

	if (dobj_storage_get(ctx, "alarm_log", &v) == DOBJ_OK && v.len < sizeof(path)) {
		FILE *f;
		int c;

		memcpy(path, v.data, v.len);
		path[v.len] = '\0';
		if ((f = fopen(path, "a")) != NULL) {
			fprintf(f, "%lld\n", (long long)dobj_ctx_now_ms(ctx));
			fclose(f);
		}
		if ((f = fopen(path, "r")) != NULL) {
			while ((c = fgetc(f)) != EOF)
				lines += c == '\n';
			fclose(f);
		}
	}
	if (dobj_storage_get(ctx, "alarm_fail_times", &v) == DOBJ_OK && v.len < sizeof(num)) {
		memcpy(num, v.data, v.len);
		num[v.len] = '\0';
		fail_times = strtol(num, NULL, 10);
	}
	if ((rc = counter_add(ctx, "alarm_runs", 1, NULL)) != DOBJ_OK)
		return rc;
	{
		/* how late this run started, for bench/alarms.sh */
		dobj_alarm_info info;
		if ((rc = dobj_alarm_info_get(ctx, &info)) != DOBJ_OK)
			return rc;
		len = snprintf(num, sizeof(num), "%lld",
		               (long long)(dobj_ctx_now_ms(ctx) - info.due_ms));
		if ((rc = dobj_storage_put(ctx, "alarm_lag_ms", num, (size_t)len)) != DOBJ_OK)
			return rc;
	}
	if (lines <= fail_times && fail_times > 0 &&
	    dobj_storage_get(ctx, "alarm_fail_note", &v) == DOBJ_OK)
		return dobj_ctx_errorf(ctx, DOBJ_ABORTED, "alarm run %ld fails: %.*s", lines,
		                       (int)v.len, (const char *)v.data);
	if (lines <= fail_times && fail_times > 0)
		return dobj_ctx_errorf(ctx, DOBJ_ABORTED, "alarm run %ld fails on purpose", lines);
	if (dobj_storage_get(ctx, "alarm_again_ms", &v) == DOBJ_OK && v.len < sizeof(num)) {
		memcpy(num, v.data, v.len);
		num[v.len] = '\0';
		again = strtol(num, NULL, 10);
		if (again > 0)
			return dobj_alarm_set(ctx, dobj_ctx_now_ms(ctx) + again);
	}
	return DOBJ_OK;
}

static const dobj_method testkv_methods[] = {
    {.name = "run", .fn = testkv_run},
};

const dobj_class testkv_class = {
    .name = "TestKV",
    .methods = testkv_methods,
    .nmethods = sizeof(testkv_methods) / sizeof(testkv_methods[0]),
    .alarm = testkv_alarm,
};
