// SPDX-License-Identifier: MIT
// tls.c - TLS configurations for tls+tcp:// from PEM files (nng's mbedTLS engine), for the
// client's dialers (dial.c) and the server's listener. The files are read here, not by nng, so
// that a message can say which file could not be read and why, and so that the private key may
// be in its own file or in the certificate's.

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/client.h>

#include "tls.h"

#define TLS_FILE_MAX (1u << 20) /* a PEM file larger than this is not a certificate or key */

bool
dobj__tls_url(const char *url)
{
	return url != NULL && strncmp(url, "tls+", 4) == 0;
}

/* tls_errf appends to the message in err (which dobj__tls_config empties first). */
static void tls_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
tls_errf(char *err, size_t errlen, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	if (err == NULL || errlen == 0 || (off = strlen(err)) >= errlen - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(err + off, errlen - off, fmt, ap);
	va_end(ap);
}

/* what_of names a setting for a message: " (--tls-cert)", or "". */
static const char *
what_of(const char *what, char *buf, size_t len)
{
	if (what == NULL)
		return "";
	snprintf(buf, len, " (%s)", what);
	return buf;
}

/* read_pem reads the whole file at path into a NUL-terminated buffer (free it). */
static dobj_err
read_pem(const char *path, const char *kind, const char *what, char **out, char *err, size_t errlen)
{
	char wbuf[64], *buf = NULL, *grown;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int e;

	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		e = errno;
		tls_errf(err, errlen, "could not read the TLS %s %s%s: %s", kind, path,
		         what_of(what, wbuf, sizeof(wbuf)), strerror(e));
		return e == ENOENT ? DOBJ_NOT_FOUND : DOBJ_INVALID_ARGUMENT;
	}
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if ((grown = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(f);
				tls_errf(err, errlen, "out of memory reading %s", path);
				return DOBJ_RESOURCE_EXHAUSTED;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0 && len <= TLS_FILE_MAX);
	e = ferror(f) ? errno : 0;
	fclose(f);
	if (e != 0 || len > TLS_FILE_MAX || len == 0) {
		free(buf);
		tls_errf(err, errlen, "could not read the TLS %s %s%s: %s", kind, path,
		         what_of(what, wbuf, sizeof(wbuf)),
		         e != 0     ? strerror(e)
		         : len == 0 ? "the file is empty"
		                    : "the file is over 1 MiB");
		return DOBJ_INVALID_ARGUMENT;
	}
	buf[len] = '\0';
	*out = buf;
	return DOBJ_OK;
}

static dobj_err
nng_to_dobj(int rv)
{
	return rv == NNG_ENOMEM ? DOBJ_RESOURCE_EXHAUSTED : DOBJ_INVALID_ARGUMENT;
}

/* load_own gives cfg our certificate and key (the key from the certificate's file when
 * f->key_file is not set). */
static dobj_err
load_own(nng_tls_config *cfg, const dobj__tls_files *f, char *err, size_t errlen)
{
	const char *key_file = f->key_file != NULL && f->key_file[0] ? f->key_file : NULL;
	char *cert = NULL, *key = NULL, wbuf[64];
	dobj_err rc;
	int rv;

	if ((rc = read_pem(f->cert_file, "certificate", f->cert_what, &cert, err, errlen)) !=
	    DOBJ_OK)
		return rc;
	if (key_file != NULL &&
	    (rc = read_pem(key_file, "key", f->key_what, &key, err, errlen)) != DOBJ_OK) {
		free(cert);
		return rc;
	}
	rv = nng_tls_config_own_cert(cfg, cert, key != NULL ? key : cert, NULL);
	free(cert);
	free(key);
	if (rv == 0)
		return DOBJ_OK;
	if (key_file != NULL) {
		tls_errf(err, errlen, "TLS certificate %s%s or its key %s", f->cert_file,
		         what_of(f->cert_what, wbuf, sizeof(wbuf)), key_file);
		tls_errf(err, errlen, "%s", what_of(f->key_what, wbuf, sizeof(wbuf)));
	} else {
		tls_errf(err, errlen,
		         "TLS certificate %s%s (which must also hold the private key%s)",
		         f->cert_file, what_of(f->cert_what, wbuf, sizeof(wbuf)),
		         f->key_what != NULL ? " when no key file is given" : "");
	}
	tls_errf(err, errlen,
	         " refused by mbedTLS: %s (a PEM certificate and an unencrypted PEM key are "
	         "expected)",
	         nng_strerror(rv));
	return nng_to_dobj(rv);
}

static dobj_err
load_ca(nng_tls_config *cfg, const dobj__tls_files *f, char *err, size_t errlen)
{
	char *ca = NULL, wbuf[64];
	dobj_err rc;
	int rv;

	if ((rc = read_pem(f->ca_file, "CA file", f->ca_what, &ca, err, errlen)) != DOBJ_OK)
		return rc;
	rv = nng_tls_config_ca_chain(cfg, ca, NULL);
	free(ca);
	if (rv == 0)
		rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED);
	if (rv != 0) {
		tls_errf(err, errlen, "TLS CA file %s%s refused by mbedTLS: %s", f->ca_file,
		         what_of(f->ca_what, wbuf, sizeof(wbuf)), nng_strerror(rv));
		return nng_to_dobj(rv);
	}
	return DOBJ_OK;
}

