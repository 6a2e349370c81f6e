/* SPDX-License-Identifier: MIT */
/* stack.h - what most integration tests start in their setup and stop in their teardown: a
 * migrated database of their own, dobjd on it (the binary fx_server_use chose) and a client. */
#ifndef DOBJ_TEST_STACK_H
#define DOBJ_TEST_STACK_H

#include <stddef.h>

#include <dobj/client.h>

#include "fixture.h"

/* The client's default call timeout. */
#define FX_CLIENT_TIMEOUT_MS 20000

/* fx_stack_up creates and migrates db, starts srv on it with extra args (or NULL) and
 * connects *cl. */
void fx_stack_up(fx_db *db, fx_server *srv, dobj_client **cl, const char *const *args);

/* fx_stack_restart stops srv and starts it again on the same port with args, and replaces
 * *cl with a client of the new process. */
void fx_stack_restart(fx_db *db, fx_server *srv, dobj_client **cl, const char *const *args);

/* fx_stack_down closes *cl, stops srv if it runs (asserting a clean exit), drops db and
 * frees the ops made with fx_op. */
void fx_stack_down(fx_db *db, fx_server *srv, dobj_client **cl);

/* fx_http_url picks a free port for --http-listen, writes "http://127.0.0.1:PORT" into url
 * and returns the port. */
int fx_http_url(char *url, size_t len);

/* FX_STACK_SUITE declares a test file's db, srv and cl and a Criterion suite (criterion.h
 * included first) whose every test runs against them: up before it, on the built binary
 * `server` ("dobjd", "dobjd-test"), down after it. */
#define FX_STACK_SUITE(suite, server, secs)        \
	static fx_db db;                           \
	static fx_server srv;                      \
	static dobj_client *cl;                    \
	static void suite##_up(void)               \
	{                                          \
		fx_server_use(server);             \
		fx_stack_up(&db, &srv, &cl, NULL); \
	}                                          \
	static void suite##_down(void)             \
	{                                          \
		fx_stack_down(&db, &srv, &cl);     \
	}                                          \
	TestSuite(suite, .init = suite##_up, .fini = suite##_down, .timeout = (secs))

#endif /* DOBJ_TEST_STACK_H */
