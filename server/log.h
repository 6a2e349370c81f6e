/* SPDX-License-Identifier: MIT */
/* log.h - one line per event on stderr, with a level. */
#ifndef DOBJ_SERVER_LOG_H
#define DOBJ_SERVER_LOG_H

typedef enum dobj__log_level {
	DOBJ_LOG_DEBUG,
	DOBJ_LOG_INFO,
	DOBJ_LOG_WARN,
	DOBJ_LOG_ERROR,
} dobj__log_level;

/* dobj__log_set_level drops messages below level (default INFO). Thread-safe. */
void dobj__log_set_level(dobj__log_level level);

/* dobj__log_parse_level maps "debug", "info", "warn", "error"; -1 for anything else. */
int dobj__log_parse_level(const char *s);

/* dobj__log writes "<time> <level> <message>\n" as one write(2). Thread-safe. */
void dobj__log(dobj__log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dobj__log_debug(...) dobj__log(DOBJ_LOG_DEBUG, __VA_ARGS__)
#define dobj__log_info(...) dobj__log(DOBJ_LOG_INFO, __VA_ARGS__)
#define dobj__log_warn(...) dobj__log(DOBJ_LOG_WARN, __VA_ARGS__)
#define dobj__log_error(...) dobj__log(DOBJ_LOG_ERROR, __VA_ARGS__)

#endif /* DOBJ_SERVER_LOG_H */
