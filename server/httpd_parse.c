// SPDX-License-Identifier: MIT
// httpd_parse.c - the syntax of an HTTP/1.1 request head for the operator port (httpd.c):
// where the head ends, its request line and its header lines. Reading the bytes off the
// socket, and answering, stay in httpd.c.

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "httpd_parse.h"

/* httpd_tchar: a character of an HTTP token (method, header name). */
static bool
httpd_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* httpd_line cuts the line at *p (LF or CRLF ended), advances *p past it and returns it. */
static char *
httpd_line(char **p)
{
	char *line = *p, *eol = strchr(line, '\n');

	*eol = '\0'; /* the caller knows the headers end with an empty line */
	*p = eol + 1;
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	return line;
}

size_t
dobj__httpd_head_end(const char *in, size_t len, size_t from)
{
	for (size_t i = from; i < len; i++) {
		if (in[i] != '\n')
			continue;
		if (i + 1 < len && in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int
dobj__httpd_parse(char *in, bool *head, const char **path, const char **why)
{
	char *p = in, *line, *target, *version, *q;
	bool get;

	line = httpd_line(&p);
	*why = "bad request line\n";
	if ((target = strchr(line, ' ')) == NULL)
		return 400;
	*target++ = '\0';
	if ((version = strchr(target, ' ')) == NULL)
		return 400;
	*version++ = '\0';
	for (q = line; *q != '\0'; q++)
		if (!httpd_tchar((unsigned char)*q))
			return 400;
	for (q = target; *q != '\0'; q++)
		if ((unsigned char)*q <= ' ' || *q == 0x7f)
			return 400;
	if (line[0] == '\0' || target[0] == '\0' || strncmp(version, "HTTP/", 5) != 0 ||
	    version[5] < '0' || version[5] > '9' || version[6] != '.' || version[7] < '0' ||
	    version[7] > '9' || version[8] != '\0')
		return 400;
	*why = "HTTP version not supported\n";
	if (version[5] != '1')
		return 505;
	*why = "only GET and HEAD are served\n";
	get = strcmp(line, "GET") == 0;
	*head = strcmp(line, "HEAD") == 0;
	if (!get && !*head)
		return 405;
	*why = "bad request target\n";
	if (target[0] != '/')
		return 400;
	target[strcspn(target, "?#")] = '\0';
	*path = target;

	while (*(line = httpd_line(&p)) != '\0') {
		char *colon = strchr(line, ':'), *value;

		*why = "bad header line\n";
		if (colon == NULL || colon == line)
			return 400;
		for (q = line; q < colon; q++)
			if (!httpd_tchar((unsigned char)*q))
				return 400; /* also a folded line: it starts with a space */
		*colon = '\0';
		for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
			;
		*why = "request bodies are not accepted\n";
		if (strcasecmp(line, "transfer-encoding") == 0)
			return 413;
		if (strcasecmp(line, "content-length") == 0) {
			size_t digits = strspn(value, "0123456789");

			for (q = value + digits; *q == ' ' || *q == '\t'; q++)
				;
			if (digits == 0 || *q != '\0') {
				*why = "bad Content-Length\n";
				return 400;
			}
			if (strspn(value, "0") < digits)
				return 413;
		}
	}
	return 0;
}
