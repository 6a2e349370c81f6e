// SPDX-License-Identifier: MIT
// shutdown_test.c - dobjd's graceful drain through real processes: SIGTERM under load from 32
// client threads (every call succeeds durably or gets UNAVAILABLE, none hangs, exit 0),
// readiness turning 503 at once while a slow call holds the drain, the drain timeout (queued
// calls refused, exit status 1), a PostgreSQL that stops answering the alarm poller (the drain
// still ends, exit status 1) and a second signal (exit at once).

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <criterion/criterion.h>
#include <libpq-fe.h>

#include "calls.h"
#include "counter/counter.pb-c.h"
#include "dobj/wire.pb-c.h"
#include "fixture.h"
#include "observe.h"
#include "stack.h"

#define CLIENTS 32
#define OBJECTS 8
#define CALL_TIMEOUT_MS 5000
/* No call answered under this load, the drain included, may take this long (about 0.1 s seen
 * under ASan with two busy loops beside it); a call that hangs runs into CALL_TIMEOUT_MS. */
#define SLOW_CALL_MS 2000

static fx_db db;
static fx_server srv;
static int http_port;
static char http_url[64];

static void
setup(void)
{
	fx_server_use("dobjd-test");
	fx_db_create(&db, true);
	http_port = fx_http_url(http_url, sizeof(http_url));
}

static void
teardown(void)
{
	if (srv.pid > 0)
		fx_server_kill(&srv, SIGKILL);
	fx_db_drop(&db);
}

TestSuite(shutdown, .init = setup, .fini = teardown, .timeout = 180);

/* increment_within calls Counter.increment with a timeout, without Criterion asserts (it runs
 * on client threads); increment with CALL_TIMEOUT_MS. */
static dobj_err
increment_within(dobj_client *c, const char *name, int timeout_ms, char *msg, size_t msglen)
{
	Dobj__Examples__Counter__IncrementRequest req =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	dobj_call_opts o = {.timeout_ms = timeout_ms};
	uint8_t buf[32];
	dobj_reply r;
	dobj_stub s;
	dobj_err rc;

	req.amount = 1;
	if ((rc = dobj_singleton(c, "Counter", name, &s)) != DOBJ_OK)
		return rc;
	rc = dobj_call(&s, "increment", buf,
	               dobj__examples__counter__increment_request__pack(&req, buf), &o, &r);
	snprintf(msg, msglen, "%s", r.message ? r.message : "");
	dobj_reply_fini(&r);
	return rc;
}

static dobj_err
increment(dobj_client *c, const char *name, char *msg, size_t msglen)
{
	return increment_within(c, name, CALL_TIMEOUT_MS, msg, msglen);
}

/* never_sent tells a call that found no dobjd to send to: such a call waits out its timeout for
 * a connection by design, and never ran. After SIGTERM that is expected (dobjd has exited);
 * before it, it is a failure. */
static bool
never_sent(dobj_err rc, const char *msg)
{
	return rc == DOBJ_DEADLINE_EXCEEDED && strstr(msg, "request not sent") != NULL;
}

/* refused_then_gone tells a call the draining dobjd refused, not run, and that then found no
 * other dobjd to take it: the client sends such a call again until its timeout, by design. The
 * last try may also have been cut by the close of the draining dobjd's connection (the client
 * cannot tell that it did not run: "may have run", after the refusals). */
static bool
refused_then_gone(dobj_err rc, const char *msg)
{
	return rc == DOBJ_UNAVAILABLE && strstr(msg, "server is shutting down") != NULL &&
	       (strstr(msg, "no server took the call") != NULL ||
	        strstr(msg, "(after refusals: ") != NULL);
}

typedef struct loader {
	pthread_t thread;
	int index;
	const char *url;
	atomic_bool *stop;
	atomic_long *ok_total;
	const _Atomic int64_t *killed_ms; /* when SIGTERM was sent; 0 before */
	long ok;                          /* acknowledged increments */
	dobj_err last;                    /* the first failure, DOBJ_OK if none */
	char last_msg[256];               /* its message */
	bool last_unsent;    /* it found no dobjd, and started after SIGTERM; or was refused by the
	                   * draining one, and then found none */
	int64_t longest_ms;  /* the slowest call but such an unsent one */
	dobj_err longest_rc; /* its outcome */
} loader;

