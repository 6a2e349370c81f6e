// SPDX-License-Identifier: MIT
// protocol_test.c - the wire through a real dobjd: malformed and random bytes, unknown
// classes and methods, bad ids, and deadlines (a call whose deadline passed while it queued
// is not run).

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "calls.h"
#include "dobj/wire.pb-c.h"
#include "fixture.h"

static fx_db db;
static fx_server srv;

static void
start(const char *const *args)
{
	fx_db_create(&db, true);
	fx_server_use("dobjd-test");
	fx_server_start(&srv, &db, 0, args);
}

static void
setup(void)
{
	start(NULL);
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_stop(&srv);
	fx_db_drop(&db);
	fx_ops_free();
}

/* raw_call sends bytes on a plain req socket and decodes the Response (NULL if none). */
static Dobj__Wire__Response *
raw_call(nng_socket s, const void *buf, size_t len)
{
	nng_msg *m;
	Dobj__Wire__Response *r;

	cr_assert_eq(nng_msg_alloc(&m, len), 0);
	memcpy(nng_msg_body(m), buf, len);
	cr_assert_eq(nng_sendmsg(s, m, 0), 0);
	cr_assert_eq(nng_recvmsg(s, &m, 0), 0, "no reply from dobjd");
	r = dobj__wire__response__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	return r;
}

static nng_socket
raw_socket(void)
{
	nng_socket s;

	cr_assert_eq(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	cr_assert_eq(nng_dial(s, srv.url, NULL, 0), 0);
	return s;
}

static Dobj__Wire__Response *
request(nng_socket s, const char *cls, const char *name, const void *id, size_t idlen,
        const char *method)
{
	Dobj__Wire__Request req = DOBJ__WIRE__REQUEST__INIT;
	uint8_t buf[512];

	req.request_id = 42;
	req.class_name = (ProtobufCBinaryData){strlen(cls), (uint8_t *)cls};
	req.name = (ProtobufCBinaryData){strlen(name), (uint8_t *)name};
	req.id.data = (uint8_t *)id;
	req.id.len = idlen;
	req.method = (ProtobufCBinaryData){strlen(method), (uint8_t *)method};
	return raw_call(s, buf, dobj__wire__request__pack(&req, buf));
}

/* wire_field appends length-delimited field `field` holding len bytes (len < 128): the
 * encoding `string` and `bytes` fields share, so a name can carry any byte. */
static size_t
wire_field(uint8_t *buf, size_t off, unsigned field, const void *data, size_t len)
{
	buf[off++] = (uint8_t)(field << 3 | 2);
	buf[off++] = (uint8_t)len;
	memcpy(buf + off, data, len);
	return off + len;
}

/* request_names sends request 42 with the class, object name and method given as bytes. */
static Dobj__Wire__Response *
request_names(nng_socket s, const char *cls, size_t clen, const char *name, size_t nlen,
              const char *method, size_t mlen)
{
	uint8_t buf[512];
	size_t off = 0;

	buf[off++] = 0x08; /* request_id */
	buf[off++] = 42;
	off = wire_field(buf, off, 2, cls, clen);
	off = wire_field(buf, off, 4, name, nlen);
	off = wire_field(buf, off, 5, method, mlen);
	return raw_call(s, buf, off);
}

TestSuite(protocol, .init = setup, .fini = teardown, .timeout = 120);

Test(protocol, random_bytes_get_error_replies_and_the_server_keeps_counting)
{
	nng_socket s = raw_socket();
	dobj_client *c;
	int64_t n;

	for (int i = 0; i < 200; i++) {
		uint8_t buf[256];
		size_t len = (size_t)(i % 97) + 1;
		Dobj__Wire__Response *r;

		cr_assert_eq(getrandom(buf, len, 0), (ssize_t)len);
		r = raw_call(s, buf, len);
		cr_assert_not_null(r, "reply %d is not a Response", i);
		cr_assert_neq(r->status, DOBJ_OK, "random request %d succeeded", i);
		cr_assert(r->message[0] != '\0');
		dobj__wire__response__free_unpacked(r, NULL);
	}
	nng_close(s);
	c = fx_client(srv.url, 10000);
	cr_assert_eq(fx_counter(c, "after-noise", "increment", 2, &n), DOBJ_OK);
	cr_assert_eq(fx_counter(c, "after-noise", "increment", 3, &n), DOBJ_OK);
	cr_assert_eq(n, 5);
	dobj_client_close(c);
}

/* A message of many tiny unknown fields decodes into far more memory than its size: it is
 * refused with a clear status, and the server goes on answering. */
Test(protocol, a_request_of_a_million_tiny_fields_is_refused)
{
	nng_socket s = raw_socket();
	size_t len = 2u << 20;
	uint8_t *buf = malloc(len);
	Dobj__Wire__Response *r;
	dobj_client *c;
	int64_t n = 0;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i += 2) { /* field 15, varint 1: unknown to dobj.wire */
		buf[i] = 0x78;
		buf[i + 1] = 0x01;
	}
	r = raw_call(s, buf, len);
	free(buf);
	cr_assert_not_null(r, "no decodable reply");
	cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT, "%s: %s", dobj_err_name((dobj_err)r->status),
	             r->message);
	cr_assert(strstr(r->message, "too many fields") != NULL, "%s", r->message);
	dobj__wire__response__free_unpacked(r, NULL);
	nng_close(s);
	c = fx_client(srv.url, 10000);
	cr_assert_eq(fx_counter(c, "after-fields", "increment", 1, &n), DOBJ_OK);
	cr_assert_eq(n, 1);
	dobj_client_close(c);
}

