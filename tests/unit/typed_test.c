// SPDX-License-Identifier: MIT
// typed_test.c - typed storage (server/typed.c) on a database-free turn: storage keys that
// start with "__" belong to dobj's helpers (the alarm router's "__alarm_action", a state
// machine's "__fsm_state"), and typed storage, whose values are encoded messages, refuses
// them instead of handing the router a message as an action name.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <dobj/alarm.h>
#include <dobj/server.h>
#include <dobj/storage.h>
#include <dobj/typed.h>

#include "turn.h"
#include "typed_schema.pb-c.h"

#define RESERVED                                                                                  \
	"storage keys starting with \"__\" are reserved for dobj's helpers (alarm router, state " \
	"machine)"

static fx_turn f;
static int cancelled;

static void
setup(void)
{
	cancelled = 0;
	fx_turn_open(&f, "Order", "initialize", NULL);
}

static void
teardown(void)
{
	fx_turn_close(&f);
}

TestSuite(typed, .init = setup, .fini = teardown);

static dobj_err
auto_cancel(dobj_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	cancelled++;
	return DOBJ_OK;
}

static const dobj_alarm_action actions[] = {{"auto-cancel", auto_cancel}};
static const dobj_alarm_router router = {.actions = actions, .nactions = 1};

/* The seed's full example puts '__alarm_action' through its typed schema. Here that would
 * store an encoded OrderSchema, which the router would read as the action's name. */
Test(typed, store_refuses_a_reserved_key)
{
	Dobj__Test__Typed__OrderSchema m = DOBJ__TEST__TYPED__ORDER_SCHEMA__INIT;
	static const char *const reserved[] = {"__alarm_action", "__fsm_state",
	                                       "__fsm_history/00000000000000000001", "__"};
	dobj_bytes v;
	char want[256];

	m.__alarm_action = "auto-cancel";
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		cr_assert_eq(dobj_typed_store(&f.ctx, reserved[i], &m.base), DOBJ_INVALID_ARGUMENT,
		             "%s: %s", reserved[i], dobj_ctx_errmsg(&f.ctx));
		snprintf(want, sizeof(want), "put \"%s\": " RESERVED, reserved[i]);
		cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), want);
		cr_assert_eq(dobj_storage_get(&f.ctx, reserved[i], &v), DOBJ_NOT_FOUND);
	}

	/* the router's key is written raw, as docs/alarms.md says, and routes */
	cr_assert_eq(dobj_storage_put(&f.ctx, "__alarm_action", "auto-cancel", 11), DOBJ_OK);
	cr_assert_eq(dobj_alarm_route(&router, &f.ctx), DOBJ_OK, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_eq(cancelled, 1);

	/* keys of one underscore, and every other field, stay the schema's */
	m.order_id = "order-123";
	cr_assert_eq(dobj_typed_store(&f.ctx, "_order_id", &m.base), DOBJ_OK);
	cr_assert_eq(dobj_typed_store(&f.ctx, "order_id", &m.base), DOBJ_OK);
}

/* Reading the router's raw name as a typed value would be a decoding error at best. */
Test(typed, load_refuses_a_reserved_key)
{
	ProtobufCMessage *out = (ProtobufCMessage *)&f;

	cr_assert_eq(dobj_storage_put(&f.ctx, "__alarm_action", "auto-cancel", 11), DOBJ_OK);
	cr_assert_eq(dobj_typed_load(&f.ctx, "__alarm_action",
	                             &dobj__test__typed__order_schema__descriptor, &out),
	             DOBJ_INVALID_ARGUMENT, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_null(out);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx), "get \"__alarm_action\": " RESERVED);
}

/* A schema compiled without protoc-gen-dobj may still name a reserved key: loading it whole
 * would mix the router's raw name into the decoding. */
