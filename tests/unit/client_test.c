// SPDX-License-Identifier: MIT
// client_test.c - dobj_client against a real nng rep0 peer run by the test (tests/support/peer.c):
// what the request carries, what comes back, deadlines, async completion, close with calls in
// flight, bad replies, bad arguments, many threads on one client, and async calls on the
// contexts of finished ones. Calls made while the
// client has no connection are in client_wait_test.c.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include <dobj/client.h>
#include <dobj/object.h>
#include <dobj/wire.pb-c.h>

#include "calls.h"
#include "reply.h"
#include "peer.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(client, request_fields_arrive_as_sent)
{
	static const uint8_t arg[] = {0x08, 0x05, 0x00, 0xff};
	dobj_call_opts opts = {.timeout_ms = 1234};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "global", &stub);
	cr_assert_eq(dobj_call(&stub, "increment", arg, sizeof(arg), &opts, &reply), DOBJ_OK, "%s",
	             reply.message);

	pthread_mutex_lock(&p.mtx);
	cr_assert_eq(p.nreceived, 1);
	cr_assert_eq(p.last->class_name.len, 7);
	cr_assert_arr_eq(p.last->class_name.data, "Counter", 7);
	cr_assert_eq(p.last->id.len, DOBJ_ID_SIZE);
	cr_assert_arr_eq(p.last->id.data, stub.id.bytes, DOBJ_ID_SIZE);
	cr_assert_eq(p.last->method.len, 9);
	cr_assert_arr_eq(p.last->method.data, "increment", 9);
	/* the time left when it was sent: the client's first connection may take a moment */
	cr_assert(p.last->timeout_ms <= 1234 && p.last->timeout_ms > 1234 - 1000, "%u",
	          p.last->timeout_ms);
	cr_assert_eq(p.last->payload.len, sizeof(arg));
	cr_assert_arr_eq(p.last->payload.data, arg, sizeof(arg));
	cr_assert_neq(p.last->request_id, 0);
	pthread_mutex_unlock(&p.mtx);

	cr_assert_str_eq(reply.message, "");
	cr_assert_eq(reply.len, sizeof(arg));
	cr_assert_arr_eq(reply.data, arg, sizeof(arg));
	dobj_reply_fini(&reply);
	cr_assert_null(reply.data);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, default_timeout_is_sent_when_the_call_gives_none)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	fx_peer_start(&p, "tcp://127.0.0.1:0", FX_PEER_ECHO);
	c = fx_client(p.url, 0);
	cr_assert_eq(dobj_stub_unique(c, "Counter", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_OK);
	pthread_mutex_lock(&p.mtx);
	cr_assert(p.last->timeout_ms <= DOBJ_DEFAULT_TIMEOUT_MS &&
	              p.last->timeout_ms > DOBJ_DEFAULT_TIMEOUT_MS - 1000,
	          "%u", p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	cr_assert_eq(reply.len, 0);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, error_status_and_message_come_back)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Order", "o-1", &stub);
	cr_assert_eq(dobj_call(&stub, "fail", "x", 1, NULL, &reply), DOBJ_FAILED_PRECONDITION);
	cr_assert_eq(reply.status, DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(reply.message, "state is \"done\"");
	cr_assert_null(reply.data);
	cr_assert_eq(reply.len, 0);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, silent_server_gives_deadline_exceeded_within_the_deadline)
{
	dobj_call_opts opts = {.timeout_ms = 300};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	long start, took;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_SILENT, "Counter", "slow", &stub);
	start = now_ms();
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_DEADLINE_EXCEEDED);
	took = now_ms() - start;
	cr_assert_geq(took, 290, "gave up after %ld ms", took);
	cr_assert_lt(took, 3000, "gave up after %ld ms", took);
	cr_assert(strstr(reply.message, "no reply from tcp://127.0.0.1:") != NULL, "%s",
	          reply.message);
	cr_assert(strstr(reply.message, "within 300 ms") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	fx_peer_wait_received(&p, 1);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, async_callback_runs_exactly_once)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	fx_async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "async", &stub);
	cr_assert_eq(dobj_call_async(&stub, "get", "abc", 3, NULL, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	dobj_client_close(c); /* waits for every callback: no second run can follow */
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_OK, "%s", a.message);
	cr_assert_eq(a.len, 3);
	cr_assert_arr_eq(a.data, "abc", 3);
	free(a.data);
	fx_peer_stop(&p);
}