static void *
loader_main(void *arg)
{
	loader *ld = arg;
	dobj_client_opts co = {.url = ld->url, .default_timeout_ms = CALL_TIMEOUT_MS};
	dobj_client *c = NULL;
	char name[32];

	snprintf(name, sizeof(name), "drain-%d", ld->index % OBJECTS);
	ld->last = dobj_client_open(&c, &co);
	while (ld->last == DOBJ_OK && !atomic_load(ld->stop)) {
		int64_t t0 = fx_now_ms(), took;
		dobj_err rc = increment(c, name, ld->last_msg, sizeof(ld->last_msg));
		int64_t killed = atomic_load(ld->killed_ms);
		bool unsent = (never_sent(rc, ld->last_msg) && killed > 0 && t0 >= killed) ||
		              refused_then_gone(rc, ld->last_msg);

		took = fx_now_ms() - t0;
		if (took > ld->longest_ms && !unsent) {
			ld->longest_ms = took;
			ld->longest_rc = rc;
		}
		if (rc != DOBJ_OK) {
			ld->last = rc;
			ld->last_unsent = unsent;
			break;
		}
		ld->ok++;
		atomic_fetch_add(ld->ok_total, 1);
	}
	dobj_client_close(c);
	return NULL;
}

/* total_count restarts dobjd on the database and sums the counters. */
static int64_t
total_count(void)
{
	dobj_client *c;
	int64_t sum = 0;

	fx_server_start(&srv, &db, 0, NULL);
	c = fx_client(srv.url, CALL_TIMEOUT_MS);
	for (int i = 0; i < OBJECTS; i++) {
		char name[32];
		int64_t n = 0;

		snprintf(name, sizeof(name), "drain-%d", i);
		cr_assert_eq(fx_counter(c, name, "get", 0, &n), DOBJ_OK);
		sum += n;
	}
	dobj_client_close(c);
	fx_server_stop(&srv);
	return sum;
}

Test(shutdown, sigterm_under_load_answers_every_call_and_exits_0)
{
	const char *args[] = {"--http-listen", http_url, NULL};
	static loader ld[CLIENTS];
	atomic_bool stop = false;
	atomic_long ok_total = 0;
	_Atomic int64_t killed_ms = 0;
	long ok = 0, unavailable = 0, unsent = 0;
	int64_t deadline, longest = 0, total;
	int slowest = -1;
	char body[256];
	int status;

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
	for (int i = 0; i < CLIENTS; i++) {
		ld[i] = (loader){.index = i,
		                 .url = srv.url,
		                 .stop = &stop,
		                 .ok_total = &ok_total,
		                 .killed_ms = &killed_ms};
		cr_assert_eq(pthread_create(&ld[i].thread, NULL, loader_main, &ld[i]), 0);
	}
	for (deadline = fx_now_ms() + 30000; atomic_load(&ok_total) < 500; fx_nap_ms(10))
		cr_assert(fx_now_ms() < deadline, "the load did not get going: %ld calls in 30 s",
		          atomic_load(&ok_total));
	atomic_store(&killed_ms, fx_now_ms());
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	/* Ready no more once the signal is handled: 503 while draining, or no answer once gone. */
	fx_http_await(http_port, "/readyz", 503, 0, 2000, body, sizeof(body));
	status = fx_server_kill(&srv, 0); /* waits for the exit */
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "dobjd did not exit 0 after SIGTERM (wait status 0x%x); log in %s", status,
	          srv.log_path);
	atomic_store(&stop, true);
	for (int i = 0; i < CLIENTS; i++) {
		pthread_join(ld[i].thread, NULL);
		ok += ld[i].ok;
		if (ld[i].longest_ms > longest) {
			longest = ld[i].longest_ms;
			slowest = i;
		}
		if (ld[i].last == DOBJ_UNAVAILABLE) {
			cr_assert(refused_then_gone(ld[i].last, ld[i].last_msg),
			          "client %d: refused, and not sent again until its timeout: %s", i,
			          ld[i].last_msg);
			unavailable++;
		} else if (ld[i].last_unsent)
			unsent++; /* called after dobjd had gone: never ran */
		else
			cr_assert_eq(ld[i].last, DOBJ_OK, "client %d ended with %s: %s", i,
			             dobj_err_name(ld[i].last), ld[i].last_msg);
	}
	cr_assert_gt(unavailable, 0, "no client saw UNAVAILABLE: the drain refused nothing");
	cr_assert_lt(longest, SLOW_CALL_MS, "client %d: a call took %lld ms and ended %s", slowest,
	             (long long)longest,
	             slowest >= 0 ? dobj_err_name(ld[slowest].longest_rc) : "-");
	total = total_count();
	cr_assert_eq(total, ok,
	             "the counters hold %lld increments, %ld were acknowledged (%ld refused, %ld "
	             "not sent)",
	             (long long)total, ok, unavailable, unsent);
}

