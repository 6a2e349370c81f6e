// SPDX-License-Identifier: MIT
// fsm_test.c - state machines (server/fsm.c, server/fsm_record.c) on a fully loaded object
// without a database: definition checks, the seed's order machine and its error texts,
// rollback of a failing callback, history, and what a corrupted store reads as.

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <dobj/fsm.h>
#include <dobj/storage.h>

#include "turn.h"
#include "fsm_record.h"

/* a database-free turn, and the machine under test */
typedef struct fixture {
	fx_turn t;
	dobj_fsm *m;
} fixture;

static fixture f;

static void
setup(void)
{
	memset(&f, 0, sizeof(f));
	fx_turn_open(&f.t, "Order", "transition", NULL);
}

static void
teardown(void)
{
	dobj_fsm_free(f.m);
	fx_turn_close(&f.t);
}

TestSuite(fsm, .init = setup, .fini = teardown);

/* The seed's order machine, in the seed's order. */
static const char *const order_states[] = {"pending", "processing", "shipped", "delivered",
                                           "cancelled"};
static const dobj_fsm_transition order_table[] = {
    {"pending", "start_processing", "processing"},
    {"pending", "cancel", "cancelled"},
    {"processing", "ship", "shipped"},
    {"processing", "cancel", "cancelled"},
    {"shipped", "deliver", "delivered"},
};

static dobj_fsm_def
order_def(void)
{
	return (dobj_fsm_def){.states = order_states,
	                      .nstates = 5,
	                      .initial = "pending",
	                      .transitions = order_table,
	                      .ntransitions = 5};
}

static void
define(const dobj_fsm_def *def)
{
	char err[256];

	cr_assert_eq(dobj_fsm_define(def, &f.m, err, sizeof(err)), DOBJ_OK, "%s", err);
}

static const char *
send(const char *type)
{
	dobj_fsm_event ev = {.type = type};
	const char *state = NULL;

	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &ev, &state), DOBJ_OK, "%s: %s", type,
	             dobj_ctx_errmsg(&f.t.ctx));
	return state;
}

static const char *
state(void)
{
	const char *s = NULL;

	cr_assert_eq(dobj_fsm_state(f.m, &f.t.ctx, &s), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.t.ctx));
	return s;
}

static const char *
stored(const char *key)
{
	static char buf[64];
	dobj_bytes v;

	if (dobj_storage_get(&f.t.ctx, key, &v) != DOBJ_OK)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)v.len, (const char *)v.data);
	return buf;
}

static const char *
valid_events(void)
{
	static char buf[256];
	const char *const *ev;
	size_t n, off = 0;

	cr_assert_eq(dobj_fsm_valid_events(f.m, &f.t.ctx, &ev, &n), DOBJ_OK);
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "," : "", ev[i]);
	return buf;
}

static void
expect_define_error(const dobj_fsm_def *def, const char *want)
{
	char err[256] = "untouched";
	dobj_fsm *m = (dobj_fsm *)&err;

	cr_assert_eq(dobj_fsm_define(def, &m, err, sizeof(err)), DOBJ_INVALID_ARGUMENT, "%s", want);
	cr_assert_null(m);
	cr_assert_str_eq(err, want);
}