Test(client, async_timeout_runs_callback_once_with_deadline_exceeded)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 200};
	fx_async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_SILENT, "Counter", "async", &stub);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	dobj_client_close(c);
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_DEADLINE_EXCEEDED, "%s", a.message);
	cr_assert_null(a.data);
	fx_peer_stop(&p);
}

Test(client, close_cancels_calls_in_flight)
{
	enum { NCALLS = 6 };
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 60000};
	fx_async_result a[NCALLS];
	dobj_stub stub;
	dobj_client *c;
	long start;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_SILENT, "Counter", "busy", &stub);
	for (int i = 0; i < NCALLS; i++) {
		a[i] = (fx_async_result){.w = &w};
		cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, fx_on_reply, &a[i]),
		             DOBJ_OK);
	}
	fx_peer_wait_received(&p, NCALLS); /* every call is waiting for its reply */
	start = now_ms();
	dobj_client_close(c);
	cr_assert_lt(now_ms() - start, 5000);
	cr_assert_eq(w.done, NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		cr_assert_eq(a[i].runs, 1, "call %d ran %u times", i, a[i].runs);
		cr_assert_eq(a[i].status, DOBJ_CANCELLED, "call %d: %s", i, a[i].message);
	}
	fx_peer_stop(&p);
}

Test(client, reply_with_wrong_request_id_is_an_internal_error)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_WRONG_ID, "Counter", "x", &stub);
	cr_assert_eq(dobj_call(&stub, "get", "data", 4, NULL, &reply), DOBJ_INTERNAL);
	cr_assert(strstr(reply.message, "expected") != NULL, "%s", reply.message);
	cr_assert_null(reply.data);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

Test(client, garbage_reply_is_an_internal_error)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	fx_async_result a = {.w = &w};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_GARBAGE, "Counter", "x", &stub);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_INTERNAL);
	cr_assert(strstr(reply.message, "could not decode the reply") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, fx_on_reply, &a), DOBJ_OK);
	fx_waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_INTERNAL, "%s", a.message);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

/* A reply of many tiny fields is refused before it takes more than 4 times its size: 16 MiB
 * of two-byte unknown fields took about 1 GiB of the client's memory to decode, from a
 * broken or hostile server. */
Test(client, reply_of_many_tiny_fields_is_an_internal_error)
{
	size_t len = (size_t)4 << 20;
	uint8_t *buf = malloc(len);
	dobj_reply reply;

	cr_assert_not_null(buf);
	buf[0] = 0x08; /* request_id 1 */
	buf[1] = 0x01;
	for (size_t i = 2; i < len; i += 2) {
		buf[i] = 0x78; /* field 15, a varint: unknown to Response */
		buf[i + 1] = 0;
	}
	cr_assert_eq(dobj__reply_decode("tcp://x:1", 1, buf, len, &reply, NULL), DOBJ_INTERNAL);
	cr_assert(strstr(reply.message, "too many fields") != NULL, "%s", reply.message);
	cr_assert_null(reply.data);
	dobj_reply_fini(&reply);
	/* the same reply without them is an OK */
	cr_assert_eq(dobj__reply_decode("tcp://x:1", 1, buf, 2, &reply, NULL), DOBJ_OK);
	dobj_reply_fini(&reply);
	free(buf);
}

/* dobj_reply_unpack, which the generated stubs decode a result with, refuses a result that
 * would take more than 4 times its size plus 64 MiB to decode (4 MiB of unknown fields: 134). */
