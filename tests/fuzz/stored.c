// SPDX-License-Identifier: MIT
// stored.c - fuzzes what reads values back from an object's storage, as a corrupted or
// foreign-written row would present them: the first byte picks a state machine's state
// (server/fsm.c), a history record (server/fsm_record.c), a history key, a typed value or a
// set of typed fields (server/typed.c), or an alarm action's name (server/alarm_helpers.c);
// the rest is the stored bytes. Each must read as a value or as an error, never a crash. The
// object is a database-free turn (tests/support/turn.c).

#include <stdio.h>
#include <string.h>

#include <dobj/alarm.h>
#include <dobj/fsm.h>
#include <dobj/storage.h>
#include <dobj/typed.h>

#include "fsm_record.h"
#include "fuzz.h"
#include "stored.pb-c.h"
#include "turn.h"

static const char *const states[] = {"pending", "processing", "shipped", "delivered", "cancelled"};
static const dobj_fsm_transition table[] = {
    {"pending", "start_processing", "processing"},
    {"pending", "cancel", "cancelled"},
    {"processing", "ship", "shipped"},
    {"processing", "cancel", "cancelled"},
    {"shipped", "deliver", "delivered"},
};

static dobj_fsm *machine;
static fx_turn t;

static dobj_fsm *
order_machine(void)
{
	dobj_fsm_def def = {.states = states,
	                    .nstates = 5,
	                    .initial = "pending",
	                    .transitions = table,
	                    .ntransitions = 5,
	                    .history = true,
	                    .history_max = 3};
	char err[256];

	if (machine == NULL)
		FX_CHECK(dobj_fsm_define(&def, &machine, err, sizeof(err)) == DOBJ_OK);
	return machine;
}

static bool
is_state(const char *s)
{
	for (size_t i = 0; i < 5; i++)
		if (s == states[i] || strcmp(s, states[i]) == 0)
			return true;
	return false;
}

/* fsm_state: v stored as the machine's state. */
static void
fsm_state(dobj_bytes v)
{
	const dobj_fsm *m = order_machine();
	const char *const *events;
	const char *state = NULL;
	dobj_fsm_event ev = {.type = "cancel"};
	size_t n;
	bool ok;
	dobj_err rc;

	if (dobj_storage_put(&t.ctx, "__fsm_state", v.data, v.len) != DOBJ_OK)
		return;
	rc = dobj_fsm_state(m, &t.ctx, &state);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS);
	FX_CHECK(rc != DOBJ_OK || is_state(state));
	FX_CHECK(dobj_fsm_can_send(m, &t.ctx, "ship", &ok) == rc);
	FX_CHECK(dobj_fsm_valid_events(m, &t.ctx, &events, &n) == rc);
	rc = dobj_fsm_send(m, &t.ctx, &ev, &state);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS || rc == DOBJ_FAILED_PRECONDITION);
	FX_CHECK(rc != DOBJ_OK || strcmp(state, "cancelled") == 0);
}

/* fsm_record: v stored as a history record. */
static void
fsm_record(dobj_bytes v)
{
	dobj_fsm_record rec, again;
	dobj_bytes enc;
	dobj_err rc = dobj__fsm_record_decode(&t.ctx, "__fsm_history/1", v, &rec);

	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS);
	if (rc != DOBJ_OK)
		return;
	FX_CHECK(rec.from != NULL && rec.to != NULL && rec.event != NULL);
	FX_CHECK(dobj__fsm_record_encode(&t.ctx, &rec, &enc) == DOBJ_OK);
	FX_CHECK(dobj__fsm_record_decode(&t.ctx, "again", enc, &again) == DOBJ_OK);
	FX_CHECK(strcmp(rec.from, again.from) == 0 && strcmp(rec.to, again.to) == 0 &&
	         strcmp(rec.event, again.event) == 0 && rec.at_ms == again.at_ms);
}

/* fsm_history_key: v (to its first NUL) as the number of a history record's key, before the
 * machine appends a record and reads them all. */