Test(fsm, define_rejects_bad_definitions)
{
	static const char *const dup_states[] = {"a", "b", "a"};
	static const char *const empty_state[] = {"a", ""};
	static const char *const null_state[] = {"a", NULL};
	dobj_fsm_def d = order_def();
	dobj_fsm_transition t[6];

	d.initial = "open";
	expect_define_error(&d, "fsm define: initial state \"open\" is not a state of the machine");
	d.initial = NULL;
	expect_define_error(&d, "fsm define: no initial state");
	d.initial = "";
	expect_define_error(&d, "fsm define: no initial state");

	d = order_def();
	memcpy(t, order_table, sizeof(order_table));
	d.transitions = t;
	t[2].from = "packing";
	expect_define_error(&d, "fsm define: transitions[2] starts from unknown state \"packing\"");
	t[2].from = "processing";
	t[4].to = "lost";
	expect_define_error(&d, "fsm define: transitions[4] leads to unknown state \"lost\"");
	t[4].to = "delivered";
	t[5] = (dobj_fsm_transition){"pending", "cancel", "delivered"};
	d.ntransitions = 6;
	expect_define_error(&d, "fsm define: state \"pending\" handles event \"cancel\" twice "
	                        "(transitions[1] and transitions[5])");
	t[5].event = "";
	expect_define_error(&d, "fsm define: transitions[5] has an empty event");
	t[5].event = NULL;
	expect_define_error(&d, "fsm define: transitions[5] has an empty event");
	t[5] = (dobj_fsm_transition){"", "x", "pending"};
	expect_define_error(&d, "fsm define: transitions[5] has an empty from");
	t[5] = (dobj_fsm_transition){"pending", "x", NULL};
	expect_define_error(&d, "fsm define: transitions[5] has an empty to");

	d = (dobj_fsm_def){.states = dup_states, .nstates = 3, .initial = "a"};
	expect_define_error(&d, "fsm define: state \"a\" is listed twice");
	d = (dobj_fsm_def){.states = empty_state, .nstates = 2, .initial = "a"};
	expect_define_error(&d, "fsm define: states[1] has an empty name");
	d.states = null_state;
	expect_define_error(&d, "fsm define: states[1] has an empty name");
	d = order_def();
	d.state_key = "";
	expect_define_error(&d, "fsm define: state_key is empty");
	d = (dobj_fsm_def){.nstates = 1, .initial = "a"};
	expect_define_error(&d, "fsm define: states is NULL but nstates is 1");
	cr_assert_eq(dobj_fsm_define(NULL, &f.m, NULL, 0), DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_fsm_define(&d, NULL, NULL, 0), DOBJ_INVALID_ARGUMENT);
	dobj_fsm_free(NULL);
}

Test(fsm, define_copies_the_definition)
{
	char states[3][16] = {"idle", "busy", "done"};
	const char *names[] = {states[0], states[1], states[2]};
	char ev1[16] = "work", ev2[16] = "finish", key[16] = "job_state", initial[16] = "idle";
	dobj_fsm_transition t[] = {{names[0], ev1, names[1]}, {names[1], ev2, names[2]}};
	dobj_fsm_def d = {.states = names,
	                  .nstates = 3,
	                  .initial = initial,
	                  .transitions = t,
	                  .ntransitions = 2,
	                  .state_key = key};

	define(&d);
	memset(states, 'x', sizeof(states));
	memset(ev1, 'x', sizeof(ev1) - 1);
	memset(ev2, 'x', sizeof(ev2) - 1);
	memset(key, 'x', sizeof(key) - 1);
	memset(initial, 'x', sizeof(initial) - 1);
	memset(t, 0, sizeof(t));
	cr_assert_str_eq(state(), "idle");
	cr_assert_str_eq(send("work"), "busy");
	cr_assert_str_eq(stored("job_state"), "busy");
	cr_assert_str_eq(send("finish"), "done");
}

