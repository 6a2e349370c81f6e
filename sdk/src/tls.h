/* SPDX-License-Identifier: MIT */
/* tls.h - libdobj's internal TLS set-up for tls+tcp:// URLs, shared by the client (dialling)
 * and the server (listening): nng's TLS configurations made from PEM files, with errors that
 * name the file and mbedTLS's reason. Not installed. */
#ifndef DOBJ_SRC_TLS_H
#define DOBJ_SRC_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <dobj/err.h>

struct dobj_client_opts;

/* dobj__tls_files: what one side of a TLS connection presents and verifies (PEM files). */
typedef struct dobj__tls_files {
	const char *ca_file;     /* the peer's certificate must be signed by these; NULL: the
	                          * peer is not verified (a server then asks for no certificate) */
	const char *cert_file;   /* our certificate, with its chain; NULL: none */
	const char *key_file;    /* its private key; NULL or "": in cert_file */
	const char *server_name; /* client only: the name the server's certificate must carry */
	/* the names of the settings, for messages ("--tls-cert"), or NULL */
	const char *ca_what, *cert_what, *key_what;
} dobj__tls_files;

/* dobj__tls_url says whether url is one of nng's TLS URLs (tls+tcp://, tls+tcp4://, ...). */
bool dobj__tls_url(const char *url);

/* dobj__tls_config makes a configuration for mode from f. On failure err says which file and
 * why (errno's reason for an unreadable file, mbedTLS's as nng_strerror for a bad one):
 * DOBJ_INVALID_ARGUMENT, DOBJ_NOT_FOUND (no such file) or DOBJ_RESOURCE_EXHAUSTED. */
dobj_err dobj__tls_config(nng_tls_config **out, nng_tls_mode mode, const dobj__tls_files *f,
                          char *err, size_t errlen);

/* dobj__tls_client_config checks the TLS fields of o against o->url and, for a TLS URL, makes
 * the client's configuration in *out (NULL for another URL). On failure err says why. */
dobj_err dobj__tls_client_config(const struct dobj_client_opts *o, nng_tls_config **out, char *err,
                                 size_t errlen);

#endif /* DOBJ_SRC_TLS_H */