/* sleep_call runs TestKV "sleep" for ms in a thread, creating marker when the turn starts. */
typedef struct sleeper {
	pthread_t thread;
	const char *url;
	const char *object;
	unsigned ms;
	int timeout_ms; /* the call's; 0: 30 s */
	char marker[128];
	dobj_err rc;
	char msg[256];
} sleeper;

static void *
sleeper_main(void *arg)
{
	sleeper *sl = arg;
	Dobj__Test__Op op = DOBJ__TEST__OP__INIT, *ops[1] = {&op};
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	dobj_client_opts co = {.url = sl->url,
	                       .default_timeout_ms = sl->timeout_ms ? sl->timeout_ms : 30000};
	dobj_client *c = NULL;
	uint8_t buf[256];
	dobj_reply r;
	dobj_stub s;

	op.kind = "sleep";
	op.has_sleep_ms = 1;
	op.sleep_ms = sl->ms;
	op.key = sl->marker[0] ? sl->marker : NULL;
	script.n_ops = 1;
	script.ops = ops;
	if ((sl->rc = dobj_client_open(&c, &co)) != DOBJ_OK)
		return NULL;
	dobj_singleton(c, "TestKV", sl->object, &s);
	sl->rc = dobj_call(&s, "run", buf, dobj__test__script__pack(&script, buf), NULL, &r);
	snprintf(sl->msg, sizeof(sl->msg), "%s", r.message ? r.message : "");
	dobj_reply_fini(&r);
	dobj_client_close(c);
	return NULL;
}

/* sleeper_start_within starts a sleeper whose call has timeout_ms (0: 30 s); sleeper_start,
 * one of 30 s. */
static void
sleeper_start_within(sleeper *sl, const char *object, unsigned ms, bool marker, int timeout_ms)
{
	static int n;
	struct stat st;

	memset(sl, 0, sizeof(*sl));
	sl->url = srv.url;
	sl->object = object;
	sl->ms = ms;
	sl->timeout_ms = timeout_ms;
	if (marker)
		snprintf(sl->marker, sizeof(sl->marker), "/tmp/dobj-sleep-%ld-%d", (long)getpid(),
		         n++);
	cr_assert_eq(pthread_create(&sl->thread, NULL, sleeper_main, sl), 0);
	if (!marker)
		return;
	for (int64_t deadline = fx_now_ms() + 10000; stat(sl->marker, &st) != 0; fx_nap_ms(5))
		cr_assert(fx_now_ms() < deadline, "the slow call did not start");
	unlink(sl->marker);
}

static void
sleeper_start(sleeper *sl, const char *object, unsigned ms, bool marker)
{
	sleeper_start_within(sl, object, ms, marker, 0);
}

/* queue_depth reads dobj_shard_queue_depth{shard="0"} from /metrics. */
static long
queue_depth(void)
{
	static char body[1 << 20];
	const char *p;

	cr_assert_eq(fx_http_get(http_port, "/metrics", body, sizeof(body)), 200);
	p = strstr(body, "dobj_shard_queue_depth{shard=\"0\"} ");
	cr_assert_not_null(p);
	return strtol(p + strlen("dobj_shard_queue_depth{shard=\"0\"} "), NULL, 10);
}