Test(fsm, order_machine_follows_the_seed)
{
	dobj_fsm_def d = order_def();
	bool ok;

	define(&d);
	cr_assert_str_eq(state(), "pending");
	cr_assert_null(stored("__fsm_state"), "a machine that never moved stores nothing");
	cr_assert_str_eq(valid_events(), "start_processing,cancel");
	cr_assert_eq(dobj_fsm_can_send(f.m, &f.t.ctx, "ship", &ok), DOBJ_OK);
	cr_assert(!ok);
	cr_assert_eq(dobj_fsm_can_send(f.m, &f.t.ctx, "cancel", &ok), DOBJ_OK);
	cr_assert(ok);

	cr_assert_str_eq(send("start_processing"), "processing");
	cr_assert_str_eq(stored("__fsm_state"), "processing");
	cr_assert_str_eq(valid_events(), "ship,cancel");
	cr_assert_eq(dobj_fsm_can_send(f.m, &f.t.ctx, "ship", &ok), DOBJ_OK);
	cr_assert(ok);
	cr_assert_str_eq(send("ship"), "shipped");
	cr_assert_str_eq(valid_events(), "deliver");
	cr_assert_str_eq(send("deliver"), "delivered");
	cr_assert_str_eq(state(), "delivered");
	cr_assert_str_eq(valid_events(), "");
	cr_assert_eq(dobj_fsm_can_send(f.m, &f.t.ctx, "deliver", &ok), DOBJ_OK);
	cr_assert(!ok);

	cr_assert_eq(dobj_fsm_reset(f.m, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(state(), "pending");
	cr_assert_str_eq(send("cancel"), "cancelled");
	cr_assert_str_eq(valid_events(), "");
}

Test(fsm, unhandled_events_get_the_seed_texts)
{
	dobj_fsm_def d = order_def();
	dobj_fsm_event deliver = {.type = "deliver"};
	const char *s = "unchanged";

	define(&d);
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &deliver, &s), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "Invalid transition: state \"pending\" does not handle event \"deliver\". "
	                 "Valid events: [start_processing, cancel]");
	cr_assert_str_eq(s, "unchanged");
	cr_assert_str_eq(state(), "pending");

	send("start_processing");
	send("ship");
	send("deliver");
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &deliver, NULL), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "No transitions defined for state \"delivered\". "
	                 "Cannot handle event \"deliver\".");
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &(dobj_fsm_event){.type = NULL}, NULL),
	             DOBJ_INVALID_ARGUMENT);
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, NULL, NULL), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(state(), "delivered");
}

/* seen: what the callback was called with. */
typedef struct seen {
	int calls;
	char from[32], to[32], event[32], payload[32];
	dobj_err fail; /* returned after writing */
} seen;

static dobj_err
on_transition(dobj_ctx *ctx, const char *from, const char *to, const dobj_fsm_event *ev, void *arg)
{
	seen *s = arg;
	dobj_bytes state;

	s->calls++;
	snprintf(s->from, sizeof(s->from), "%s", from);
	snprintf(s->to, sizeof(s->to), "%s", to);
	snprintf(s->event, sizeof(s->event), "%s", ev->type);
	snprintf(s->payload, sizeof(s->payload), "%.*s", (int)ev->payload.len,
	         (const char *)ev->payload.data);
	/* the new state is already written when the callback runs */
	cr_assert_eq(dobj_storage_get(ctx, "__fsm_state", &state), DOBJ_OK);
	cr_assert_eq(state.len, strlen(to));
	if (ev->payload.len > 0)
		dobj_storage_put(ctx, "tracking", ev->payload.data, ev->payload.len);
	dobj_storage_put(ctx, "last", to, strlen(to));
	if (s->fail != DOBJ_OK)
		return dobj_ctx_errorf(ctx, s->fail, "mail server refused the notice");
	return DOBJ_OK;
}

Test(fsm, callback_sees_the_transition_and_its_payload)
{
	seen s = {0};
	dobj_fsm_def d = order_def();
	dobj_fsm_event ship = {.type = "ship", .payload = {(const uint8_t *)"TRACK-456", 9}};
	const char *to;

	d.on_transition = on_transition;
	d.arg = &s;
	define(&d);
	send("start_processing");
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &ship, &to), DOBJ_OK);
	cr_assert_str_eq(to, "shipped");
	cr_assert_eq(s.calls, 2);
	cr_assert_str_eq(s.from, "processing");
	cr_assert_str_eq(s.to, "shipped");
	cr_assert_str_eq(s.event, "ship");
	cr_assert_str_eq(s.payload, "TRACK-456");
	cr_assert_str_eq(stored("tracking"), "TRACK-456");
	cr_assert_str_eq(stored("last"), "shipped");
}

