// SPDX-License-Identifier: MIT
// client_test.c - dobj_client against a real nng rep0 peer run by the test: what the request
// carries, what comes back, deadlines, async completion, close with calls in flight, bad
// replies, bad arguments and many threads on one client.

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include <dobj/client.h>
#include <dobj/object.h>
#include <dobj/wire.pb-c.h>

#define PEER_WORKERS 4
/* CHECK fails the test from threads other than the test's own, where cr_assert cannot. */
#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                                 \
		}                                                                                \
	} while (0)
#define WAIT_MS 10000 /* longest a test waits for something that should happen at once */

/* peer_mode: how the test's server answers. */
typedef enum peer_mode {
	PEER_ECHO,     /* OK with the request's payload; method "fail" gets FAILED_PRECONDITION */
	PEER_SILENT,   /* never answers */
	PEER_WRONG_ID, /* answers with another request id */
	PEER_GARBAGE,  /* answers with bytes that are no Response */
} peer_mode;

typedef struct peer peer;

/* peer_worker: one thread answering on one rep context. The context and aio are made before
 * the thread starts and freed after it ends: nng 1.5 must not see a context operation race
 * nng_close(). */
typedef struct peer_worker {
	peer *p;
	nng_ctx ctx;
	nng_aio *aio;
	pthread_t thread;
} peer_worker;

struct peer {
	nng_socket sock;
	char url[128];
	peer_mode mode;
	peer_worker workers[PEER_WORKERS];

	pthread_mutex_t mtx;       /* protects last and nreceived */
	pthread_cond_t cv;         /* signalled on each request received */
	Dobj__Wire__Request *last; /* the last request received */
	unsigned nreceived;
};

static void
peer_answer(peer *p, nng_ctx ctx, nng_aio *aio, const Dobj__Wire__Request *req)
{
	Dobj__Wire__Response resp = DOBJ__WIRE__RESPONSE__INIT;
	static const uint8_t garbage[] = {0x08, 0x80}; /* a varint cut short */
	nng_msg *msg;

	resp.request_id = req->request_id;
	if (p->mode == PEER_WRONG_ID)
		resp.request_id += 1000;
	if (strcmp(req->method, "fail") == 0) {
		resp.status = DOBJ_FAILED_PRECONDITION;
		resp.message = "state is \"done\"";
	} else {
		resp.payload = req->payload;
	}
	if (p->mode == PEER_GARBAGE) {
		CHECK(nng_msg_alloc(&msg, sizeof(garbage)) == 0);
		memcpy(nng_msg_body(msg), garbage, sizeof(garbage));
	} else {
		CHECK(nng_msg_alloc(&msg, dobj__wire__response__get_packed_size(&resp)) == 0);
		dobj__wire__response__pack(&resp, nng_msg_body(msg));
	}
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if (nng_aio_result(aio) != 0)
		nng_msg_free(msg);
}

static void *
peer_work(void *arg)
{
	peer_worker *w = arg;
	peer *p = w->p;
	nng_ctx ctx = w->ctx;
	nng_aio *aio = w->aio;
	Dobj__Wire__Request *req, *seen;
	nng_msg *msg;

	for (;;) {
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if (nng_aio_result(aio) != 0)
			break; /* peer_stop stopped the aio: the test is over */
		msg = nng_aio_get_msg(aio);
		/* decoded twice: one copy is recorded (before answering, so that a test that has
		 * its reply sees the request), the other answers */
		req = dobj__wire__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
		seen = dobj__wire__request__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
		nng_msg_free(msg);
		CHECK(req != NULL && seen != NULL);
		pthread_mutex_lock(&p->mtx);
		if (p->last != NULL)
			dobj__wire__request__free_unpacked(p->last, NULL);
		p->last = seen;
		p->nreceived++;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mtx);
		if (p->mode != PEER_SILENT)
			peer_answer(p, ctx, aio, req);
		dobj__wire__request__free_unpacked(req, NULL);
	}
	return NULL;
}

