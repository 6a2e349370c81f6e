/* SPDX-License-Identifier: MIT */
/* calls.h - typed calls on the example and test classes, for the integration tests. */
#ifndef DOBJ_TEST_CALLS_H
#define DOBJ_TEST_CALLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <dobj/client.h>

#include "testkv.pb-c.h"

/* fx_client opens a client on url with the given default timeout; fails the test if not. */
dobj_client *fx_client(const char *url, int timeout_ms);

/* fx_counter calls Counter.<method> on the object named name; *count gets the resulting
 * value on DOBJ_OK. amount is ignored except for "increment". */
dobj_err fx_counter(dobj_client *c, const char *name, const char *method, int64_t amount,
                    int64_t *count);

/* fx_kv_run runs a TestKV script on the object named name. On DOBJ_OK *out holds the
 * decoded result (free with dobj__test__script_result__free_unpacked(*out, NULL)); on an
 * error *out is NULL and, if msg is not NULL, the server's message is copied to msg. */
dobj_err fx_kv_run(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n,
                   Dobj__Test__ScriptResult **out, char *msg, size_t msglen);

/* fx_kv_run_ok is fx_kv_run asserting that the call succeeds with a result per op. */
Dobj__Test__ScriptResult *fx_kv_run_ok(dobj_client *c, const char *name, Dobj__Test__Op **ops,
                                       size_t n);

/* fx_reply: the status and message of one asynchronous call's reply, for a test that keeps
 * several calls in flight. Initialize with FX_REPLY_INIT; mu protects the other fields. */
typedef struct fx_reply {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	dobj_err status;
	char message[256];
} fx_reply;

#define FX_REPLY_INIT                                                                   \
	{                                                                               \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_OK, "" \
	}

/* fx_reply_cb is a dobj_call_cb whose arg is an fx_reply: it records the reply and wakes
 * fx_reply_await. A callback of a test's own may end with it. */
void fx_reply_cb(void *arg, dobj_reply *reply);

/* fx_reply_await waits, without a deadline (the suite's timeout is one), until w's reply came. */
void fx_reply_await(fx_reply *w);

/* fx_kv_run_async starts a TestKV script on the object named name; its reply goes to w
 * (fx_reply_cb). fx_kv_run_async_cb hands it to cb(w, reply) instead. */
void fx_kv_run_async(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n, fx_reply *w);
void fx_kv_run_async_cb(dobj_client *c, const char *name, Dobj__Test__Op **ops, size_t n,
                        dobj_call_cb cb, fx_reply *w);

/* fx_kv_name_in_shard writes into buf a TestKV object name, starting with prefix, that shard
 * `shard` of nshards owns. */
void fx_kv_name_in_shard(dobj_client *c, const char *prefix, unsigned shard, unsigned nshards,
                         char *buf, size_t len);

/* fx_op_* build ops on the stack-free heap; they live until fx_ops_free(). */
Dobj__Test__Op *fx_op(const char *kind, const char *key, const char *value);
void fx_ops_free(void);

#endif /* DOBJ_TEST_CALLS_H */
