/* SPDX-License-Identifier: MIT */
/* httpd_parse.h - the request head's syntax for the operator port's HTTP server (httpd.c),
 * apart from its sockets so that tests and the fuzzer (tests/fuzz) drive it on bytes. */
#ifndef DOBJ_SERVER_HTTPD_PARSE_H
#define DOBJ_SERVER_HTTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* dobj__httpd_head_end returns the length of the request head in in[0..len), through the
 * empty line that ends it (a bare LF is taken for CRLF), or 0 while it is not complete. The
 * search starts at from: a caller that reads in pieces passes the previous length minus 3. */
size_t dobj__httpd_head_end(const char *in, size_t len, size_t from);

/* dobj__httpd_parse reads the request head in in (complete, NUL-terminated, cut in place):
 * 0 when it is a GET or HEAD that may be served, with *head set for a HEAD and *path pointing
 * into in (the target without its query string); else the status to answer (400, 405, 413,
 * 505), with the reason, a line of text, in *why. */
int dobj__httpd_parse(char *in, bool *head, const char **path, const char **why);

#endif /* DOBJ_SERVER_HTTPD_PARSE_H */