Test(fsm, failing_callback_undoes_the_whole_transition)
{
	seen s = {0};
	dobj_fsm_def d = order_def();
	dobj_fsm_event ship = {.type = "ship", .payload = {(const uint8_t *)"TRACK-1", 7}};
	dobj_fsm_record *h;
	size_t n;

	d.on_transition = on_transition;
	d.arg = &s;
	d.history = true;
	define(&d);
	send("start_processing");
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "tracking", "old", 3), DOBJ_OK);
	s.fail = DOBJ_UNAVAILABLE;
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &ship, NULL), DOBJ_UNAVAILABLE);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx), "mail server refused the notice");
	cr_assert_eq(s.calls, 2);
	cr_assert_str_eq(state(), "processing");
	cr_assert_str_eq(stored("__fsm_state"), "processing");
	cr_assert_str_eq(stored("tracking"), "old");
	cr_assert_str_eq(stored("last"), "processing", "the first transition's write stays");
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 1, "the failed transition left no record");

	s.fail = DOBJ_OK;
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &ship, NULL), DOBJ_OK);
	cr_assert_str_eq(stored("tracking"), "TRACK-1");
}

Test(fsm, state_lives_under_the_state_key)
{
	dobj_fsm_def d = order_def();

	d.state_key = "state";
	define(&d);
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "state", "shipped", 7), DOBJ_OK);
	cr_assert_str_eq(state(), "shipped", "the state is read back from storage");
	cr_assert_str_eq(send("deliver"), "delivered");
	cr_assert_str_eq(stored("state"), "delivered");
	cr_assert_null(stored("__fsm_state"));
	cr_assert_eq(dobj_fsm_reset(f.m, &f.t.ctx), DOBJ_OK);
	cr_assert_str_eq(state(), "pending");
}

Test(fsm, stored_unknown_state_is_data_loss)
{
	dobj_fsm_def d = order_def();
	const char *const *ev;
	size_t n;
	bool ok;

	define(&d);
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "__fsm_state", "refunded", 8), DOBJ_OK);
	cr_assert_eq(dobj_fsm_state(f.m, &f.t.ctx, &(const char *){NULL}), DOBJ_DATA_LOSS);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "fsm: storage key \"__fsm_state\" holds \"refunded\", which is not a "
	                 "state of this machine");
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &(dobj_fsm_event){.type = "cancel"}, NULL),
	             DOBJ_DATA_LOSS);
	cr_assert_eq(dobj_fsm_can_send(f.m, &f.t.ctx, "cancel", &ok), DOBJ_DATA_LOSS);
	cr_assert_eq(dobj_fsm_valid_events(f.m, &f.t.ctx, &ev, &n), DOBJ_DATA_LOSS);
	cr_assert_eq(n, 0);

	/* a prefix of a state is not that state; odd bytes are shown escaped */
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "__fsm_state", "pend\"\xff", 6), DOBJ_OK);
	cr_assert_eq(dobj_fsm_state(f.m, &f.t.ctx, &(const char *){NULL}), DOBJ_DATA_LOSS);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "fsm: storage key \"__fsm_state\" holds \"pend\\x22\\xff\", which is not "
	                 "a state of this machine");
	cr_assert_eq(dobj_fsm_reset(f.m, &f.t.ctx), DOBJ_OK, "reset repairs it");
	cr_assert_str_eq(state(), "pending");

	/* a long unknown state of bytes shown as \xNN: 64 of them, then "..." (the quoted text
	 * fills its buffer exactly; under ASan, one byte more is an overflow) */
	char junk[70], want[64 * 4 + 4];
	memset(junk, 1, sizeof(junk));
	for (int i = 0; i < 64; i++)
		memcpy(want + 4 * i, "\\x01", 4);
	memcpy(want + 256, "...", 4);
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "__fsm_state", junk, sizeof(junk)), DOBJ_OK);
	cr_assert_eq(dobj_fsm_state(f.m, &f.t.ctx, &(const char *){NULL}), DOBJ_DATA_LOSS);
	cr_assert(strstr(dobj_ctx_errmsg(&f.t.ctx), want) != NULL, "%s", dobj_ctx_errmsg(&f.t.ctx));
}

