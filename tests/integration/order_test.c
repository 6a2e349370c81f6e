// SPDX-License-Identifier: MIT
// order_test.c - the seed's order flow through the Order example on real dobjd processes and
// PostgreSQL: transitions and the seed's error texts, a failing transition callback rolled
// back, state kept across restarts, and the one-day auto-cancel alarm, with the clock moved
// both by restarting dobjd with --clock-offset and in process (dobj_server_advance_clock).

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <dobj/server.h>

#include "calls.h"
#include "fixture.h"
#include "stack.h"
#include "order/order.dobj.h"
#include "order/order.h"

FX_STACK_SUITE(order, "dobjd", 180);

/* call runs one Order rpc on order id; state and message receive the outcome. */
static dobj_err
call(dobj_client *c, const char *id, const char *cmd, const char *arg, char *state, char *message)
{
	Dobj__Examples__Order__InitRequest init = DOBJ__EXAMPLES__ORDER__INIT_REQUEST__INIT;
	Dobj__Examples__Order__Event ev = DOBJ__EXAMPLES__ORDER__EVENT__INIT;
	Dobj__Examples__Order__Empty empty = DOBJ__EXAMPLES__ORDER__EMPTY__INIT;
	Dobj__Examples__Order__StateReply *st = NULL;
	dobj_error err = {0};
	dobj_stub s;
	dobj_err rc;

	cr_assert_eq(order_stub(c, id, &s), DOBJ_OK);
	if (strcmp(cmd, "init") == 0) {
		init.order_id = (char *)id;
		rc = order_initialize(&s, &init, NULL, &st, &err);
	} else if (strcmp(cmd, "state") == 0) {
		rc = order_state(&s, &empty, NULL, &st, &err);
	} else {
		ev.type = (char *)cmd;
		ev.tracking_number = (char *)(arg ? arg : "");
		rc = order_transition(&s, &ev, NULL, &st, &err);
	}
	if (state != NULL)
		snprintf(state, 32, "%s", rc == DOBJ_OK ? st->state : "");
	if (message != NULL)
		snprintf(message, 256, "%s", rc == DOBJ_OK ? "" : err.message);
	if (st != NULL)
		dobj__examples__order__state_reply__free_unpacked(st, NULL);
	return rc;
}

static void
expect_state(dobj_client *c, const char *id, const char *cmd, const char *arg, const char *want)
{
	char state[32], msg[256];
	dobj_err rc = call(c, id, cmd, arg, state, msg);

	cr_assert_eq(rc, DOBJ_OK, "%s %s: %s: %s", cmd, id, dobj_err_name(rc), msg);
	cr_assert_str_eq(state, want, "%s %s", cmd, id);
}

Test(order, the_seed_flow_and_its_error_texts)
{
	char msg[256];

	expect_state(cl, "order-123", "init", NULL, "pending");
	cr_assert_eq(call(cl, "order-123", "deliver", NULL, NULL, msg), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(msg, "Invalid transition: state \"pending\" does not handle event "
	                      "\"deliver\". Valid events: [pay, cancel]");
	expect_state(cl, "order-123", "pay", NULL, "paid");
	expect_state(cl, "order-123", "ship", "TRACK-456", "shipped");
	expect_state(cl, "order-123", "deliver", NULL, "delivered");
	cr_assert_eq(call(cl, "order-123", "deliver", NULL, NULL, msg), DOBJ_FAILED_PRECONDITION);
	cr_assert_str_eq(msg, "No transitions defined for state \"delivered\". Cannot handle event "
	                      "\"deliver\".");
	cr_assert_eq(call(cl, "never-made", "pay", NULL, NULL, msg), DOBJ_FAILED_PRECONDITION);
	cr_assert_eq(call(cl, "order-123", "init", NULL, NULL, msg), DOBJ_FAILED_PRECONDITION);
}

Test(order, a_failing_transition_callback_changes_nothing)
{
	char msg[256], *tracking;

	expect_state(cl, "o", "init", NULL, "pending");
	expect_state(cl, "o", "pay", NULL, "paid");
	cr_assert_eq(call(cl, "o", "ship", "", NULL, msg), DOBJ_INVALID_ARGUMENT);
	cr_assert_str_eq(msg, "ship needs a tracking number");
	expect_state(cl, "o", "state", NULL, "paid");
	tracking = fx_db_query1(&db, "SELECT count(*) FROM dobj_storage WHERE class = 'Order' "
	                             "AND key = 'tracking_number'");
	cr_assert_str_eq(tracking, "0", "the failed callback's write survived");
	free(tracking);
	tracking = fx_db_query1(&db, "SELECT count(*) FROM dobj_storage WHERE class = 'Order' "
	                             "AND starts_with(key, '__fsm_history/')");
	cr_assert_str_eq(tracking, "1", "only the pay transition is in the history");
	free(tracking);
}

Test(order, state_is_kept_across_restarts)
{
	expect_state(cl, "keep", "init", NULL, "pending");
	expect_state(cl, "keep", "pay", NULL, "paid");
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, NULL);
	expect_state(cl, "keep", "state", NULL, "paid");
	expect_state(cl, "keep", "ship", "T-1", "shipped");
}