Test(protocol, bad_requests_get_clear_statuses)
{
	nng_socket s = raw_socket();
	static const uint8_t short_id[5] = {1, 2, 3, 4, 5};
	Dobj__Wire__Response *r;

	r = raw_call(s, "\x0a\xff\xff\xff", 4); /* truncated field */
	cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT);
	cr_assert(strstr(r->message, "malformed request") != NULL, "%s", r->message);
	dobj__wire__response__free_unpacked(r, NULL);

	r = request(s, "NoSuchClass", "x", NULL, 0, "get");
	cr_assert_eq(r->status, DOBJ_NOT_FOUND);
	cr_assert_str_eq(r->message, "unknown class \"NoSuchClass\"");
	cr_assert_eq(r->request_id, 42);
	cr_assert(r->not_run, "a refused request is not marked not_run");
	dobj__wire__response__free_unpacked(r, NULL);

	r = request(s, "Counter", "x", NULL, 0, "explode");
	cr_assert_eq(r->status, DOBJ_UNIMPLEMENTED);
	cr_assert_str_eq(r->message, "class Counter has no method \"explode\"");
	dobj__wire__response__free_unpacked(r, NULL);

	/* the reply quotes names: never bytes that are not UTF-8, never half a character */
	r = request(s, "Bad\xff", "x", NULL, 0, "get");
	cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(r->message, "request's class or method name is not valid UTF-8");
	dobj__wire__response__free_unpacked(r, NULL);
	{
		char method[80], want[128];
		memset(method, 'a', 63);
		strcpy(method + 63, "\xc3\xa9tc"); /* an e acute across the 64-byte cut */
		r = request(s, "Counter", "x", NULL, 0, method);
		method[63] = '\0';
		snprintf(want, sizeof(want), "class Counter has no method \"%s\"", method);
		cr_assert_eq(r->status, DOBJ_UNIMPLEMENTED);
		cr_assert_str_eq(r->message, want);
		dobj__wire__response__free_unpacked(r, NULL);
	}

	r = request(s, "Counter", "", short_id, sizeof(short_id), "get");
	cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(r->message, "object id must be 32 bytes, got 5");
	dobj__wire__response__free_unpacked(r, NULL);

	r = request(s, "Counter", "", NULL, 0, "get");
	cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT);
	dobj__wire__response__free_unpacked(r, NULL);

	r = request(s, "Counter", "x", NULL, 0, "increment"); /* empty argument: amount 0 */
	cr_assert_eq(r->status, DOBJ_OK);
	cr_assert(!r->not_run, "a call that ran is marked not_run");
	dobj__wire__response__free_unpacked(r, NULL);

	/* a method that ran and failed did run: a client must not send it again on its own */
	r = request(s, "Order", "x", NULL, 0, "transition"); /* no order, no event */
	cr_assert_neq(r->status, DOBJ_OK);
	cr_assert(!r->not_run, "a call that ran is marked not_run: %s", r->message);
	dobj__wire__response__free_unpacked(r, NULL);
	nng_close(s);
}

/* protobuf-c ends a decoded string at its first NUL: "Counter\0junk" must not be served as
 * class Counter, nor "x\0junk" as object x. */