Test(typed, load_all_refuses_a_schema_with_a_reserved_field)
{
	ProtobufCMessage *out = (ProtobufCMessage *)&f;

	cr_assert_eq(dobj_storage_put(&f.ctx, "__alarm_action", "auto-cancel", 11), DOBJ_OK);
	cr_assert_eq(
	    dobj_typed_load_all(&f.ctx, &dobj__test__typed__order_schema__descriptor, &out),
	    DOBJ_INVALID_ARGUMENT, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_null(out);
	cr_assert_str_eq(dobj_ctx_errmsg(&f.ctx),
	                 "load dobj.test.typed.OrderSchema: field __alarm_action: " RESERVED);
}

/* dobj_ctx_unpack, which the generated dispatchers decode a method's argument with, refuses
 * bytes that take more than 4 times their size plus 64 MiB to decode: 4 MiB of two-byte unknown
 * fields took 256 MiB of the turn's arena with the plain unpack. */
Test(typed, unpack_refuses_a_message_of_many_tiny_fields)
{
	const ProtobufCMessageDescriptor *d = &dobj__test__typed__order_schema__descriptor;
	static const uint8_t ok[] = {0x0a, 0x03, 'o', '-', '1'};
	size_t len = (size_t)4 << 20;
	uint8_t *buf = malloc(len);
	Dobj__Test__Typed__OrderSchema *m;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i += 2) {
		buf[i] = 0x78; /* field 15, a varint */
		buf[i + 1] = 0;
	}
	cr_assert_null(dobj_ctx_unpack(&f.ctx, d, len, buf));
	cr_assert_lt(f.arena.total, 40 * len, "the arena took %zu bytes", f.arena.total);
	free(buf);

	m = (Dobj__Test__Typed__OrderSchema *)dobj_ctx_unpack(&f.ctx, d, sizeof(ok), ok);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->order_id, "o-1");
	cr_assert_null(dobj_ctx_unpack(&f.ctx, d, 2, (const uint8_t *)"\xff\xff"));
}

/* A message of many small known fields takes more than 4 times its size (here 11) and still
 * decodes: the bound is for what no schema needs. */
Test(typed, unpack_takes_a_message_of_many_small_fields)
{
	const ProtobufCMessageDescriptor *d = &dobj__test__typed__order_schema__descriptor;
	size_t n = 300000;
	uint8_t *buf = malloc(3 * n);
	Dobj__Test__Typed__OrderSchema *m;

	cr_assert_not_null(buf);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + 3 * i, "\x0a\x01x", 3); /* order_id = "x", again and again */
	m = (Dobj__Test__Typed__OrderSchema *)dobj_ctx_unpack(&f.ctx, d, 3 * n, buf);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->order_id, "x");
	free(buf);
}

/* A stored value is decoded within the same bound: with a large --value-max, 4 MiB of two-byte
 * unknown fields (written raw) took 256 MiB of the turn's arena to load, against a bound of
 * 4 times 4 MiB plus 64 MiB (twice that in the arena's chunks, which double). The load fails
 * DATA_LOSS, as for any value that is not the schema's, and so does a load of all fields. */
Test(typed, load_refuses_a_value_of_many_tiny_fields)
{
	const ProtobufCMessageDescriptor *d = &dobj__test__typed__order_schema__descriptor;
	dobj_limits big = {DOBJ_DEFAULT_KEY_MAX, (size_t)8 << 20, DOBJ_DEFAULT_MANY_MAX};
	size_t len = (size_t)4 << 20, most = 2 * (4 * len + ((size_t)64 << 20)), before;
	uint8_t *buf = malloc(len);
	ProtobufCMessage *out = (ProtobufCMessage *)&f;

	fx_turn_close(&f);
	fx_turn_open(&f, "Order", "initialize", &big);
	cr_assert_not_null(buf);
	for (size_t i = 0; i < len; i += 2) {
		buf[i] = 0x78; /* field 15, a varint */
		buf[i + 1] = 0;
	}
	cr_assert_eq(dobj_storage_put(&f.ctx, "order_id", buf, len), DOBJ_OK, "%s",
	             dobj_ctx_errmsg(&f.ctx));
	cr_assert_eq(dobj_storage_put(&f.ctx, "title", buf, len), DOBJ_OK, "%s",
	             dobj_ctx_errmsg(&f.ctx));
	free(buf);

	before = f.arena.total;
	cr_assert_eq(dobj_typed_load(&f.ctx, "order_id", d, &out), DOBJ_DATA_LOSS);
	cr_assert_null(out);
	cr_assert_leq(f.arena.total - before, most, "the load took %zu bytes",
	              f.arena.total - before);
	before = f.arena.total;
	cr_assert_eq(dobj_typed_load_all(&f.ctx, &dobj__test__typed__note_schema__descriptor, &out),
	             DOBJ_DATA_LOSS, "%s", dobj_ctx_errmsg(&f.ctx));
	cr_assert_null(out);
	cr_assert_leq(f.arena.total - before, most, "the load took %zu bytes",
	              f.arena.total - before);
}