/* peer_start listens on url ("tcp://127.0.0.1:0" picks a free port, written to p->url). */
static void
peer_start(peer *p, const char *url, peer_mode mode)
{
	nng_listener l;
	int port;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cv, NULL);
	cr_assert_eq(nng_rep0_open(&p->sock), 0);
	cr_assert_eq(nng_listen(p->sock, url, &l, 0), 0, "listen on %s", url);
	if (strncmp(url, "tcp://", 6) == 0) {
		cr_assert_eq(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), 0);
		snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", port);
	} else {
		snprintf(p->url, sizeof(p->url), "%s", url);
	}
	for (int i = 0; i < PEER_WORKERS; i++) {
		p->workers[i].p = p;
		cr_assert_eq(nng_ctx_open(&p->workers[i].ctx, p->sock), 0);
		cr_assert_eq(nng_aio_alloc(&p->workers[i].aio, NULL, NULL), 0);
		cr_assert_eq(pthread_create(&p->workers[i].thread, NULL, peer_work, &p->workers[i]),
		             0);
	}
}

static void
peer_stop(peer *p)
{
	/* a stopped aio fails its operation and every later one, so each worker ends */
	for (int i = 0; i < PEER_WORKERS; i++)
		nng_aio_stop(p->workers[i].aio);
	for (int i = 0; i < PEER_WORKERS; i++) {
		pthread_join(p->workers[i].thread, NULL);
		nng_ctx_close(p->workers[i].ctx);
		nng_aio_free(p->workers[i].aio);
	}
	nng_close(p->sock);
	if (p->last != NULL)
		dobj__wire__request__free_unpacked(p->last, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mtx);
}

static struct timespec
deadline_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* peer_wait_received waits until the peer has received n requests; fails the test if not. */
static void
peer_wait_received(peer *p, unsigned n)
{
	struct timespec until = deadline_in(WAIT_MS);

	pthread_mutex_lock(&p->mtx);
	while (p->nreceived < n)
		if (pthread_cond_timedwait(&p->cv, &p->mtx, &until) != 0)
			break;
	cr_assert_geq(p->nreceived, n, "the peer received %u of %u requests", p->nreceived, n);
	pthread_mutex_unlock(&p->mtx);
}

static dobj_client *
client_open_url(const char *url)
{
	dobj_client_opts opts = {.url = url};
	dobj_client *c = NULL;

	cr_assert_eq(dobj_client_open(&c, &opts), DOBJ_OK, "open %s", url);
	return c;
}

/* peer_client starts a peer on a free TCP port, connects a client to it and makes the stub of
 * the singleton cls/name. */
static dobj_client *
peer_client(peer *p, peer_mode mode, const char *cls, const char *name, dobj_stub *stub)
{
	dobj_client *c;

	peer_start(p, "tcp://127.0.0.1:0", mode);
	c = client_open_url(p->url);
	cr_assert_eq(dobj_singleton(c, cls, name, stub), DOBJ_OK);
	return c;
}

/* ---- asynchronous completions ---- */

typedef struct waiter {
	pthread_mutex_t mtx; /* protects done and every async_result pointing here */
	pthread_cond_t cv;
	unsigned done;
} waiter;

typedef struct async_result {
	waiter *w;
	unsigned runs;
	dobj_err status;
	char message[256];
	uint8_t *data; /* taken from the reply */
	size_t len;
} async_result;

static void
on_reply(void *arg, dobj_reply *r)
{
	async_result *a = arg;

	CHECK(r->message != NULL);
	pthread_mutex_lock(&a->w->mtx);
	a->runs++;
	a->status = r->status;
	snprintf(a->message, sizeof(a->message), "%s", r->message);
	a->data = r->data; /* the callback may take the data */
	a->len = r->len;
	r->data = NULL;
	a->w->done++;
	pthread_cond_broadcast(&a->w->cv);
	pthread_mutex_unlock(&a->w->mtx);
}

static void
waiter_wait(waiter *w, unsigned n)
{
	struct timespec until = deadline_in(WAIT_MS);

	pthread_mutex_lock(&w->mtx);
	while (w->done < n)
		if (pthread_cond_timedwait(&w->cv, &w->mtx, &until) != 0)
			break;
	cr_assert_geq(w->done, n, "%u of %u callbacks ran", w->done, n);
	pthread_mutex_unlock(&w->mtx);
}

/* ---- tests ---- */

Test(client, request_fields_arrive_as_sent)
{
	static const uint8_t arg[] = {0x08, 0x05, 0x00, 0xff};
	dobj_call_opts opts = {.timeout_ms = 1234};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_ECHO, "Counter", "global", &stub);
	cr_assert_eq(dobj_call(&stub, "increment", arg, sizeof(arg), &opts, &reply), DOBJ_OK, "%s",
	             reply.message);

	pthread_mutex_lock(&p.mtx);
	cr_assert_eq(p.nreceived, 1);
	cr_assert_str_eq(p.last->class_name, "Counter");
	cr_assert_eq(p.last->id.len, DOBJ_ID_SIZE);
	cr_assert_arr_eq(p.last->id.data, stub.id.bytes, DOBJ_ID_SIZE);
	cr_assert_str_eq(p.last->method, "increment");
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
	peer_stop(&p);
}

