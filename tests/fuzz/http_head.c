// SPDX-License-Identifier: MIT
// http_head.c - fuzzes the operator port's request head (server/httpd_parse.c) as httpd.c
// reads it: the end of the head, found piece by piece as the bytes arrive, is where a scan of
// all the bytes at once finds it; the parse answers 0 with a clean path, or a status and why.

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "httpd.h"
#include "httpd_parse.h"

static char in[DOBJ__HTTPD_HEADER_MAX + 1];

/* head_end_in_pieces finds the end as httpd_read does, over reads of 1 to 16 bytes whose
 * sizes come from the input. */
static size_t
head_end_in_pieces(size_t len)
{
	size_t inlen = 0, end = 0;
	uint32_t x = (uint32_t)len * 2654435761u + 1;

	while (end == 0 && inlen < len) {
		size_t from = inlen > 3 ? inlen - 3 : 0, n;

		x = x * 1103515245u + 12345u;
		n = 1 + (x >> 16) % 16;
		inlen += n < len - inlen ? n : len - inlen;
		end = dobj__httpd_head_end(in, inlen, from);
	}
	return end;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < DOBJ__HTTPD_HEADER_MAX ? size : DOBJ__HTTPD_HEADER_MAX, end;
	const char *path = NULL, *why = NULL;
	bool head = false;
	int status;

	if (memchr(data, '\0', len) != NULL)
		return 0; /* httpd_read answers 400 before any parse */
	memcpy(in, data, len);
	in[len] = '\0';
	end = dobj__httpd_head_end(in, len, 0);
	FX_CHECK(head_end_in_pieces(len) == end);
	if (end == 0)
		return 0; /* 431 when full, else waiting for more */
	FX_CHECK(end <= len && in[end - 1] == '\n');
	in[end] = '\0';
	status = dobj__httpd_parse(in, &head, &path, &why);
	if (status != 0) {
		FX_CHECK(status == 400 || status == 405 || status == 413 || status == 505);
		FX_CHECK(why != NULL && why[0] != '\0' && why[strlen(why) - 1] == '\n');
		return 0;
	}
	FX_CHECK(path != NULL && path >= in && path < in + end && path[0] == '/');
	for (const char *p = path; *p != '\0'; p++)
		FX_CHECK((unsigned char)*p > ' ' && *p != 0x7f && *p != '?' && *p != '#');
	FX_CHECK(head == (strncmp((const char *)data, "HEAD ", 5) == 0));
	return 0;
}