/* wait_alarms_gone waits until no alarm is pending in the database. */
static void
wait_alarms_gone(fx_db *d, long deadline_ms)
{
	for (long waited = 0;; waited += 20) {
		char *n = fx_db_query1(d, "SELECT count(*) FROM dobj_alarms");
		bool gone = strcmp(n, "0") == 0;
		free(n);
		if (gone)
			return;
		cr_assert_lt(waited, deadline_ms, "alarms still pending after %ld ms", deadline_ms);
		fx_nap_ms(20);
	}
}

Test(order, a_day_later_a_pending_order_is_cancelled_and_a_paid_one_is_not)
{
	static const char *const ahead[] = {"--clock-offset", "86401", NULL};

	expect_state(cl, "waits", "init", NULL, "pending");
	expect_state(cl, "pays", "init", NULL, "pending");
	expect_state(cl, "pays", "pay", NULL, "paid");
	fx_server_stop(&srv);
	fx_server_start(&srv, &db, srv.port, ahead);
	wait_alarms_gone(&db, 20000);
	expect_state(cl, "waits", "state", NULL, "cancelled");
	expect_state(cl, "pays", "state", NULL, "paid");
}

/* The same a day later, with the server in this process and its clock moved by the API. */
Test(order, in_process_clock_moved_a_day)
{
	dobj_server_opts so = {0};
	dobj_server *s;
	dobj_client *c;
	char url[64], err[512];
	const dobj_class *order = order_example_class();

	snprintf(url, sizeof(url), "ipc:///tmp/dobj-order-%ld.ipc", (long)getpid());
	so.listen_url = url;
	so.database_url = db.dsn;
	so.shards = 1;
	so.http_listen_url = "";
	cr_assert_not_null(order);
	/* one dobjd writes a database at a time (the writer lock): the suite's external dobjd
	 * stops first, or this one would stand by for it */
	fx_server_stop(&srv);
	cr_assert_eq(dobj_server_open(&s, &so, err, sizeof(err)), DOBJ_OK, "%s", err);
	cr_assert_eq(dobj_server_register(s, order), DOBJ_OK);
	cr_assert_eq(dobj_server_start(s, err, sizeof(err)), DOBJ_OK, "%s", err);
	c = fx_client(url, 20000);

	expect_state(c, "inproc-waits", "init", NULL, "pending");
	expect_state(c, "inproc-pays", "init", NULL, "pending");
	expect_state(c, "inproc-pays", "pay", NULL, "paid");
	dobj_server_advance_clock(s, 86401 * 1000LL);
	wait_alarms_gone(&db, 20000);
	expect_state(c, "inproc-waits", "state", NULL, "cancelled");
	expect_state(c, "inproc-pays", "state", NULL, "paid");
	dobj_client_close(c);
	dobj_server_close(s);
}
