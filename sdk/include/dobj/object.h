/* SPDX-License-Identifier: MIT */
/*
 * dobj/object.h - the object side: classes, methods and the turn context.
 *
 * A class is a const table of named methods. dobjd runs each call as a *turn* of one object:
 * one turn at a time per object, in arrival order, on the shard thread that owns the object.
 * Everything a handler writes is buffered and committed with the turn; the reply leaves only
 * after the commit is durable. A handler that returns an error has all its writes discarded.
 */
#ifndef DOBJ_OBJECT_H
#define DOBJ_OBJECT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>
#include <dobj/id.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dobj_ctx: the context of one turn. Owned by the server; valid only while the handler runs. */
typedef struct dobj_ctx dobj_ctx;

/* dobj_bytes: a borrowed byte range. */
typedef struct dobj_bytes {
	const uint8_t *data;
	size_t len;
} dobj_bytes;

/* DOBJ_MESSAGE_MAX: the largest message a client takes (a reply bigger than that would cost
 * the client its connection, and every call on it). DOBJ_RESULT_MAX: the largest result a
 * method may return, leaving room for the reply's status and message. */
#define DOBJ_MESSAGE_MAX (16u * 1024 * 1024)
#define DOBJ_RESULT_MAX (DOBJ_MESSAGE_MAX - 64u * 1024)

/* dobj_method_fn handles one call. `arg` is the encoded argument from the client. To answer,
 * point result->data at bytes that live until the turn ends (dobj_ctx_alloc() memory, or
 * static data) and set result->len (at most DOBJ_RESULT_MAX: a bigger result fails the call
 * with DOBJ_RESOURCE_EXHAUSTED and discards the turn's writes); leave it zeroed for an empty
 * result. Return DOBJ_OK, or an error code (usually through dobj_ctx_errorf()) to fail the
 * call and discard the turn's writes. Runs on a shard thread; must not block on other
 * objects. */
typedef dobj_err (*dobj_method_fn)(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result);

/* dobj_method: one entry of a class's method table. */
typedef struct dobj_method {
	const char *name;
	dobj_method_fn fn;
} dobj_method;

/* dobj_class: an object class, registered with a server by name (the server keeps a copy
 * of this struct; the method table, the name and impl must outlive the server). `impl` is
 * for the class's own use, read back with dobj_ctx_class_impl(): generated code keeps the
 * user's handler table there. */
typedef struct dobj_class {
	const char *name;
	const dobj_method *methods;
	size_t nmethods;
	const void *impl;
	/* alarm runs when the object's alarm is due (dobj/alarm.h), as a turn like any call; an
	 * error has the turn's writes discarded and the alarm retried. NULL: alarms of this class
	 * are dropped with a warning. */
	dobj_err (*alarm)(dobj_ctx *ctx);
} dobj_class;

/* dobj_ctx_class_name returns the class of the turn's object. */
DOBJ_API const char *dobj_ctx_class_name(const dobj_ctx *ctx);

/* dobj_ctx_class_impl returns the `impl` pointer of the turn's class. */
DOBJ_API const void *dobj_ctx_class_impl(const dobj_ctx *ctx);

/* dobj_ctx_id returns the id of the turn's object. */
DOBJ_API const dobj_id *dobj_ctx_id(const dobj_ctx *ctx);

/* dobj_ctx_method returns the name of the method being run. */
DOBJ_API const char *dobj_ctx_method(const dobj_ctx *ctx);

/* dobj_ctx_now_ms returns the server clock in milliseconds since the Unix epoch. */
DOBJ_API int64_t dobj_ctx_now_ms(const dobj_ctx *ctx);

/* dobj_ctx_alloc returns size bytes, aligned for any type, that live until the turn's reply
 * is sent; NULL if out of memory. Never free them. */
DOBJ_API void *dobj_ctx_alloc(dobj_ctx *ctx, size_t size);

/* dobj_ctx_errorf records a message for the turn's error and returns code, so that a
 * handler can write `return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "...", ...);`. */
DOBJ_API dobj_err dobj_ctx_errorf(dobj_ctx *ctx, dobj_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* dobj_ctx_errmsg returns the message of the last error recorded in this turn (by
 * dobj_ctx_errorf() or by a failing storage call), or "" if none. Owned by ctx. */
DOBJ_API const char *dobj_ctx_errmsg(const dobj_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_OBJECT_H */