Test(shutdown, readyz_is_503_and_new_calls_refused_while_a_slow_call_drains)
{
	const char *args[] = {"--http-listen", http_url, "--shards", "1", NULL};
	dobj_client *c;
	sleeper sl;
	char body[256], msg[256];
	int64_t t0;
	int status;

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
	cr_assert_eq(fx_http_get(http_port, "/readyz", body, sizeof(body)), 200, "%s", body);
	c = fx_client(srv.url, CALL_TIMEOUT_MS);
	sleeper_start(&sl, "slow", 2000, true);
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	fx_http_await(http_port, "/readyz", 503, -1, 5000, body, sizeof(body));
	cr_assert(strstr(body, "stopping") != NULL, "reason: %s", body);
	/* A new call is refused, while the slow one still holds the shard; the client sends it
	 * again until its timeout, and then gives the refusal. */
	t0 = fx_now_ms();
	cr_assert_eq(increment_within(c, "refused", 400, msg, sizeof(msg)), DOBJ_UNAVAILABLE);
	cr_assert(refused_then_gone(DOBJ_UNAVAILABLE, msg), "message: %s", msg);
	cr_assert(strstr(msg, "(refusals: 1;") == NULL, "sent only once: %s", msg);
	cr_assert_lt(fx_now_ms() - t0, 1000);
	dobj_client_close(c);
	pthread_join(sl.thread, NULL);
	cr_assert_eq(sl.rc, DOBJ_OK, "the slow call under way was not served: %s: %s",
	             dobj_err_name(sl.rc), sl.msg);
	status = fx_server_kill(&srv, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);
}

/* mover_main makes one increment of "moved" with a 20 s timeout, on a client of its own. */
typedef struct mover {
	pthread_t thread;
	const char *url;
	dobj_err rc;
	char msg[256];
} mover;

static void *
mover_main(void *arg)
{
	mover *m = arg;
	dobj_client_opts co = {.url = m->url};
	dobj_client *c = NULL;

	if ((m->rc = dobj_client_open(&c, &co)) != DOBJ_OK)
		return NULL;
	m->rc = increment_within(c, "moved", 20000, m->msg, sizeof(m->msg));
	dobj_client_close(c);
	return NULL;
}

/* A restart, as in a deploy: the call a draining dobjd refuses (not run) is sent again by the
 * client, and runs, once, on the dobjd that comes up next on the same address. */
Test(shutdown, a_call_refused_while_draining_runs_on_the_next_server)
{
	const char *args[] = {"--http-listen", http_url, "--shards", "1", NULL};
	static char body[1 << 20];
	Dobj__Examples__Counter__IncrementRequest req =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	fx_reply async = FX_REPLY_INIT;
	mover m = {.url = srv.url};
	dobj_client *c, *ac;
	uint8_t buf[32];
	dobj_stub s;
	sleeper sl;
	int64_t n = 0, until;
	int status;

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
	m.url = srv.url;
	ac = fx_client(srv.url, 20000);
	cr_assert_eq(dobj_singleton(ac, "Counter", "moved-async", &s), DOBJ_OK);
	req.amount = 1;
	sleeper_start(&sl, "slow", 1500, true);
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	fx_http_await(http_port, "/readyz", 503, -1, 5000, body, sizeof(body));
	cr_assert_eq(pthread_create(&m.thread, NULL, mover_main, &m), 0);
	cr_assert_eq(dobj_call_async(&s, "increment", buf,
	                             dobj__examples__counter__increment_request__pack(&req, buf),
	                             NULL, fx_reply_cb, &async),
	             DOBJ_OK);
	/* refused at least once while the slow call holds the drain */
	for (until = fx_now_ms() + 5000;; fx_nap_ms(10)) {
		cr_assert(fx_now_ms() < until, "the call was never refused");
		if (fx_http_get(http_port, "/metrics", body, sizeof(body)) == 200 &&
		    strstr(body, "dobj_calls_total{class=\"Counter\",method=\"increment\","
		                 "status=\"UNAVAILABLE\"}") != NULL)
			break;
	}
	status = fx_server_kill(&srv, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);
	pthread_join(sl.thread, NULL);
	cr_assert_eq(sl.rc, DOBJ_OK, "the slow call: %s: %s", dobj_err_name(sl.rc), sl.msg);

	fx_server_start(&srv, &db, srv.port, args);
	pthread_join(m.thread, NULL);
	cr_assert_eq(m.rc, DOBJ_OK, "the refused call: %s: %s", dobj_err_name(m.rc), m.msg);
	fx_reply_await(&async);
	cr_assert_eq(async.status, DOBJ_OK, "the refused asynchronous call: %s: %s",
	             dobj_err_name(async.status), async.message);
	dobj_client_close(ac);
	c = fx_client(srv.url, CALL_TIMEOUT_MS);
	cr_assert_eq(fx_counter(c, "moved", "get", 0, &n), DOBJ_OK);
	cr_assert_eq(n, 1, "the call ran %lld times", (long long)n);
	cr_assert_eq(fx_counter(c, "moved-async", "get", 0, &n), DOBJ_OK);
	cr_assert_eq(n, 1, "the asynchronous call ran %lld times", (long long)n);
	dobj_client_close(c);
}

