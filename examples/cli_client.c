// SPDX-License-Identifier: MIT
// cli_client.c - the example CLIs' connection settings (cli_client.h).

#include <stdlib.h>
#include <string.h>

#include "cli_client.h"

/* env is getenv, with "" as unset. */
static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

void
cli_client_env(dobj_client_opts *o)
{
	o->url = env("DOBJ_URL");
	if (o->url == NULL)
		o->url = CLI_DEFAULT_URL;
	o->tls_ca_file = env("DOBJ_TLS_CA");
	o->tls_server_name = env("DOBJ_TLS_SERVER_NAME");
	o->tls_cert_file = env("DOBJ_TLS_CLIENT_CERT");
	o->tls_key_file = env("DOBJ_TLS_CLIENT_KEY");
}

bool
cli_client_flag(dobj_client_opts *o, int argc, char **argv, int *i)
{
	static const char *const flags[] = {"--url", "--tls-ca", "--tls-server-name", "--tls-cert",
	                                    "--tls-key"};
	const char **fields[] = {&o->url, &o->tls_ca_file, &o->tls_server_name, &o->tls_cert_file,
	                         &o->tls_key_file};

	if (*i + 1 >= argc)
		return false;
	for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		if (strcmp(argv[*i], flags[f]) == 0) {
			*fields[f] = argv[++*i];
			return true;
		}
	}
	return false;
}
