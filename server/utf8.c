// SPDX-License-Identifier: MIT
// utf8.c - UTF-8 checks for names and keys that come from the wire, and the repair of text
// that must be UTF-8 on its way out (reply messages, an alarm's last error).

#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* char_len: the length of the well-formed character that starts at s[i], or 0 if none does
 * (no overlong forms, no surrogates, nothing past U+10FFFF). */
static size_t
char_len(const unsigned char *s, size_t i, size_t len)
{
	unsigned c = s[i];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07;
	else
		return 0;
	if (len - i <= n)
		return 0;
	for (size_t k = 1; k <= n; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i + k] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

bool
dobj__utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, n; i < len; i += n)
		if ((n = char_len(s, i, len)) == 0)
			return false;
	return true;
}

size_t
dobj__utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	/* back to the first byte of the character the cut would split */
	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

size_t
dobj__utf8_fixed_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t out = 0;

	for (size_t i = 0, n; i < len; i += n ? n : 1)
		out += (n = char_len(s, i, len)) ? n : sizeof(REPLACEMENT) - 1;
	return out;
}

void
dobj__utf8_fix(char *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0, n; i < len; i += n ? n : 1) {
		if ((n = char_len(s, i, len)) != 0) {
			memcpy(out, s + i, n);
			out += n;
		} else {
			memcpy(out, REPLACEMENT, sizeof(REPLACEMENT) - 1);
			out += sizeof(REPLACEMENT) - 1;
		}
	}
}