dobj_err
dobj__tls_config(nng_tls_config **out, nng_tls_mode mode, const dobj__tls_files *f, char *err,
                 size_t errlen)
{
	nng_tls_config *cfg;
	dobj_err rc = DOBJ_OK;
	int rv;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0) {
		tls_errf(err, errlen, "could not make a TLS configuration: %s%s", nng_strerror(rv),
		         rv == NNG_ENOTSUP ? " (this nng was built without TLS)" : "");
		return rv == NNG_ENOTSUP ? DOBJ_UNIMPLEMENTED : nng_to_dobj(rv);
	}
	if (f->server_name != NULL && f->server_name[0] != '\0' &&
	    (rv = nng_tls_config_server_name(cfg, f->server_name)) != 0) {
		tls_errf(err, errlen, "TLS server name \"%s\": %s", f->server_name,
		         nng_strerror(rv));
		rc = nng_to_dobj(rv);
	}
	if (rc == DOBJ_OK && f->ca_file != NULL)
		rc = load_ca(cfg, f, err, errlen);
	else if (rc == DOBJ_OK && (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_NONE)) != 0)
		rc = nng_to_dobj(rv);
	if (rc == DOBJ_OK && f->cert_file != NULL)
		rc = load_own(cfg, f, err, errlen);
	if (rc != DOBJ_OK) {
		nng_tls_config_free(cfg);
		return rc;
	}
	*out = cfg;
	return DOBJ_OK;
}

dobj_err
dobj__tls_client_config(const dobj_client_opts *o, nng_tls_config **out, char *err, size_t errlen)
{
	dobj__tls_files f = {
	    .ca_file = o->tls_ca_file,
	    .cert_file = o->tls_cert_file,
	    .key_file = o->tls_key_file,
	    .server_name = o->tls_server_name,
	    .ca_what = "the CA",
	    .cert_what = "the client certificate",
	    .key_what = "the client key",
	};
	nng_url *u = NULL;
	dobj_err rc;
	int rv;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!dobj__tls_url(o->url)) {
		if (o->tls_ca_file || o->tls_server_name || o->tls_cert_file || o->tls_key_file ||
		    o->tls_insecure_skip_verify) {
			tls_errf(
			    err, errlen,
			    "TLS options need a tls+tcp:// URL, not %s (TLS is not used there)",
			    o->url);
			return DOBJ_INVALID_ARGUMENT;
		}
		return DOBJ_OK;
	}
	if (o->tls_ca_file == NULL && !o->tls_insecure_skip_verify) {
		tls_errf(err, errlen,
		         "%s needs a CA file to verify the server's certificate (or, for tests "
		         "only, the explicit choice not to verify it)",
		         o->url);
		return DOBJ_INVALID_ARGUMENT;
	}
	if (o->tls_key_file != NULL && o->tls_cert_file == NULL) {
		tls_errf(err, errlen, "a TLS client key without its certificate");
		return DOBJ_INVALID_ARGUMENT;
	}
	if (o->tls_insecure_skip_verify)
		f.ca_file = NULL;
	if (f.server_name == NULL || f.server_name[0] == '\0') {
		if ((rv = nng_url_parse(&u, o->url)) != 0 || u->u_hostname == NULL ||
		    u->u_hostname[0] == '\0') {
			tls_errf(err, errlen, "%s is not a tls+tcp://HOST:PORT URL%s%s", o->url,
			         rv != 0 ? ": " : "", rv != 0 ? nng_strerror(rv) : "");
			if (u != NULL)
				nng_url_free(u);
			return rv == NNG_ENOMEM ? DOBJ_RESOURCE_EXHAUSTED : DOBJ_INVALID_ARGUMENT;
		}
		f.server_name = u->u_hostname;
	}
	if (o->tls_insecure_skip_verify)
		f.server_name = NULL;
	rc = dobj__tls_config(out, NNG_TLS_MODE_CLIENT, &f, err, errlen);
	if (u != NULL)
		nng_url_free(u);
	return rc;
}
