/* SPDX-License-Identifier: MIT */
/* cli_client.h - what the example CLIs share: how they reach dobjd. The URL and the TLS files
 * come from DOBJ_URL and DOBJ_TLS_*, and from --url and --tls-* flags, which win. */
#ifndef DOBJ_EXAMPLES_CLI_CLIENT_H
#define DOBJ_EXAMPLES_CLI_CLIENT_H

#include <stdbool.h>

#include <dobj/client.h>

#define CLI_DEFAULT_URL "tcp://127.0.0.1:7700"

/* cli_client_env sets o from the environment (an empty variable counts as unset): the URL from
 * DOBJ_URL, else CLI_DEFAULT_URL; the CA, server name, client certificate and key from
 * DOBJ_TLS_CA, DOBJ_TLS_SERVER_NAME, DOBJ_TLS_CLIENT_CERT and DOBJ_TLS_CLIENT_KEY. */
void cli_client_env(dobj_client_opts *o);

/* cli_client_flag takes argv[*i] with its value when it is --url, --tls-ca, --tls-server-name,
 * --tls-cert or --tls-key and a value follows, moving *i to the value; false otherwise. */
bool cli_client_flag(dobj_client_opts *o, int argc, char **argv, int *i);

#endif /* DOBJ_EXAMPLES_CLI_CLIENT_H */
