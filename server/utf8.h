// SPDX-License-Identifier: MIT
/* utf8.h - the UTF-8 checks the server makes on names and keys from the wire, and the repair
 * of text that leaves it as UTF-8 (protobuf strings, PostgreSQL text). */
#ifndef DOBJ_SERVER_UTF8_H
#define DOBJ_SERVER_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* dobj__utf8_valid: s[0..len) is well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * past U+10FFFF), as PostgreSQL's text type and protobuf's string type require. */
bool dobj__utf8_valid(const char *s, size_t len);

/* dobj__utf8_cut: the length of the longest prefix of the valid UTF-8 string s (len bytes) of
 * at most max bytes that ends between two characters, for quoting s in a message. */
size_t dobj__utf8_cut(const char *s, size_t len, size_t max);

/* dobj__utf8_fixed_len: the length of s (len bytes) once dobj__utf8_fix has replaced each
 * byte that does not begin a well-formed character by U+FFFD (3 bytes); len if s is valid. */
size_t dobj__utf8_fixed_len(const char *s, size_t len);

/* dobj__utf8_fix writes s with those replacements into out, dobj__utf8_fixed_len(s, len)
 * bytes (no NUL added). */
void dobj__utf8_fix(char *out, const char *s, size_t len);

#endif /* DOBJ_SERVER_UTF8_H */
