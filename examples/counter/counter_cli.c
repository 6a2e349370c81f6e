// SPDX-License-Identifier: MIT
// counter_cli.c - counter-cli: increments, reads and resets a Counter object by name.
// Argument parsing and printing live here; the call is libdobj's, the counting the server's.

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/client.h>

#include "cli_client.h"
#include "counter/counter.dobj.h"

static void
cli_usage(FILE *f)
{
	fprintf(f,
	        "usage: counter-cli [--url URL] [--timeout-ms N] increment NAME AMOUNT\n"
	        "       counter-cli [--url URL] [--timeout-ms N] get NAME\n"
	        "       counter-cli [--url URL] [--timeout-ms N] reset NAME\n"
	        "\n"
	        "Calls the Counter object named NAME and prints its count.\n"
	        "URL defaults to $DOBJ_URL, else " CLI_DEFAULT_URL ".\n"
	        "tls+tcp:// URLs: --tls-ca FILE (required: the CA of the server's certificate),\n"
	        "--tls-server-name NAME (default: the URL's host), --tls-cert FILE and\n"
	        "--tls-key FILE (a client certificate, for dobjd --tls-client-ca); PEM files.\n"
	        "Defaults: $DOBJ_TLS_CA, $DOBJ_TLS_SERVER_NAME, $DOBJ_TLS_CLIENT_CERT,\n"
	        "$DOBJ_TLS_CLIENT_KEY.\n");
}

/* cli_parse_i64 parses all of s as a decimal int64; -1 if it is not one. */
static int
cli_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	_Static_assert(sizeof(long long) == sizeof(int64_t), "long long is not 64 bits");
	if (s[0] == '\0')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
cli_fail(dobj_err err, const char *message)
{
	fprintf(stderr, "%s: %s\n", dobj_err_name(err), message);
	return 1;
}

/* cli_call runs cmd on the Counter named name through the generated stubs and prints the
 * resulting count. */
static int
cli_call(const dobj_client_opts *copts, int timeout_ms, const char *cmd, const char *name,
         int64_t amount)
{
	Dobj__Examples__Counter__IncrementRequest inc =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	Dobj__Examples__Counter__Empty empty = DOBJ__EXAMPLES__COUNTER__EMPTY__INIT;
	Dobj__Examples__Counter__CountReply *count = NULL;
	dobj_call_opts opts = {.timeout_ms = timeout_ms};
	dobj_error err = {0};
	dobj_client *c;
	dobj_stub stub;
	dobj_err rc;
	char msg[1024], why[768] = "";

	if ((rc = dobj_client_open_err(&c, copts, why, sizeof(why))) != DOBJ_OK) {
		snprintf(msg, sizeof(msg), "could not open a client for %s: %s", copts->url,
		         why[0] ? why : dobj_err_str(rc));
		return cli_fail(rc, msg);
	}
	if ((rc = counter_stub(c, name, &stub)) != DOBJ_OK) {
		dobj_client_close(c);
		return cli_fail(rc, "could not make a stub for Counter");
	}
	inc.amount = amount;
	if (strcmp(cmd, "increment") == 0)
		rc = counter_increment(&stub, &inc, &opts, &count, &err);
	else if (strcmp(cmd, "get") == 0)
		rc = counter_get(&stub, &empty, &opts, &count, &err);
	else
		rc = counter_reset(&stub, &empty, &opts, &count, &err);
	dobj_client_close(c);
	if (rc != DOBJ_OK)
		return cli_fail(err.code, err.message);
	printf("%" PRId64 "\n", count->count);
	dobj__examples__counter__count_reply__free_unpacked(count, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	dobj_client_opts copts = {0};
	const char *cmd, *name;
	int64_t v;
	int timeout_ms = 0, i = 1;

	cli_client_env(&copts);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--help") == 0) {
			cli_usage(stdout);
			return 0;
		} else if (cli_client_flag(&copts, argc, argv, &i)) {
			continue;
		} else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc) {
			if (cli_parse_i64(argv[++i], &v) != 0 || v <= 0 || v > INT_MAX) {
				fprintf(stderr, "counter-cli: bad --timeout-ms \"%s\"\n", argv[i]);
				cli_usage(stderr);
				return 2;
			}
			timeout_ms = (int)v;
		} else {
			fprintf(stderr, "counter-cli: unknown or incomplete option \"%s\"\n",
			        argv[i]);
			cli_usage(stderr);
			return 2;
		}
	}
	if (argc - i < 2)
		goto usage;
	cmd = argv[i];
	name = argv[i + 1];
	if (strcmp(cmd, "increment") == 0 && argc - i == 3) {
		if (cli_parse_i64(argv[i + 2], &v) != 0) {
			fprintf(stderr, "counter-cli: AMOUNT \"%s\" is not an int64\n",
			        argv[i + 2]);
			cli_usage(stderr);
			return 2;
		}
		return cli_call(&copts, timeout_ms, "increment", name, v);
	}
	if ((strcmp(cmd, "get") == 0 || strcmp(cmd, "reset") == 0) && argc - i == 2)
		return cli_call(&copts, timeout_ms, cmd, name, 0);

usage:
	cli_usage(stderr);
	return 2;
}