/* A machine that can go round forever: a -go-> b -go-> a. */
static const char *const ring_states[] = {"a", "b"};
static const dobj_fsm_transition ring_table[] = {{"a", "go", "b"}, {"b", "go", "a"}};

Test(fsm, history_records_in_order_and_keeps_the_newest)
{
	dobj_fsm_def d = {.states = ring_states,
	                  .nstates = 2,
	                  .initial = "a",
	                  .transitions = ring_table,
	                  .ntransitions = 2,
	                  .history = true,
	                  .history_max = 3};
	dobj_list_opts prefix = {.prefix = DOBJ__FSM_HISTORY_PREFIX};
	int64_t before = dobj_ctx_now_ms(&f.t.ctx), after;
	dobj_fsm_record *h;
	dobj_kv *kv;
	size_t n;

	define(&d);
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 0);
	send("go");
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(h[0].from, "a");
	cr_assert_str_eq(h[0].to, "b");
	cr_assert_str_eq(h[0].event, "go");
	cr_assert_not_null(stored("__fsm_history/00000000000000000001"));
	cr_assert(strncmp(stored("__fsm_history/00000000000000000001"),
	                  "{\"from\":\"a\",\"to\":\"b\",\"event\":\"go\",\"at_ms\":", 41) == 0,
	          "%s", stored("__fsm_history/00000000000000000001"));

	for (int i = 0; i < 4; i++)
		send("go");
	after = dobj_ctx_now_ms(&f.t.ctx);
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 3);
	/* records 3, 4 and 5: a->b, b->a, a->b */
	cr_assert_str_eq(h[0].from, "a");
	cr_assert_str_eq(h[1].from, "b");
	cr_assert_str_eq(h[2].from, "a");
	cr_assert_str_eq(h[2].to, "b");
	for (size_t i = 0; i < n; i++) {
		cr_assert(h[i].at_ms >= before && h[i].at_ms <= after);
		cr_assert(i == 0 || h[i].at_ms >= h[i - 1].at_ms);
	}
	cr_assert_eq(dobj_storage_list(&f.t.ctx, &prefix, &kv, &n), DOBJ_OK);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(kv[0].key, "__fsm_history/00000000000000000003");
	cr_assert_str_eq(kv[2].key, "__fsm_history/00000000000000000005");

	cr_assert_eq(dobj_fsm_reset(f.m, &f.t.ctx), DOBJ_OK);
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 3, "reset keeps the history");
}

Test(fsm, history_off_records_nothing)
{
	dobj_fsm_def d = order_def();
	dobj_fsm_record *h = (dobj_fsm_record *)&d;
	dobj_kv *kv;
	size_t n = 99;

	define(&d);
	send("cancel");
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(h);
	cr_assert_eq(dobj_storage_list(&f.t.ctx, NULL, &kv, &n), DOBJ_OK);
	cr_assert_eq(n, 1, "only the state key");
}