Test(client, result_of_many_tiny_fields_is_not_unpacked)
{
	dobj_reply r = {.status = DOBJ_OK, .len = (size_t)4 << 20};
	Dobj__Wire__Response *m;

	cr_assert_not_null(r.data = malloc(r.len));
	for (size_t i = 0; i < r.len; i += 2) {
		r.data[i] = 0x78; /* field 15, a varint: unknown to Response */
		r.data[i + 1] = 0;
	}
	cr_assert_null(dobj_reply_unpack(&r, &dobj__wire__response__descriptor));
	r.len = 2;
	r.data[0] = 0x08; /* request_id 7 */
	r.data[1] = 0x07;
	m = (Dobj__Wire__Response *)dobj_reply_unpack(&r, &dobj__wire__response__descriptor);
	cr_assert_not_null(m);
	cr_assert_eq(m->request_id, 7);
	protobuf_c_message_free_unpacked(&m->base, NULL);
	dobj_reply_fini(&r);
}

Test(client, bad_url_is_invalid_argument)
{
	static const char *const bad[] = {"", "nonsense", "foo://127.0.0.1:1", "tcp://"};
	dobj_client_opts opts = {0};
	dobj_client *c = (dobj_client *)&opts;

	cr_assert_eq(dobj_client_open(&c, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_null(c);
	cr_assert_eq(dobj_client_open(&c, &opts), DOBJ_INVALID_ARGUMENT);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts.url = bad[i];
		cr_assert_eq(dobj_client_open(&c, &opts), DOBJ_INVALID_ARGUMENT, "url \"%s\"",
		             bad[i]);
		cr_assert_null(c);
	}
	opts.url = "tcp://127.0.0.1:7700";
	opts.default_timeout_ms = -1;
	cr_assert_eq(dobj_client_open(&c, &opts), DOBJ_INVALID_ARGUMENT);
	dobj_client_close(NULL);
}

/* tls+tcp:// verifies the server: without a CA (or the insecure opt-in) there is no client,
 * rather than calls that time out; TLS options with another URL are refused too. */
Test(client, a_tls_url_needs_a_ca_or_the_insecure_opt_in)
{
	dobj_client_opts opts = {.url = "tls+tcp://127.0.0.1:7700"};
	dobj_client *c = NULL;
	char why[512];

	cr_assert_eq(dobj_client_open(&c, &opts), DOBJ_INVALID_ARGUMENT);
	cr_assert_null(c);
	cr_assert_eq(dobj_client_open_err(&c, &opts, why, sizeof(why)), DOBJ_INVALID_ARGUMENT);
	cr_assert(strstr(why, "CA file") != NULL, "%s", why);
	opts.tls_ca_file = "/nonexistent/ca.pem";
	cr_assert_eq(dobj_client_open_err(&c, &opts, why, sizeof(why)), DOBJ_NOT_FOUND);
	cr_assert(strstr(why, "/nonexistent/ca.pem") != NULL, "%s", why);
	cr_assert_null(c);
	opts.tls_ca_file = NULL;
	opts.tls_insecure_skip_verify = 1;
	cr_assert_eq(dobj_client_open_err(&c, &opts, why, sizeof(why)), DOBJ_OK, "%s", why);
	cr_assert_not_null(c);
	dobj_client_close(c);
	c = NULL;
	opts.url = "tcp://127.0.0.1:7700";
	cr_assert_eq(dobj_client_open_err(&c, &opts, why, sizeof(why)), DOBJ_INVALID_ARGUMENT);
	cr_assert(strstr(why, "tls+tcp://") != NULL, "%s", why);
	cr_assert_null(c);
}

Test(client, bad_class_or_method_is_invalid_argument)
{
	char long_name[DOBJ_CLASS_NAME_MAX + 2];
	dobj_call_opts neg = {.timeout_ms = -5};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	dobj_id id = {{0}};

	c = fx_client("tcp://127.0.0.1:1", 0);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0'; /* DOBJ_CLASS_NAME_MAX + 1 bytes */
	cr_assert_eq(dobj_singleton(c, long_name, "x", &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_singleton(c, "", "x", &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_singleton(c, NULL, "x", &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_singleton(c, "Counter", NULL, &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_stub_from_id(c, "", &id, &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_stub_unique(c, long_name, &stub), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_stub_from_string(c, "Counter", "zz", &stub), DOBJ_INVALID_ARGUMENT);
	long_name[DOBJ_CLASS_NAME_MAX] = '\0'; /* exactly the maximum is fine */
	cr_assert_eq(dobj_singleton(c, long_name, "x", &stub), DOBJ_OK);
	cr_assert_str_eq(stub.class_name, long_name);

	cr_assert_eq(dobj_call(&stub, "", NULL, 0, NULL, &reply), DOBJ_INVALID_ARGUMENT);
	cr_assert_not_null(reply.message);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, NULL, NULL, 0, NULL, &reply), DOBJ_INVALID_ARGUMENT);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 3, NULL, &reply), DOBJ_INVALID_ARGUMENT);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &neg, &reply), DOBJ_INVALID_ARGUMENT);
	dobj_reply_fini(&reply);
	memset(stub.class_name, 0, sizeof(stub.class_name)); /* a stub made by hand, badly */
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_INVALID_ARGUMENT);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, fx_on_reply, NULL),
	             DOBJ_INVALID_ARGUMENT);
	dobj_client_close(c);
}

