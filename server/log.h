/* SPDX-License-Identifier: MIT */
/* log.h - one line per event on stderr, with a level, as plain text or as JSON lines; secrets
 * (the DSN's password) are masked in every line. */
#ifndef DOBJ_SERVER_LOG_H
#define DOBJ_SERVER_LOG_H

#include <stddef.h>

#include <dobj/err.h>

#include <stddef.h>

typedef enum dobj__log_level {
	DOBJ_LOG_DEBUG,
	DOBJ_LOG_INFO,
	DOBJ_LOG_WARN,
	DOBJ_LOG_ERROR,
} dobj__log_level;

typedef enum dobj__log_format {
	DOBJ_LOG_PLAIN, /* 2024-05-01T12:00:00.000Z info  message */
	DOBJ_LOG_JSON,  /* {"ts":"2024-05-01T12:00:00.000Z","level":"info","msg":"message"} */
} dobj__log_format;

/* dobj__log_set_level drops messages below level (default INFO). Thread-safe. */
void dobj__log_set_level(dobj__log_level level);

/* dobj__log_parse_level maps "debug", "info", "warn", "error"; -1 for anything else. */
int dobj__log_parse_level(const char *s);

/* dobj__log_set_format chooses plain lines (the default) or JSON lines. Thread-safe. */
void dobj__log_set_format(dobj__log_format format);

/* dobj__log_parse_format maps "plain", "json"; -1 for anything else. */
int dobj__log_parse_format(const char *s);

/* dobj__log_add_secret masks s (copied) as "***" in every later line and in
 * dobj__log_redact(). Call it before the server's threads start; up to 8 secrets; strings
 * shorter than 3 bytes are ignored (masking them would garble every line). */
void dobj__log_add_secret(const char *s);

/* dobj__log_hide_dsn registers the password of a libpq connection string or URI as a
 * secret. */
void dobj__log_hide_dsn(const char *dsn);

/* dobj__log_redact rewrites buf (NUL-terminated, size bytes of room) in place: every secret,
 * every `password=...` value and the password of `scheme://user:password@` become "***". */
void dobj__log_redact(char *buf, size_t size);

/* dobj__chomp drops the newlines at the end of s (libpq ends its messages with one). */
void dobj__chomp(char *s);

/* dobj__log_pg_notice is a libpq notice processor (PQsetNoticeProcessor): it logs a notice
 * or warning of PostgreSQL's as one line, at info for NOTICE, INFO, LOG and DEBUG, else at
 * warn, prefixed with arg (a name for the connection that outlives it, or NULL). Without
 * one, libpq prints them raw to stderr, outside --log-format. */
void dobj__log_pg_notice(void *arg, const char *message);

/* dobj__log writes one line (plain or JSON) as one write(2). Thread-safe. */
void dobj__log(dobj__log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dobj__errf formats a message into err (errlen bytes; err may be NULL) and returns code:
 * `return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, "...", ...);`. */
dobj_err dobj__errf(char *err, size_t errlen, dobj_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define dobj__log_debug(...) dobj__log(DOBJ_LOG_DEBUG, __VA_ARGS__)
#define dobj__log_info(...) dobj__log(DOBJ_LOG_INFO, __VA_ARGS__)
#define dobj__log_warn(...) dobj__log(DOBJ_LOG_WARN, __VA_ARGS__)
#define dobj__log_error(...) dobj__log(DOBJ_LOG_ERROR, __VA_ARGS__)

#endif /* DOBJ_SERVER_LOG_H */
