/* SPDX-License-Identifier: MIT */
/* calls.h - typed calls on the example and test classes, for the integration tests. */
#ifndef DOBJ_TEST_CALLS_H
#define DOBJ_TEST_CALLS_H

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

/* fx_op_* build ops on the stack-free heap; they live until fx_ops_free(). */
Dobj__Test__Op *fx_op(const char *kind, const char *key, const char *value);
void fx_ops_free(void);

#endif /* DOBJ_TEST_CALLS_H */