/* A request is bounded as a whole, not only its argument: a long method name with a big
 * argument is refused before sending. Sent, it would be over what dobjd receives, and dobjd
 * would drop the connection, failing every other call on it as "may have run". */
Test(client, a_request_over_the_message_limit_is_refused_before_sending)
{
	size_t mlen = 2u << 20, alen = DOBJ_MESSAGE_MAX - 8192;
	char *method = malloc(mlen + 1);
	void *arg = calloc(1, alen);
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;
	dobj_err rc;

	cr_assert(method != NULL && arg != NULL);
	memset(method, 'm', mlen);
	method[mlen] = '\0';
	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "big", &stub);
	rc = dobj_call(&stub, method, arg, alen, NULL, &reply);
	cr_assert_eq(rc, DOBJ_INVALID_ARGUMENT, "%s: %s", dobj_err_name(rc), reply.message);
	cr_assert_eq(p.nreceived, 0);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, method, arg, alen, NULL, fx_on_reply, NULL),
	             DOBJ_INVALID_ARGUMENT);
	dobj_client_close(c);
	fx_peer_stop(&p);
	free(method);
	free(arg);
}

typedef struct worker_arg {
	dobj_client *client;
	int index;
	int ok;
} worker_arg;

enum { NTHREADS = 8, NCALLS_PER_THREAD = 200 };

static void *
worker_call(void *arg)
{
	worker_arg *wa = arg;
	dobj_call_opts opts = {.timeout_ms = FX_WAIT_MS};
	char name[32], payload[64];
	dobj_reply reply;
	dobj_stub stub;

	snprintf(name, sizeof(name), "worker-%d", wa->index);
	if (dobj_singleton(wa->client, "Counter", name, &stub) != DOBJ_OK)
		return NULL;
	for (int i = 0; i < NCALLS_PER_THREAD; i++) {
		int n = snprintf(payload, sizeof(payload), "thread %d call %d", wa->index, i);

		if (dobj_call(&stub, "echo", payload, (size_t)n, &opts, &reply) == DOBJ_OK &&
		    reply.len == (size_t)n && memcmp(reply.data, payload, (size_t)n) == 0)
			wa->ok++;
		dobj_reply_fini(&reply);
	}
	return NULL;
}