Test(client, default_timeout_is_sent_when_the_call_gives_none)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	peer_start(&p, "tcp://127.0.0.1:0", PEER_ECHO);
	c = client_open_url(p.url);
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
	peer_stop(&p);
}

Test(client, error_status_and_message_come_back)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_ECHO, "Order", "o-1", &stub);
	cr_assert_eq(dobj_call(&stub, "fail", "x", 1, NULL, &reply), DOBJ_FAILED_PRECONDITION);
	cr_assert_eq(reply.status, DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(reply.message, "state is \"done\"");
	cr_assert_null(reply.data);
	cr_assert_eq(reply.len, 0);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	peer_stop(&p);
}

Test(client, silent_server_gives_deadline_exceeded_within_the_deadline)
{
	dobj_call_opts opts = {.timeout_ms = 300};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	long start, took;
	peer p;

	c = peer_client(&p, PEER_SILENT, "Counter", "slow", &stub);
	start = now_ms();
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_DEADLINE_EXCEEDED);
	took = now_ms() - start;
	cr_assert_geq(took, 290, "gave up after %ld ms", took);
	cr_assert_lt(took, 3000, "gave up after %ld ms", took);
	cr_assert(strstr(reply.message, "no reply from tcp://127.0.0.1:") != NULL, "%s",
	          reply.message);
	cr_assert(strstr(reply.message, "within 300 ms") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	peer_wait_received(&p, 1);
	dobj_client_close(c);
	peer_stop(&p);
}

Test(client, no_server_gives_deadline_exceeded)
{
	dobj_call_opts opts = {.timeout_ms = 200};
	char url[128];
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-none.ipc", (int)getpid());
	c = client_open_url(url);
	cr_assert_eq(dobj_singleton(c, "Counter", "x", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_DEADLINE_EXCEEDED);
	cr_assert(strstr(reply.message, "request not sent") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
}

Test(client, server_started_after_the_client_is_reached)
{
	dobj_call_opts opts = {.timeout_ms = WAIT_MS};
	char url[128];
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-late.ipc", (int)getpid());
	unlink(url + strlen("ipc://"));
	c = client_open_url(url);
	peer_start(&p, url, PEER_ECHO);
	cr_assert_eq(dobj_singleton(c, "Counter", "late", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call(&stub, "get", "hi", 2, &opts, &reply), DOBJ_OK, "%s", reply.message);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	peer_stop(&p);
}

/* sync_call_thread makes a synchronous call of 4 s from a thread of its own. */
static void *
sync_call_thread(void *arg)
{
	dobj_call_opts opts = {.timeout_ms = 4000};
	dobj_reply reply;

	CHECK(dobj_call(arg, "get", NULL, 0, &opts, &reply) == DOBJ_OK);
	dobj_reply_fini(&reply);
	return NULL;
}

/* A call that waited for its connection carries the time it has left, not its whole timeout,
 * since the server counts the timeout again from its receipt: otherwise it could run the call
 * after the client gave up. */
Test(client, a_call_that_waited_for_a_connection_carries_the_time_left)
{
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 4000};
	async_result a = {.w = &w};
	char url[128];
	dobj_stub stub;
	dobj_client *c;
	pthread_t t;
	peer p;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-left.ipc", (int)getpid());
	unlink(url + strlen("ipc://"));
	c = client_open_url(url);
	cr_assert_eq(dobj_singleton(c, "Counter", "left", &stub), DOBJ_OK);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, on_reply, &a), DOBJ_OK);
	nng_msleep(1500);
	peer_start(&p, url, PEER_ECHO);
	waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_OK, "%s", a.message);
	pthread_mutex_lock(&p.mtx);
	cr_assert(p.last->timeout_ms > 0 && p.last->timeout_ms <= 4000 - 1500, "async: %u",
	          p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	peer_stop(&p);

	/* the same, synchronous */
	unlink(url + strlen("ipc://"));
	c = client_open_url(url);
	cr_assert_eq(dobj_singleton(c, "Counter", "left", &stub), DOBJ_OK);
	cr_assert_eq(pthread_create(&t, NULL, sync_call_thread, &stub), 0);
	nng_msleep(1500);
	peer_start(&p, url, PEER_ECHO);
	pthread_join(t, NULL);
	pthread_mutex_lock(&p.mtx);
	cr_assert(p.last->timeout_ms > 0 && p.last->timeout_ms <= 4000 - 1500, "sync: %u",
	          p.last->timeout_ms);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	peer_stop(&p);
}

