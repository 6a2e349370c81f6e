// SPDX-License-Identifier: MIT
// log.c - the server's log: plain or JSON lines on stderr, each written whole so that lines
// from different threads never interleave, with the DSN's password masked in every line.
// Secrets are registered before the server's threads start and only read afterwards.

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"

#define LOG_LINE_MAX 2048
#define LOG_SECRETS_MAX 8
#define LOG_MASK "***"

static _Atomic int log_level = DOBJ_LOG_INFO;
static _Atomic int log_format = DOBJ_LOG_PLAIN;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"plain", "json"};
static char *secrets[LOG_SECRETS_MAX];
static _Atomic int nsecrets;

void
dobj__log_set_level(dobj__log_level level)
{
	atomic_store(&log_level, (int)level);
}

int
dobj__log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void
dobj__log_set_format(dobj__log_format format)
{
	atomic_store(&log_format, (int)format);
}

int
dobj__log_parse_format(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (strcmp(s, format_names[i]) == 0)
			return i;
	return -1;
}

void
dobj__log_add_secret(const char *s)
{
	int n = atomic_load(&nsecrets);

	if (s == NULL || strlen(s) < 3 || n == LOG_SECRETS_MAX)
		return;
	for (int i = 0; i < n; i++)
		if (strcmp(secrets[i], s) == 0)
			return;
	if ((secrets[n] = strdup(s)) != NULL)
		atomic_store(&nsecrets, n + 1);
}

void
dobj__log_hide_dsn(const char *dsn)
{
	PQconninfoOption *opts = dsn ? PQconninfoParse(dsn, NULL) : NULL;

	if (opts == NULL)
		return; /* unparsable: libpq refuses it too; the patterns below still apply */
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL)
			dobj__log_add_secret(o->val);
	PQconninfoFree(opts);
}

/* redact_out: the rewritten text, truncated to its room. */
typedef struct redact_out {
	char *p;
	size_t len, size;
} redact_out;

static void
redact_put(redact_out *o, const char *s, size_t n)
{
	if (o->len + n >= o->size)
		n = o->size - 1 - o->len;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* secret_at returns the length of the registered secret that starts at s, or 0. */
static size_t
secret_at(const char *s)
{
	int n = atomic_load(&nsecrets);

	for (int i = 0; i < n; i++) {
		size_t k = strlen(secrets[i]);
		if (strncmp(s, secrets[i], k) == 0)
			return k;
	}
	return 0;
}

/* password_value_len measures the value after "password=": a quoted libpq value, or up to
 * a space, '&' (URI query) or a quote. */
static size_t
password_value_len(const char *v)
{
	size_t n = 0;

	if (v[0] == '\'') {
		for (n = 1; v[n] != '\0' && v[n] != '\''; n++)
			if (v[n] == '\\' && v[n + 1] != '\0')
				n++;
		return v[n] == '\'' ? n + 1 : n;
	}
	while (v[n] != '\0' && v[n] != ' ' && v[n] != '&' && v[n] != '"' && v[n] != '\'' &&
	       v[n] != '\n' && v[n] != '\t')
		n++;
	return n;
}

/* userinfo_password finds "scheme://user:PASSWORD@" at s (which points at "://"): the
 * password's offset from s and its length, or 0. */
static size_t
userinfo_password(const char *s, size_t *off)
{
	const char *a = s + 3, *end = a + strcspn(a, "/?# \t\n\"'"), *at = NULL, *colon;

	for (const char *p = a; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || (colon = memchr(a, ':', (size_t)(at - a))) == NULL)
		return 0;
	*off = (size_t)(colon + 1 - s);
	return (size_t)(at - colon - 1);
}

void
dobj__log_redact(char *buf, size_t size)
{
	redact_out o = {.size = size};
	const char *s = buf;

	if (size == 0 || (o.p = malloc(size)) == NULL) {
		if (size > 0)
			snprintf(buf, size,
			         "(message dropped: out of memory while masking secrets)");
		return;
	}
	while (*s != '\0') {
		size_t k, off;

		if ((k = secret_at(s)) > 0) {
			redact_put(&o, LOG_MASK, 3);
			s += k;
		} else if (strncasecmp(s, "password=", 9) == 0) {
			redact_put(&o, s, 9);
			s += 9;
			if ((k = password_value_len(s)) > 0)
				redact_put(&o, LOG_MASK, 3);
			s += k;
		} else if (strncmp(s, "://", 3) == 0 && (k = userinfo_password(s, &off)) > 0) {
			redact_put(&o, s, off);
			redact_put(&o, LOG_MASK, 3);
			s += off + k;
		} else {
			redact_put(&o, s, 1);
			s++;
		}
	}
	o.p[o.len] = '\0';
	memcpy(buf, o.p, o.len + 1);
	free(o.p);
}

/* utf8_len returns the length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* json_string appends msg as the contents of a JSON string: quotes, backslashes and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD. Returns the new length. */
static size_t
json_string(char *line, size_t n, size_t room, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;

	while (*s != '\0') {
		char esc[8];
		const char *out = esc;
		size_t k = 0, adv = 1;

		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			k = 2;
		} else if (*s == '\n') {
			memcpy(esc, "\\n", k = 2);
		} else if (*s == '\t') {
			memcpy(esc, "\\t", k = 2);
		} else if (*s == '\r') {
			memcpy(esc, "\\r", k = 2);
		} else if (*s < 0x20 || *s == 0x7f) {
			k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *s);
		} else if ((adv = utf8_len(s)) == 0) {
			memcpy(esc, "\\ufffd", k = 6);
			adv = 1;
		} else {
			out = (const char *)s;
			k = adv;
		}
		if (n + k > room)
			break;
		memcpy(line + n, out, k);
		n += k;
		s += adv;
	}
	return n;
}