Test(fsm, history_record_round_trips_odd_names)
{
	dobj_fsm_record in = {
	    .from = "say \"hi\"\\", .to = "tab\there\x01", .event = "caf\xc3\xa9", .at_ms = -1};
	dobj_fsm_record out;
	dobj_bytes v;

	cr_assert_eq(dobj__fsm_record_encode(&f.t.ctx, &in, &v), DOBJ_OK);
	cr_assert_eq(dobj__fsm_record_decode(&f.t.ctx, "k", v, &out), DOBJ_OK, "%s",
	             dobj_ctx_errmsg(&f.t.ctx));
	cr_assert_str_eq(out.from, in.from);
	cr_assert_str_eq(out.to, in.to);
	cr_assert_str_eq(out.event, in.event);
	cr_assert_eq(out.at_ms, -1);

	v.data = (const uint8_t *)" { \"at_ms\" : 5 , \"event\":\"e\\u00e9\", \"to\":\"t\","
	                          "\"from\":\"f\\/\" } ";
	v.len = strlen((const char *)v.data);
	cr_assert_eq(dobj__fsm_record_decode(&f.t.ctx, "k", v, &out), DOBJ_OK, "%s",
	             dobj_ctx_errmsg(&f.t.ctx));
	cr_assert_str_eq(out.event, "e\xc3\xa9");
	cr_assert_str_eq(out.from, "f/");
	cr_assert_eq(out.at_ms, 5);
}

Test(fsm, history_with_bad_bytes_is_data_loss)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"from\":\"a\",\"to\":\"b\",\"event\":\"e\"}",
	    "{\"from\":\"a\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":1,\"x\":1}",
	    "{\"from\":\"a\",\"from\":\"a\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":1}",
	    "{\"from\":\"a\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":99999999999999999999}",
	    "{\"from\":\"a\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":1} x",
	    "{\"from\":\"a\\u0000\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":1}",
	    "{\"from\":\"a\\q\",\"to\":\"b\",\"event\":\"e\",\"at_ms\":1}",
	    "{\"from\":\"a",
	    "{\"from\":\"a\\u12",
	};
	dobj_fsm_def d = order_def();
	dobj_fsm_record *h;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dobj_bytes v = {(const uint8_t *)bad[i], strlen(bad[i])};
		dobj_fsm_record r;

		cr_assert_eq(dobj__fsm_record_decode(&f.t.ctx, "k", v, &r), DOBJ_DATA_LOSS, "%s",
		             bad[i]);
	}
	d.history = true;
	define(&d);
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "__fsm_history/00000000000000000001", "{}", 2),
	             DOBJ_OK);
	cr_assert_eq(dobj_fsm_history(f.m, &f.t.ctx, &h, &n), DOBJ_DATA_LOSS);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "fsm history: key \"__fsm_history/00000000000000000001\" does not hold a "
	                 "transition record: expected a string");
	cr_assert_eq(dobj_storage_put(&f.t.ctx, "__fsm_history/zz", "{}", 2), DOBJ_OK);
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &(dobj_fsm_event){.type = "cancel"}, NULL),
	             DOBJ_DATA_LOSS);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx),
	                 "fsm history: key \"__fsm_history/zz\" is not a record key");
	cr_assert_str_eq(state(), "pending", "the transition was undone");
}

Test(fsm, large_machine_defines_and_runs)
{
	enum { N = 5000 };
	static char names[N][8];
	static const char *states[N];
	static dobj_fsm_transition t[2 * N];
	dobj_fsm_def d = {.states = states, .nstates = N, .transitions = t, .ntransitions = 2 * N};
	size_t nt = 0;

	/* a chain s0 -next-> s1 ... with "back" from each state to s0, listed out of order */
	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "s%zu", (size_t)N - 1 - i);
		states[i] = names[i];
	}
	for (size_t i = N; i-- > 0;) {
		t[nt++] = (dobj_fsm_transition){names[i], "back", names[N - 1]};
		t[nt++] = (dobj_fsm_transition){names[i], "next", names[i > 0 ? i - 1 : i]};
	}
	d.initial = names[N - 1]; /* s0 */
	define(&d);
	for (int i = 0; i < 10; i++)
		send("next");
	cr_assert_str_eq(state(), "s10");
	cr_assert_str_eq(valid_events(), "back,next");
	cr_assert_str_eq(send("back"), "s0");
}

/* on_transition_resets puts the machine (*arg, a dobj_fsm **) back in its initial state from
 * inside the callback. */