Test(client, async_callback_runs_exactly_once)
{
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_ECHO, "Counter", "async", &stub);
	cr_assert_eq(dobj_call_async(&stub, "get", "abc", 3, NULL, on_reply, &a), DOBJ_OK);
	waiter_wait(&w, 1);
	dobj_client_close(c); /* waits for every callback: no second run can follow */
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_OK, "%s", a.message);
	cr_assert_eq(a.len, 3);
	cr_assert_arr_eq(a.data, "abc", 3);
	free(a.data);
	peer_stop(&p);
}

Test(client, async_timeout_runs_callback_once_with_deadline_exceeded)
{
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 200};
	async_result a = {.w = &w};
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_SILENT, "Counter", "async", &stub);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, on_reply, &a), DOBJ_OK);
	waiter_wait(&w, 1);
	dobj_client_close(c);
	cr_assert_eq(a.runs, 1);
	cr_assert_eq(a.status, DOBJ_DEADLINE_EXCEEDED, "%s", a.message);
	cr_assert_null(a.data);
	peer_stop(&p);
}

Test(client, close_cancels_calls_in_flight)
{
	enum { NCALLS = 6 };
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	dobj_call_opts opts = {.timeout_ms = 60000};
	async_result a[NCALLS];
	dobj_stub stub;
	dobj_client *c;
	long start;
	peer p;

	c = peer_client(&p, PEER_SILENT, "Counter", "busy", &stub);
	for (int i = 0; i < NCALLS; i++) {
		a[i] = (async_result){.w = &w};
		cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, &opts, on_reply, &a[i]),
		             DOBJ_OK);
	}
	peer_wait_received(&p, NCALLS); /* every call is waiting for its reply */
	start = now_ms();
	dobj_client_close(c);
	cr_assert_lt(now_ms() - start, 5000);
	cr_assert_eq(w.done, NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		cr_assert_eq(a[i].runs, 1, "call %d ran %u times", i, a[i].runs);
		cr_assert_eq(a[i].status, DOBJ_CANCELLED, "call %d: %s", i, a[i].message);
	}
	peer_stop(&p);
}

Test(client, close_cancels_calls_waiting_for_a_connection)
{
	enum { NCALLS = 4 };
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	async_result a[NCALLS];
	char url[128];
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-never.ipc", (int)getpid());
	c = client_open_url(url);
	cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
	for (int i = 0; i < NCALLS; i++) {
		a[i] = (async_result){.w = &w};
		cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, on_reply, &a[i]),
		             DOBJ_OK);
	}
	dobj_client_close(c);
	cr_assert_eq(w.done, NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		cr_assert_eq(a[i].runs, 1);
		cr_assert_eq(a[i].status, DOBJ_CANCELLED, "call %d: %s", i, a[i].message);
	}
}

Test(client, reply_with_wrong_request_id_is_an_internal_error)
{
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_WRONG_ID, "Counter", "x", &stub);
	cr_assert_eq(dobj_call(&stub, "get", "data", 4, NULL, &reply), DOBJ_INTERNAL);
	cr_assert(strstr(reply.message, "expected") != NULL, "%s", reply.message);
	cr_assert_null(reply.data);
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	peer_stop(&p);
}

Test(client, garbage_reply_is_an_internal_error)
{
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	async_result a = {.w = &w};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_GARBAGE, "Counter", "x", &stub);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_INTERNAL);
	cr_assert(strstr(reply.message, "could not decode the reply") != NULL, "%s", reply.message);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, on_reply, &a), DOBJ_OK);
	waiter_wait(&w, 1);
	cr_assert_eq(a.status, DOBJ_INTERNAL, "%s", a.message);
	dobj_client_close(c);
	peer_stop(&p);
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