Test(client, concurrent_sync_calls_get_their_own_replies, .timeout = 120)
{
	pthread_t threads[NTHREADS];
	worker_arg args[NTHREADS];
	dobj_client *c;
	fx_peer p;

	fx_peer_start(&p, "tcp://127.0.0.1:0", FX_PEER_ECHO);
	c = fx_client(p.url, 0);
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (worker_arg){.client = c, .index = i};
		cr_assert_eq(pthread_create(&threads[i], NULL, worker_call, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(threads[i], NULL);
		cr_assert_eq(args[i].ok, NCALLS_PER_THREAD, "thread %d: %d of %d calls right", i,
		             args[i].ok, NCALLS_PER_THREAD);
	}
	cr_assert_eq(p.nreceived, NTHREADS * NCALLS_PER_THREAD);
	dobj_client_close(c);
	fx_peer_stop(&p);
}

/* An asynchronous call's context is kept for the next call when it ends (client.c). The late
 * reply of a call that timed out must not reach the call that follows it on that context. */
Test(client, async_call_after_a_timeout_gets_its_own_reply)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts quick = {.timeout_ms = 100}, patient = {.timeout_ms = FX_WAIT_MS};
	fx_async_result first = {.w = &w}, second = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	fx_peer p;

	c = fx_peer_client(&p, FX_PEER_ECHO, "Counter", "late", &stub);
	cr_assert_eq(dobj_call_async(&stub, "slow", "first", 5, &quick, fx_on_reply, &first),
	             DOBJ_OK);
	fx_waiter_wait(&w, 1);
	cr_assert_eq(first.status, DOBJ_DEADLINE_EXCEEDED, "%s", first.message);
	/* answered after "first"'s late reply has come back */
	cr_assert_eq(dobj_call_async(&stub, "slow", "second", 6, &patient, fx_on_reply, &second),
	             DOBJ_OK);
	fx_waiter_wait(&w, 2);
	cr_assert_eq(second.status, DOBJ_OK, "%s", second.message);
	cr_assert_eq(second.len, 6);
	cr_assert_arr_eq(second.data, "second", 6);
	dobj_client_close(c);
	cr_assert_eq(first.runs, 1);
	cr_assert_eq(second.runs, 1);
	cr_assert_eq(p.nreceived, 2);
	free(second.data);
	fx_peer_stop(&p);
}

enum { NCHAINS = 8, NCHAIN_CALLS = 300 };

/* chain: a run of asynchronous calls, each started from the callback of the one before. */
typedef struct chain {
	dobj_stub stub;
	fx_waiter *w;
	int index, next; /* next: the number of the call to start */
	int ok;          /* replies that carried their own call's payload */
	char payload[64];
	int len;
} chain;

static void chain_cb(void *arg, dobj_reply *r);

static void
chain_send(chain *ch)
{
	ch->len =
	    snprintf(ch->payload, sizeof(ch->payload), "chain %d call %d", ch->index, ch->next++);
	FX_CHECK(dobj_call_async(&ch->stub, "echo", ch->payload, (size_t)ch->len, NULL, chain_cb,
	                         ch) == DOBJ_OK);
}

static void
chain_cb(void *arg, dobj_reply *r)
{
	chain *ch = arg;

	if (r->status == DOBJ_OK && r->len == (size_t)ch->len &&
	    memcmp(r->data, ch->payload, (size_t)ch->len) == 0)
		ch->ok++;
	if (ch->next < NCHAIN_CALLS) {
		chain_send(ch);
		return;
	}
	pthread_mutex_lock(&ch->w->mtx);
	ch->w->done++;
	pthread_cond_broadcast(&ch->w->cv);
	pthread_mutex_unlock(&ch->w->mtx);
}

Test(client, async_calls_started_from_callbacks_get_their_own_replies, .timeout = 120)
{
	fx_waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	chain chains[NCHAINS];
	dobj_client *c;
	fx_peer p;

	fx_peer_start(&p, "tcp://127.0.0.1:0", FX_PEER_ECHO);
	c = fx_client(p.url, 0);
	for (int i = 0; i < NCHAINS; i++) {
		chains[i] = (chain){.w = &w, .index = i};
		cr_assert_eq(dobj_singleton(c, "Counter", "chain", &chains[i].stub), DOBJ_OK);
	}
	for (int i = 0; i < NCHAINS; i++)
		chain_send(&chains[i]);
	fx_waiter_wait(&w, NCHAINS);
	for (int i = 0; i < NCHAINS; i++)
		cr_assert_eq(chains[i].ok, NCHAIN_CALLS, "chain %d: %d of %d replies right", i,
		             chains[i].ok, NCHAIN_CALLS);
	cr_assert_eq(p.nreceived, NCHAINS * NCHAIN_CALLS);
	dobj_client_close(c);
	fx_peer_stop(&p);
}