static dobj_err
on_transition_resets(dobj_ctx *ctx, const char *from, const char *to, const dobj_fsm_event *ev,
                     void *arg)
{
	(void)from;
	(void)to;
	(void)ev;
	return dobj_fsm_reset(*(dobj_fsm **)arg, ctx);
}

/* The seed's send returns `current` after awaiting onTransition: the state the machine is in
 * once the callback is done, which differs from the transition's target when the callback
 * moved the machine itself (reset, or another send). */
Test(fsm, send_reports_the_state_after_its_callback)
{
	dobj_fsm_def d = order_def();
	const char *to = NULL;

	d.on_transition = on_transition_resets;
	d.arg = &f.m;
	define(&d);
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &(dobj_fsm_event){.type = "cancel"}, &to),
	             DOBJ_OK, "%s", dobj_ctx_errmsg(&f.t.ctx));
	cr_assert_str_eq(state(), "pending");
	cr_assert_str_eq(to, "pending", "send answered the transition's target, not the state");
}

/* expect_null_refused: the last call failed with INVALID_ARGUMENT and this message. */
static void
expect_null_refused(dobj_err rc, const char *want)
{
	cr_assert_eq(rc, DOBJ_INVALID_ARGUMENT, "%s: got %s", want, dobj_err_name(rc));
	cr_assert_str_eq(dobj_ctx_errmsg(&f.t.ctx), want);
}

Test(fsm, null_machine_or_output_is_invalid_not_a_crash)
{
	dobj_fsm_event ev = {.type = "cancel"};
	const char *const *events = NULL;
	dobj_fsm_record *rec = NULL;
	const char *s = NULL;
	size_t n = 7;
	bool ok = true;
	dobj_fsm_def def = order_def();

	define(&def);
	expect_null_refused(dobj_fsm_send(NULL, &f.t.ctx, &ev, &s), "fsm send: machine is NULL");
	expect_null_refused(dobj_fsm_state(NULL, &f.t.ctx, &s), "fsm state: machine is NULL");
	expect_null_refused(dobj_fsm_state(f.m, &f.t.ctx, NULL), "fsm state: state is NULL");
	expect_null_refused(dobj_fsm_can_send(NULL, &f.t.ctx, "cancel", &ok),
	                    "fsm can_send: machine is NULL");
	cr_assert(!ok, "the output is set even when the call fails");
	expect_null_refused(dobj_fsm_can_send(f.m, &f.t.ctx, "cancel", NULL),
	                    "fsm can_send: ok is NULL");
	expect_null_refused(dobj_fsm_valid_events(NULL, &f.t.ctx, &events, &n),
	                    "fsm valid_events: machine is NULL");
	cr_assert_not_null(events);
	cr_assert_eq(n, 0);
	expect_null_refused(dobj_fsm_valid_events(f.m, &f.t.ctx, NULL, &n),
	                    "fsm valid_events: events is NULL");
	expect_null_refused(dobj_fsm_valid_events(f.m, &f.t.ctx, &events, NULL),
	                    "fsm valid_events: n is NULL");
	expect_null_refused(dobj_fsm_reset(NULL, &f.t.ctx), "fsm reset: machine is NULL");
	expect_null_refused(dobj_fsm_history(NULL, &f.t.ctx, &rec, &n),
	                    "fsm history: machine is NULL");
	expect_null_refused(dobj_fsm_history(f.m, &f.t.ctx, NULL, &n), "fsm history: out is NULL");
	expect_null_refused(dobj_fsm_history(f.m, &f.t.ctx, &rec, NULL), "fsm history: n is NULL");

	/* none of it touched the machine's state; the optional *state of send stays optional */
	cr_assert_str_eq(state(), "pending");
	cr_assert_eq(dobj_fsm_send(f.m, &f.t.ctx, &ev, NULL), DOBJ_OK);
	cr_assert_str_eq(state(), "cancelled");
}