Test(protocol, a_nul_byte_in_a_name_is_refused)
{
	static const struct {
		const char *cls, *name, *method;
		size_t clen, nlen, mlen;
		const char *want;
	} bad[] = {
	    {"Counter\0junk", "x", "increment", 12, 1, 9,
	     "request's class or method name contains a NUL byte"},
	    {"Counter", "x", "increment\0", 7, 1, 10,
	     "request's class or method name contains a NUL byte"},
	    {"Counter", "x\0junk", "increment", 7, 6, 9,
	     "request's object name contains a NUL byte"},
	};
	nng_socket s = raw_socket();
	Dobj__Wire__Response *r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = request_names(s, bad[i].cls, bad[i].clen, bad[i].name, bad[i].nlen,
		                  bad[i].method, bad[i].mlen);
		cr_assert_not_null(r);
		cr_assert_eq(r->status, DOBJ_INVALID_ARGUMENT, "request %zu: %s: %s", i,
		             dobj_err_name((dobj_err)r->status), r->message);
		cr_assert_str_eq(r->message, bad[i].want);
		cr_assert_eq(r->request_id, 42);
		dobj__wire__response__free_unpacked(r, NULL);
	}
	r = request_names(s, "Counter", 7, "x", 1, "increment", 9); /* without the NULs */
	cr_assert_not_null(r);
	cr_assert_eq(r->status, DOBJ_OK, "%s", r->message);
	dobj__wire__response__free_unpacked(r, NULL);
	nng_close(s);
}

/* slow_done: completion of the call that holds the shard. */
typedef struct slow_done {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	dobj_err status;
} slow_done;

static void
slow_cb(void *arg, dobj_reply *reply)
{
	slow_done *d = arg;

	pthread_mutex_lock(&d->mu);
	d->status = reply->status;
	d->done = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static size_t
pack_script(Dobj__Test__Op *op, uint8_t *buf)
{
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;

	script.ops = &op;
	script.n_ops = 1;
	return dobj__test__script__pack(&script, buf);
}

Test(protocol, a_call_past_its_deadline_is_not_run)
{
	static const char *const args[] = {"--shards", "1", NULL};
	slow_done d = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, DOBJ_UNKNOWN};
	dobj_call_opts copts = {.timeout_ms = 300};
	Dobj__Test__Op *sleep_op = fx_op("sleep", NULL, NULL);
	Dobj__Test__ScriptResult *r;
	dobj_stub slow, victim;
	Dobj__Test__Op *op;
	dobj_client *c;
	dobj_reply rep;
	uint8_t buf[128];
	size_t len;
	dobj_err rc;
	char started[64];

	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, args);
	c = fx_client(srv.url, 10000);
	cr_assert_eq(dobj_singleton(c, "TestKV", "sleeper", &slow), DOBJ_OK);
	cr_assert_eq(dobj_singleton(c, "TestKV", "victim", &victim), DOBJ_OK);

	/* Hold the only shard for 1.5 s and wait until the sleep has begun (the handler creates
	 * a file); then queue a write with a 300 ms deadline behind it. */
	snprintf(started, sizeof(started), "/tmp/dobj-sleep-%ld", (long)getpid());
	unlink(started);
	sleep_op->key = strdup(started);
	sleep_op->has_sleep_ms = 1;
	sleep_op->sleep_ms = 1500;
	len = pack_script(sleep_op, buf);
	cr_assert_eq(dobj_call_async(&slow, "run", buf, len, NULL, slow_cb, &d), DOBJ_OK);
	for (int waited = 0; access(started, F_OK) != 0; waited++) {
		struct timespec ms = {0, 1000000L};
		cr_assert_lt(waited, 10000, "the slow call did not start");
		nanosleep(&ms, NULL);
	}
	unlink(started);
	len = pack_script(fx_op("put", "late", "1"), buf);
	rc = dobj_call(&victim, "run", buf, len, &copts, &rep);
	cr_assert_eq(rc, DOBJ_DEADLINE_EXCEEDED, "late call: %s: %s", dobj_err_name(rc),
	             rep.message);
	dobj_reply_fini(&rep);
	pthread_mutex_lock(&d.mu);
	while (!d.done)
		pthread_cond_wait(&d.cv, &d.mu);
	pthread_mutex_unlock(&d.mu);
	cr_assert_eq(d.status, DOBJ_OK);

	/* This call queues behind the late one on the same shard: when it runs, the late call
	 * has been dequeued, and it must not have written. */
	op = fx_op("get", "late", NULL);
	cr_assert_eq(fx_kv_run(c, "victim", &op, 1, &r, NULL, 0), DOBJ_OK);
	cr_assert_eq(r->results[0]->status, DOBJ_NOT_FOUND, "the expired call was executed");
	dobj__test__script_result__free_unpacked(r, NULL);
	dobj_client_close(c);
}