static void
fsm_history_key(dobj_bytes v)
{
	static const char rec[] = "{\"from\":\"a\",\"to\":\"b\",\"event\":\"c\",\"at_ms\":1}";
	const dobj_fsm *m = order_machine();
	dobj_fsm_event ev = {.type = "start_processing"};
	dobj_fsm_record *recs;
	char key[256];
	size_t n;
	dobj_err rc;

	snprintf(key, sizeof(key), "%s%.*s", DOBJ__FSM_HISTORY_PREFIX, (int)v.len,
	         (const char *)v.data);
	if (dobj_storage_put(&t.ctx, key, rec, sizeof(rec) - 1) != DOBJ_OK)
		return;
	rc = dobj_fsm_send(m, &t.ctx, &ev, NULL);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS || rc == DOBJ_RESOURCE_EXHAUSTED);
	rc = dobj_fsm_history(m, &t.ctx, &recs, &n);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS);
	FX_CHECK(rc != DOBJ_OK || (n >= 1 && n <= 3));
}

/* typed_value: v stored under a key that typed storage reads as a Stored message. */
static void
typed_value(dobj_bytes v)
{
	ProtobufCMessage *msg;
	uint8_t *buf;
	size_t len;
	dobj_err rc;

	if (dobj_storage_put(&t.ctx, "order", v.data, v.len) != DOBJ_OK)
		return;
	rc = dobj_typed_load(&t.ctx, "order", &dobj__fuzz__stored__descriptor, &msg);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS);
	FX_CHECK((rc == DOBJ_OK) == (msg != NULL));
	if (msg == NULL)
		return;
	/* what was read can be stored again */
	len = protobuf_c_message_get_packed_size(msg);
	FX_CHECK((buf = dobj_ctx_alloc(&t.ctx, len)) != NULL);
	FX_CHECK(protobuf_c_message_pack(msg, buf) == len);
	FX_CHECK(dobj_typed_store(&t.ctx, "order", msg) == DOBJ_OK);
}

/* typed_fields: v cut into the stored values of Stored's fields, each field's value up to the
 * next 0xff byte, read back with dobj_typed_load_all. */
static void
typed_fields(dobj_bytes v)
{
	const ProtobufCMessageDescriptor *d = &dobj__fuzz__stored__descriptor;
	const uint8_t *p = v.data, *end = v.data + v.len;
	ProtobufCMessage *msg;
	dobj_err rc;

	for (unsigned i = 0; i < d->n_fields && p < end; i++) {
		const uint8_t *cut = memchr(p, 0xff, (size_t)(end - p));
		size_t n = cut != NULL ? (size_t)(cut - p) : (size_t)(end - p);

		if (dobj_storage_put(&t.ctx, d->fields[i].name, p, n) != DOBJ_OK)
			return;
		p += n + (cut != NULL);
	}
	rc = dobj_typed_load_all(&t.ctx, d, &msg);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_DATA_LOSS);
	FX_CHECK((rc == DOBJ_OK) == (msg != NULL));
}

static int acted;

static dobj_err
act(dobj_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	acted++;
	return DOBJ_OK;
}

/* alarm_action: v stored as the name of the action an alarm routes to. */
static void
alarm_action(dobj_bytes v)
{
	static const dobj_alarm_action actions[] = {{"auto-cancel", act}, {"remind", act}};
	static const dobj_alarm_router router = {.actions = actions, .nactions = 2};
	int before = acted;
	dobj_err rc;

	if (dobj_storage_put(&t.ctx, "__alarm_action", v.data, v.len) != DOBJ_OK)
		return;
	rc = dobj_alarm_route(&router, &t.ctx);
	FX_CHECK(rc == DOBJ_OK || rc == DOBJ_FAILED_PRECONDITION);
	FX_CHECK((rc == DOBJ_OK) == (acted == before + 1));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static void (*const kinds[])(dobj_bytes) = {fsm_state,   fsm_record,   fsm_history_key,
	                                            typed_value, typed_fields, alarm_action};
	dobj_bytes v;

	if (size == 0)
		return 0;
	v.data = data + 1;
	v.len = size - 1;
	fx_turn_open_alarmed(&t, "Order", "fuzz");
	kinds[data[0] % (sizeof(kinds) / sizeof(kinds[0]))](v);
	fx_turn_close(&t);
	return 0;
}