void
dobj__log(dobj__log_level level, const char *fmt, ...)
{
	char full[LOG_LINE_MAX * 2], msg[LOG_LINE_MAX], ts_buf[40], line[LOG_LINE_MAX * 2];
	struct timespec ts;
	struct tm tm;
	size_t n;
	va_list ap;

	if ((int)level < atomic_load(&log_level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(ts_buf, sizeof(ts_buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts_buf + n, sizeof(ts_buf) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	/* Secrets are masked before the cut to LOG_LINE_MAX: a password cut in two could not be
	 * recognised any more. */
	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	dobj__log_redact(full, sizeof(full));
	n = strnlen(full, sizeof(msg) - 1);
	memcpy(msg, full, n);
	msg[n] = '\0';
	/* One event, one line: libpq's messages carry hints on further lines. */
	for (n = strlen(msg); n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '); n--)
		msg[n - 1] = '\0';
	/* Plain text goes to terminals too: no control character from a client's or PostgreSQL's
	 * text (an escape sequence, a vertical tab) reaches them as such. */
	if (atomic_load(&log_format) == DOBJ_LOG_PLAIN)
		for (char *p = msg; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\n' || c == '\t' || c == '\r')
				*p = ' ';
			else if (c < 0x20 || c == 0x7f)
				*p = '?';
		}
	if (atomic_load(&log_format) == DOBJ_LOG_JSON) {
		n = (size_t)snprintf(line, sizeof(line),
		                     "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts_buf,
		                     level_names[level]);
		n = json_string(line, n, sizeof(line) - 3, msg);
		memcpy(line + n, "\"}", 2);
		n += 2;
	} else {
		n = (size_t)snprintf(line, sizeof(line) - 1, "%s %-5s %s", ts_buf,
		                     level_names[level], msg);
		if (n > sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report it. */
	}
}

dobj_err
dobj__errf(char *err, size_t errlen, dobj_err code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

void
dobj__log_pg_notice(void *arg, const char *message)
{
	static const char *const quiet[] = {"NOTICE:", "INFO:", "LOG:", "DEBUG"};
	dobj__log_level level = DOBJ_LOG_WARN;

	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (strncmp(message, quiet[i], strlen(quiet[i])) == 0)
			level = DOBJ_LOG_INFO;
	dobj__log(level, "%s%sPostgreSQL says: %s", arg != NULL ? (const char *)arg : "",
	          arg != NULL ? ": " : "", message);
}

void
dobj__chomp(char *s)
{
	for (size_t n = strlen(s); n > 0 && s[n - 1] == '\n'; n--)
		s[n - 1] = '\0';
}