Test(shutdown, drain_timeout_refuses_queued_calls_and_exits_1)
{
	const char *args[] = {"--http-listen",      http_url, "--shards", "1",
	                      "--drain-timeout-ms", "1000",   NULL};
	sleeper slow, queued;
	char log[8192];
	FILE *f;
	size_t n;
	int status;

	fx_server_start(&srv, &db, 0, args);
	fx_http_wait(http_port);
	sleeper_start(&slow, "slow", 1500, true);
	/* refused at the drain timeout, it is sent again until its own */
	sleeper_start_within(&queued, "queued", 0, false, 4000);
	for (int64_t deadline = fx_now_ms() + 5000; queue_depth() < 1; fx_nap_ms(5))
		cr_assert(fx_now_ms() < deadline, "the second call never queued");
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	status = fx_server_kill(&srv, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	          "dobjd did not exit 1 after its drain timeout (wait status 0x%x)", status);
	pthread_join(slow.thread, NULL);
	pthread_join(queued.thread, NULL);
	cr_assert_eq(slow.rc, DOBJ_OK, "the running call: %s: %s", dobj_err_name(slow.rc),
	             slow.msg);
	cr_assert_eq(queued.rc, DOBJ_UNAVAILABLE, "the queued call: %s: %s",
	             dobj_err_name(queued.rc), queued.msg);
	cr_assert(strstr(queued.msg, "drain timeout") != NULL, "message: %s", queued.msg);
	cr_assert(refused_then_gone(queued.rc, queued.msg), "message: %s", queued.msg);
	cr_assert_not_null(f = fopen(srv.log_path, "r"));
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = '\0';
	fclose(f);
	cr_assert(strstr(log, "drain timeout of 1000 ms passed") != NULL, "log: %s", log);
}

/* PostgreSQL stops answering the alarm poller (a lock held on its table stands for a hung
 * server): the drain timeout still bounds the shutdown. */
Test(shutdown, a_poller_stuck_in_postgresql_does_not_hold_the_drain)
{
	const char *args[] = {"--drain-timeout-ms", "500", NULL};
	PGconn *lock = PQconnectdb(db.dsn);
	PGresult *r;
	int64_t t0;
	int status;

	cr_assert_eq(PQstatus(lock), CONNECTION_OK, "%s", PQerrorMessage(lock));
	fx_server_start(&srv, &db, 0, args);
	r = PQexec(lock, "BEGIN; LOCK TABLE dobj_alarms IN ACCESS EXCLUSIVE MODE");
	cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
	PQclear(r);
	fx_nap_ms(1500); /* the poller looks at least once a second: it now waits for the lock */
	t0 = fx_now_ms();
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	status = fx_server_kill(&srv, 0);
	cr_assert_lt(fx_now_ms() - t0, 10000, "the drain took %lld ms",
	             (long long)(fx_now_ms() - t0));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	          "dobjd did not exit 1 (wait status 0x%x)", status);
	PQfinish(lock);
}

Test(shutdown, a_second_signal_exits_at_once)
{
	const char *args[] = {"--shards", "1", NULL};
	sleeper sl;
	int64_t t0;
	int status;

	fx_server_start(&srv, &db, 0, args);
	sleeper_start(&sl, "slow", 8000, true);
	/* Two different signals: both are delivered even if the second comes before the first
	 * is taken, so no wait is needed between them. */
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	t0 = fx_now_ms();
	cr_assert_eq(kill(srv.pid, SIGINT), 0);
	status = fx_server_kill(&srv, 0);
	cr_assert_lt(fx_now_ms() - t0, 3000, "dobjd took %lld ms to exit",
	             (long long)(fx_now_ms() - t0));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "wait status 0x%x", status);
	pthread_join(sl.thread, NULL);
	cr_assert_neq(sl.rc, DOBJ_OK, "the call cut short cannot have been answered OK");
}

/* slow_reader_call sends one TestKV script on a plain TCP connection speaking nng's SP
 * protocol (req0), with a small receive buffer, so that a big reply cannot sit whole in the
 * kernel's buffers: dobjd's nng is still writing it when the drain ends. */
