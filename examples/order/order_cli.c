// SPDX-License-Identifier: MIT
// order_cli.c - order-cli: drive an Order from the shell through the generated stubs.
//   order-cli [--url URL] [--timeout-ms N] init ID | send ID EVENT [TRACKING] | state ID | history ID
// init, send and state print the resulting state alone on stdout; history prints one
// "FROM TO EVENT AT_MS" line per transition. Errors print "STATUS: message" on stderr and
// exit 1; usage errors exit 2.

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_client.h"
#include "order/order.dobj.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: order-cli [--url URL] [--timeout-ms N] init ID\n"
	           "       order-cli [...] send ID pay|ship TRACKING|deliver|cancel\n"
	           "       order-cli [...] state ID | history ID\n"
	           "URL defaults to $DOBJ_URL or tcp://127.0.0.1:7700.\n"
	           "tls+tcp:// URLs: --tls-ca FILE (required), --tls-server-name NAME,\n"
	           "--tls-cert FILE, --tls-key FILE (as counter-cli; defaults from $DOBJ_TLS_CA,\n"
	           "$DOBJ_TLS_SERVER_NAME, $DOBJ_TLS_CLIENT_CERT, $DOBJ_TLS_CLIENT_KEY).\n");
}

static int
fail(const dobj_error *err)
{
	fprintf(stderr, "%s: %s\n", dobj_err_name(err->code), err->message);
	return 1;
}

/* run calls the command on order id and prints its outcome. */
static int
run(const dobj_stub *s, const dobj_call_opts *opts, const char *cmd, const char *id,
    const char *event, const char *tracking)
{
	Dobj__Examples__Order__InitRequest init = DOBJ__EXAMPLES__ORDER__INIT_REQUEST__INIT;
	Dobj__Examples__Order__Event ev = DOBJ__EXAMPLES__ORDER__EVENT__INIT;
	Dobj__Examples__Order__Empty empty = DOBJ__EXAMPLES__ORDER__EMPTY__INIT;
	Dobj__Examples__Order__StateReply *st = NULL;
	Dobj__Examples__Order__HistoryReply *h = NULL;
	dobj_error err = {0};
	dobj_err rc;

	if (strcmp(cmd, "history") == 0) {
		if (order_history(s, &empty, opts, &h, &err) != DOBJ_OK)
			return fail(&err);
		for (size_t i = 0; i < h->n_transitions; i++)
			printf("%s %s %s %lld\n", h->transitions[i]->from, h->transitions[i]->to,
			       h->transitions[i]->event, (long long)h->transitions[i]->at_ms);
		dobj__examples__order__history_reply__free_unpacked(h, NULL);
		return 0;
	}
	if (strcmp(cmd, "init") == 0) {
		init.order_id = (char *)id;
		rc = order_initialize(s, &init, opts, &st, &err);
	} else if (strcmp(cmd, "send") == 0) {
		ev.type = (char *)event;
		ev.tracking_number = (char *)(tracking ? tracking : "");
		rc = order_transition(s, &ev, opts, &st, &err);
	} else {
		rc = order_state(s, &empty, opts, &st, &err);
	}
	if (rc != DOBJ_OK)
		return fail(&err);
	printf("%s\n", st->state);
	dobj__examples__order__state_reply__free_unpacked(st, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd, *id, *event = NULL, *tracking = NULL;
	dobj_call_opts opts = {0};
	dobj_client_opts copts = {0};
	dobj_client *c;
	dobj_stub s;
	dobj_err rc;
	char why[768] = "";
	int i = 1, status, nargs;

	cli_client_env(&copts);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (cli_client_flag(&copts, argc, argv, &i)) {
			continue;
		} else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
			char *end;
			long v;
			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || v <= 0 || v > INT_MAX) {
				fprintf(stderr, "order-cli: bad --timeout-ms \"%s\"\n", argv[i]);
				return 2;
			}
			opts.timeout_ms = (int)v;
		} else {
			fprintf(stderr, "order-cli: unknown or incomplete option \"%s\"\n",
			        argv[i]);
			usage(stderr);
			return 2;
		}
	}
	nargs = argc - i;
	if (nargs < 2)
		goto bad;
	cmd = argv[i];
	id = argv[i + 1];
	if (strcmp(cmd, "send") == 0) {
		if (nargs < 3)
			goto bad;
		event = argv[i + 2];
		if (strcmp(event, "ship") == 0 ? nargs != 4 : nargs != 3)
			goto bad;
		tracking = nargs == 4 ? argv[i + 3] : NULL;
	} else if ((strcmp(cmd, "init") != 0 && strcmp(cmd, "state") != 0 &&
	            strcmp(cmd, "history") != 0) ||
	           nargs != 2) {
		goto bad;
	}
	if ((rc = dobj_client_open_err(&c, &copts, why, sizeof(why))) != DOBJ_OK) {
		fprintf(stderr, "%s: could not open a client for %s%s%s\n", dobj_err_name(rc),
		        copts.url, why[0] ? ": " : "", why);
		return 1;
	}
	if (order_stub(c, id, &s) != DOBJ_OK) {
		dobj_client_close(c);
		fprintf(stderr, "INVALID_ARGUMENT: bad order id \"%s\"\n", id);
		return 1;
	}
	status = run(&s, &opts, cmd, id, event, tracking);
	dobj_client_close(c);
	return status;
bad:
	usage(stderr);
	return 2;
}
