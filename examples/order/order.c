// SPDX-License-Identifier: MIT
// order.c - the Order class: the seed's order-processing example on dobj's state machine,
// alarm router and generated typed storage. Transitions and their side effects (the tracking
// number) commit together; 'auto-cancel' fires one day after initialize and cancels the
// order only if it is still pending.

#include <stdio.h>
#include <string.h>

#include <dobj/alarm.h>
#include <dobj/fsm.h>
#include <dobj/storage.h>

#include "order.h"
#include "order/order.dobj.h"

typedef Dobj__Examples__Order__InitRequest InitRequest;
typedef Dobj__Examples__Order__Event Event;
typedef Dobj__Examples__Order__Empty Empty;
typedef Dobj__Examples__Order__StateReply StateReply;
typedef Dobj__Examples__Order__HistoryReply HistoryReply;
typedef Dobj__Examples__Order__Transition Transition;

static const char *const states[] = {"pending", "paid", "shipped", "delivered", "cancelled"};

static const dobj_fsm_transition transitions[] = {
    {.from = "pending", .event = "pay", .to = "paid"},
    {.from = "pending", .event = "cancel", .to = "cancelled"},
    {.from = "paid", .event = "ship", .to = "shipped"},
    {.from = "paid", .event = "cancel", .to = "cancelled"},
    {.from = "shipped", .event = "deliver", .to = "delivered"},
};

static dobj_fsm *machine;

/* on_transition stores ship's tracking number with the transition. */
static dobj_err
on_transition(dobj_ctx *ctx, const char *from, const char *to, const dobj_fsm_event *ev, void *arg)
{
	char *tracking;

	(void)from;
	(void)to;
	(void)arg;
	if (strcmp(ev->type, "ship") != 0)
		return DOBJ_OK;
	if (ev->payload.len == 0)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "ship needs a tracking number");
	if ((tracking = dobj_ctx_alloc(ctx, ev->payload.len + 1)) == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	memcpy(tracking, ev->payload.data, ev->payload.len);
	tracking[ev->payload.len] = '\0';
	return order_schema_put_tracking_number(ctx, tracking);
}

/* require_initialized fails calls on an order that was never initialized. */
static dobj_err
require_initialized(dobj_ctx *ctx)
{
	char *id;
	dobj_err rc = order_schema_get_order_id(ctx, &id);

	if (rc == DOBJ_NOT_FOUND)
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION, "order is not initialized");
	return rc;
}

static dobj_err
initialize(dobj_ctx *ctx, const InitRequest *req, StateReply *rep)
{
	static const char action[] = "auto-cancel";
	const dobj_alarm_when in_a_day = {.in = "1d"};
	char *existing;
	dobj_err rc;

	if (req->order_id[0] == '\0')
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "initialize: order_id is empty");
	if ((rc = order_schema_get_order_id(ctx, &existing)) == DOBJ_OK)
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
		                       "order %s is already initialized", existing);
	if (rc != DOBJ_NOT_FOUND)
		return rc;
	if ((rc = order_schema_put_order_id(ctx, req->order_id)) != DOBJ_OK ||
	    (rc = order_schema_put_created_at(ctx, dobj_ctx_now_ms(ctx))) != DOBJ_OK ||
	    (rc = dobj_storage_put(ctx, "__alarm_action", action, strlen(action))) != DOBJ_OK ||
	    (rc = dobj_alarm_schedule(ctx, &in_a_day)) != DOBJ_OK)
		return rc;
	return dobj_fsm_state(machine, ctx, (const char **)&rep->state);
}

static dobj_err
transition(dobj_ctx *ctx, const Event *ev, StateReply *rep)
{
	dobj_fsm_event e = {
	    .type = ev->type,
	    .payload = {(const uint8_t *)ev->tracking_number, strlen(ev->tracking_number)}};
	dobj_err rc;

	if ((rc = require_initialized(ctx)) != DOBJ_OK)
		return rc;
	return dobj_fsm_send(machine, ctx, &e, (const char **)&rep->state);
}

static dobj_err
state(dobj_ctx *ctx, const Empty *req, StateReply *rep)
{
	dobj_err rc;

	(void)req;
	if ((rc = require_initialized(ctx)) != DOBJ_OK)
		return rc;
	return dobj_fsm_state(machine, ctx, (const char **)&rep->state);
}

static dobj_err
history(dobj_ctx *ctx, const Empty *req, HistoryReply *rep)
{
	dobj_fsm_record *rec;
	size_t n;
	dobj_err rc;

	(void)req;
	if ((rc = dobj_fsm_history(machine, ctx, &rec, &n)) != DOBJ_OK)
		return rc;
	rep->transitions = dobj_ctx_alloc(ctx, (n ? n : 1) * sizeof(*rep->transitions));
	if (rep->transitions == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	for (size_t i = 0; i < n; i++) {
		Transition *t = dobj_ctx_alloc(ctx, sizeof(*t));
		if (t == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
		dobj__examples__order__transition__init(t);
		t->from = (char *)rec[i].from;
		t->to = (char *)rec[i].to;
		t->event = (char *)rec[i].event;
		t->at_ms = rec[i].at_ms;
		rep->transitions[i] = t;
	}
	rep->n_transitions = n;
	return DOBJ_OK;
}

/* auto_cancel: the alarm action set by initialize. */
static dobj_err
auto_cancel(dobj_ctx *ctx, void *arg)
{
	static const dobj_fsm_event cancel = {.type = "cancel"};
	const char *now;
	dobj_err rc;

	(void)arg;
	if ((rc = dobj_fsm_state(machine, ctx, &now)) != DOBJ_OK)
		return rc;
	if (strcmp(now, "pending") != 0)
		return DOBJ_OK;
	return dobj_fsm_send(machine, ctx, &cancel, NULL);
}

static const dobj_alarm_action actions[] = {{.name = "auto-cancel", .fn = auto_cancel}};

static const dobj_alarm_router router = {.actions = actions, .nactions = 1};

static dobj_err
on_alarm(dobj_ctx *ctx)
{
	return dobj_alarm_route(&router, ctx);
}

static const order_handlers handlers = {
    .initialize = initialize,
    .transition = transition,
    .state = state,
    .history = history,
    .on_alarm = on_alarm,
};

const dobj_class *
order_example_class(void)
{
	static const dobj_fsm_def def = {
	    .states = states,
	    .nstates = sizeof(states) / sizeof(states[0]),
	    .initial = "pending",
	    .transitions = transitions,
	    .ntransitions = sizeof(transitions) / sizeof(transitions[0]),
	    .on_transition = on_transition,
	    .history = true,
	};
	static dobj_class cls;
	char err[256];

	if (machine == NULL && dobj_fsm_define(&def, &machine, err, sizeof(err)) != DOBJ_OK) {
		fprintf(stderr, "order: %s\n", err);
		return NULL;
	}
	cls = order_class(&handlers);
	return &cls;
}