static int
sp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0}; /* req0 */
	uint8_t peer[8];
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;

	cr_assert(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	cr_assert_eq(write(fd, hello, sizeof(hello)), (ssize_t)sizeof(hello));
	cr_assert_eq(read(fd, peer, sizeof(peer)), (ssize_t)sizeof(peer));
	return fd;
}

static void
write_all(int fd, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const uint8_t *)buf + off, len - off);
		cr_assert(n > 0, "write: %s", strerror(errno));
		off += (size_t)n;
	}
}

#define BIG_VALUE (120u * 1024)
#define BIG_GETS 100

/* A reply the shard releases at the end of the drain reaches its client whole, also when the
 * client reads it slowly: the drain must not close the socket under a reply being written. */
Test(shutdown, a_big_reply_to_a_slow_reader_is_sent_whole_before_the_drain_ends)
{
	const char *args[] = {"--shards", "1", NULL};
	static uint8_t value[BIG_VALUE];
	Dobj__Test__Op put = DOBJ__TEST__OP__INIT, sl = DOBJ__TEST__OP__INIT,
	               get = DOBJ__TEST__OP__INIT, *ops[2 + BIG_GETS];
	Dobj__Test__Script script = DOBJ__TEST__SCRIPT__INIT;
	Dobj__Wire__Request req = DOBJ__WIRE__REQUEST__INIT;
	char marker[96];
	uint8_t *payload, *msg, hdr[8];
	uint64_t want = 0, got = 0;
	size_t plen, mlen;
	struct stat st;
	int fd, status;

	fx_server_start(&srv, &db, 0, args);
	snprintf(marker, sizeof(marker), "/tmp/dobj-slowreader-%ld", (long)getpid());
	unlink(marker);
	memset(value, 'v', sizeof(value));
	put.kind = "put";
	put.key = "big";
	put.has_value = 1;
	put.value.data = value;
	put.value.len = sizeof(value);
	sl.kind = "sleep";
	sl.has_sleep_ms = 1;
	sl.sleep_ms = 1000;
	sl.key = marker;
	get.kind = "get";
	get.key = "big";
	ops[0] = &put;
	ops[1] = &sl;
	for (int i = 0; i < BIG_GETS; i++)
		ops[2 + i] = &get;
	script.ops = ops;
	script.n_ops = 2 + BIG_GETS;
	payload = malloc(dobj__test__script__get_packed_size(&script));
	cr_assert_not_null(payload);
	plen = dobj__test__script__pack(&script, payload);
	req.request_id = 1;
	req.class_name = (ProtobufCBinaryData){6, (uint8_t *)"TestKV"};
	req.name = (ProtobufCBinaryData){11, (uint8_t *)"slow-reader"};
	req.method = (ProtobufCBinaryData){3, (uint8_t *)"run"};
	req.payload.data = payload;
	req.payload.len = plen;
	mlen = dobj__wire__request__get_packed_size(&req);
	msg = malloc(12 + mlen);
	cr_assert_not_null(msg);
	for (int i = 0; i < 8; i++) /* SP frame: 64-bit length, then the req0 header */
		msg[i] = (uint8_t)((4 + mlen) >> (56 - 8 * i));
	msg[8] = 0x80, msg[9] = 0, msg[10] = 0, msg[11] = 1;
	dobj__wire__request__pack(&req, msg + 12);

	fd = sp_connect(srv.port);
	write_all(fd, msg, 12 + mlen);
	for (int64_t deadline = fx_now_ms() + 10000; stat(marker, &st) != 0; fx_nap_ms(5))
		cr_assert(fx_now_ms() < deadline, "the slow call did not start");
	unlink(marker);
	cr_assert_eq(kill(srv.pid, SIGTERM), 0);
	for (size_t off = 0; off < sizeof(hdr);) {
		ssize_t n = read(fd, hdr + off, sizeof(hdr) - off);
		cr_assert(n > 0, "the connection closed before the reply began");
		off += (size_t)n;
	}
	for (int i = 0; i < 8; i++)
		want = want << 8 | hdr[i];
	while (got < want) { /* through a 4 KiB receive buffer */
		static uint8_t buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		got += (uint64_t)n;
	}
	close(fd);
	free(msg);
	free(payload);
	status = fx_server_kill(&srv, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "wait status 0x%x", status);
	cr_assert_eq(got, want, "dobjd exited with %llu of the reply's %llu bytes unsent",
	             (unsigned long long)(want - got), (unsigned long long)want);
}