Test(client, bad_class_or_method_is_invalid_argument)
{
	char long_name[DOBJ_CLASS_NAME_MAX + 2];
	dobj_call_opts neg = {.timeout_ms = -5};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	dobj_id id = {{0}};

	c = client_open_url("tcp://127.0.0.1:1");
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
	cr_assert_eq(dobj_call_async(&stub, "get", NULL, 0, NULL, on_reply, NULL),
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
	peer p;
	dobj_err rc;

	cr_assert(method != NULL && arg != NULL);
	memset(method, 'm', mlen);
	method[mlen] = '\0';
	c = peer_client(&p, PEER_ECHO, "Counter", "big", &stub);
	rc = dobj_call(&stub, method, arg, alen, NULL, &reply);
	cr_assert_eq(rc, DOBJ_INVALID_ARGUMENT, "%s: %s", dobj_err_name(rc), reply.message);
	cr_assert_eq(p.nreceived, 0);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call_async(&stub, method, arg, alen, NULL, on_reply, NULL),
	             DOBJ_INVALID_ARGUMENT);
	dobj_client_close(c);
	peer_stop(&p);
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
	dobj_call_opts opts = {.timeout_ms = WAIT_MS};
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
	peer p;

	peer_start(&p, "tcp://127.0.0.1:0", PEER_ECHO);
	c = client_open_url(p.url);
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
	peer_stop(&p);
}

/* ---- calls that wait for a connection, under stress ---- */

Test(client, connected_client_carries_full_timeout)
{
	dobj_call_opts opts = {.timeout_ms = 1234};
	dobj_reply reply;
	dobj_stub stub;
	dobj_client *c;
	peer p;

	c = peer_client(&p, PEER_ECHO, "Counter", "full", &stub);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, NULL, &reply), DOBJ_OK);
	dobj_reply_fini(&reply);
	cr_assert_eq(dobj_call(&stub, "get", NULL, 0, &opts, &reply), DOBJ_OK);
	dobj_reply_fini(&reply);
	pthread_mutex_lock(&p.mtx);
	cr_assert_eq(p.last->timeout_ms, 1234);
	pthread_mutex_unlock(&p.mtx);
	dobj_client_close(c);
	peer_stop(&p);
}

Test(client, many_waiting_async_calls_time_out_once, .timeout = 60)
{
	enum { NCALLS = 300 };
	waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	static async_result a[NCALLS];
	char url[128];
	dobj_stub stub;
	dobj_client *c;

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-many.ipc", (int)getpid());
	c = client_open_url(url);
	cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
	int started = 0, wrong = -1;

	for (int i = 0; i < NCALLS; i++) {
		dobj_call_opts opts = {.timeout_ms = 1 + i % 23};
		a[i] = (async_result){.w = &w};
		started += dobj_call_async(&stub, "get", "x", 1, &opts, on_reply, &a[i]) == DOBJ_OK;
	}
	cr_assert_eq(started, NCALLS);
	waiter_wait(&w, NCALLS);
	dobj_client_close(c);
	/* one assertion, not one per call (criterion's bookkeeping of many is slow) */
	for (int i = 0; i < NCALLS && wrong < 0; i++)
		if (a[i].runs != 1 || a[i].status != DOBJ_DEADLINE_EXCEEDED)
			wrong = i;
	cr_assert_eq(wrong, -1, "call %d: %u runs, %s", wrong, a[wrong < 0 ? 0 : wrong].runs,
	             a[wrong < 0 ? 0 : wrong].message);
}

Test(client, close_races_waiting_calls, .timeout = 120)
{
	for (int round = 0; round < 200; round++) {
		enum { NCALLS = 20 };
		waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
		async_result a[NCALLS];
		char url[128];
		dobj_stub stub;
		dobj_client *c;

		snprintf(url, sizeof(url), "ipc:///tmp/dobj-client-test-%d-race.ipc",
		         (int)getpid());
		c = client_open_url(url);
		cr_assert_eq(dobj_singleton(c, "Counter", "nobody", &stub), DOBJ_OK);
		int started = 0, twice = 0;

		for (int i = 0; i < NCALLS; i++) {
			dobj_call_opts opts = {.timeout_ms = 1 + (i + round) % 7};
			a[i] = (async_result){.w = &w};
			started += dobj_call_async(&stub, "get", NULL, 0, &opts, on_reply, &a[i]) ==
			           DOBJ_OK;
		}
		nng_msleep(round % 6);
		dobj_client_close(c);
		for (int i = 0; i < NCALLS; i++)
			twice += a[i].runs != 1;
		if (started != NCALLS || w.done != NCALLS || twice != 0)
			cr_assert_fail("round %d: %d started, %u callbacks, %d calls not run once",
			               round, started, w.done, twice);
	}
}
