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

#include "counter/counter.pb-c.h"

#define CLI_DEFAULT_URL "tcp://127.0.0.1:7700"

static void
cli_usage(FILE *f)
{
	fprintf(f, "usage: counter-cli [--url URL] [--timeout-ms N] increment NAME AMOUNT\n"
	           "       counter-cli [--url URL] [--timeout-ms N] get NAME\n"
	           "       counter-cli [--url URL] [--timeout-ms N] reset NAME\n"
	           "\n"
	           "Calls the Counter object named NAME and prints its count.\n"
	           "URL defaults to $DOBJ_URL, else " CLI_DEFAULT_URL ".\n");
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

/* cli_call runs method on Counter NAME and prints the count from its reply. */
static int
cli_call(const char *url, int timeout_ms, const char *method, const char *name, const void *arg,
         size_t len)
{
	dobj_client_opts copts = {.url = url};
	dobj_call_opts opts = {.timeout_ms = timeout_ms};
	Dobj__Examples__Counter__CountReply *count;
	dobj_client *c;
	dobj_reply reply;
	dobj_stub stub;
	dobj_err err;
	char msg[256];
	int status;

	if ((err = dobj_client_open(&c, &copts)) != DOBJ_OK) {
		snprintf(msg, sizeof(msg), "could not open a client for %s: %s", url,
		         dobj_err_str(err));
		return cli_fail(err, msg);
	}
	if ((err = dobj_singleton(c, "Counter", name, &stub)) != DOBJ_OK) {
		dobj_client_close(c);
		return cli_fail(err, "could not make a stub for Counter");
	}
	if (dobj_call(&stub, method, arg, len, &opts, &reply) != DOBJ_OK) {
		status = cli_fail(reply.status, reply.message);
	} else if ((count = dobj__examples__counter__count_reply__unpack(NULL, reply.len,
	                                                                 reply.data)) == NULL) {
		snprintf(msg, sizeof(msg), "could not decode CountReply from the reply (%zu bytes)",
		         reply.len);
		status = cli_fail(DOBJ_INTERNAL, msg);
	} else {
		printf("%" PRId64 "\n", count->count);
		dobj__examples__counter__count_reply__free_unpacked(count, NULL);
		status = 0;
	}
	dobj_reply_fini(&reply);
	dobj_client_close(c);
	return status;
}

int
main(int argc, char **argv)
{
	Dobj__Examples__Counter__IncrementRequest req =
	    DOBJ__EXAMPLES__COUNTER__INCREMENT_REQUEST__INIT;
	const char *url = getenv("DOBJ_URL");
	const char *cmd, *name;
	uint8_t buf[16];
	int64_t v;
	int timeout_ms = 0, i = 1;

	if (url == NULL || url[0] == '\0')
		url = CLI_DEFAULT_URL;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--help") == 0) {
			cli_usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc) {
			url = argv[++i];
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
		req.amount = v;
		return cli_call(url, timeout_ms, "increment", name, buf,
		                dobj__examples__counter__increment_request__pack(&req, buf));
	}
	if ((strcmp(cmd, "get") == 0 || strcmp(cmd, "reset") == 0) && argc - i == 2)
		return cli_call(url, timeout_ms, cmd, name, NULL, 0);

usage:
	cli_usage(stderr);
	return 2;
}
