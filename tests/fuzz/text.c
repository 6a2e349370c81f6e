// SPDX-License-Identifier: MIT
// text.c - fuzzes the small parsers of text a caller or the wire hands over: the first byte
// picks dobj_parse_duration (server/alarm_helpers.c), dobj_id_from_string (sdk/src/id.c) or
// the UTF-8 helpers (server/utf8.c); the rest is the text. Each answer is checked against
// what the function promises.

#include <string.h>
#include <strings.h>

#include <dobj/alarm.h>
#include <dobj/id.h>

#include "fuzz.h"
#include "utf8.h"

/* cstr copies s[0..len) up to its first NUL, as a C caller would pass it; free it. */
static char *
cstr(const uint8_t *s, size_t len)
{
	const uint8_t *nul = memchr(s, '\0', len);
	char *p;

	if (nul != NULL)
		len = (size_t)(nul - s);
	FX_CHECK((p = malloc(len + 1)) != NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void
duration(const uint8_t *s, size_t len)
{
	char *in = cstr(s, len), err[256], small[8];
	size_t n = strlen(in), digits = strspn(in, "0123456789");
	int64_t ms = -1, ms2 = -1;
	dobj_err rc = dobj_parse_duration(in, &ms, err, sizeof(err));

	if (rc == DOBJ_OK) {
		FX_CHECK(digits >= 1 && n == digits + 1 && strchr("smhd", in[digits]) != NULL);
		FX_CHECK(ms > 0 && err[0] == '\0');
	} else {
		FX_CHECK(rc == DOBJ_INVALID_ARGUMENT && ms == 0 && err[0] != '\0');
	}
	/* a short err buffer truncates the message, not the answer */
	FX_CHECK(dobj_parse_duration(in, &ms2, small, sizeof(small)) == rc && ms2 == ms);
	FX_CHECK(strlen(small) < sizeof(small));
	FX_CHECK(dobj_parse_duration(in, &ms2, NULL, 0) == rc);
	free(in);
}

static void
id_hex(const uint8_t *s, size_t len)
{
	char *in = cstr(s, len), back[DOBJ_ID_HEX_SIZE];
	dobj_id id;

	if (dobj_id_from_string(in, &id) == DOBJ_OK) {
		dobj_id_to_string(&id, back);
		FX_CHECK(strlen(in) == 2 * DOBJ_ID_SIZE && strcasecmp(in, back) == 0);
	} else {
		FX_CHECK(strlen(in) != 2 * DOBJ_ID_SIZE ||
		         strspn(in, "0123456789abcdefABCDEF") < 2 * DOBJ_ID_SIZE);
	}
	free(in);
}

static void
utf8(const uint8_t *data, size_t len)
{
	const char *s = (const char *)data;
	bool valid = dobj__utf8_valid(s, len);
	size_t flen = dobj__utf8_fixed_len(s, len), max = len > 0 ? data[0] % 80 : 0, cut;
	char *fixed;

	FX_CHECK(valid ? flen == len : flen > len);
	FX_CHECK(flen <= 3 * len);
	FX_CHECK((fixed = malloc(flen ? flen : 1)) != NULL);
	dobj__utf8_fix(fixed, s, len);
	FX_CHECK(dobj__utf8_valid(fixed, flen));
	FX_CHECK(!valid || memcmp(fixed, s, len) == 0);
	FX_CHECK(dobj__utf8_fixed_len(fixed, flen) == flen);
	cut = dobj__utf8_cut(fixed, flen, max);
	FX_CHECK(cut <= max && cut <= flen);
	FX_CHECK(dobj__utf8_valid(fixed, cut));
	FX_CHECK(cut + 3 >= (max < flen ? max : flen)); /* a character is at most 4 bytes */
	free(fixed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		duration(data + 1, size - 1);
		break;
	case 1:
		id_hex(data + 1, size - 1);
		break;
	default:
		utf8(data + 1, size - 1);
		break;
	}
	return 0;
}
