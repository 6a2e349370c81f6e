/* SPDX-License-Identifier: MIT */
/*
 * dobj/err.h - the one error type of dobj.
 *
 * Every function that can fail returns a dobj_err. The values are gRPC's status codes, so the
 * code a handler returns is the code a client sees on the wire.
 */
#ifndef DOBJ_ERR_H
#define DOBJ_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DOBJ_BUILDING) && defined(__GNUC__)
#define DOBJ_API __attribute__((visibility("default")))
#else
#define DOBJ_API
#endif

/* DOBJ_ERR_MAP: code, name, value, description (the X-macro list every table is made from). */
#define DOBJ_ERR_MAP(X)                                  \
	X(OK, 0, "ok")                                   \
	X(CANCELLED, 1, "operation cancelled")           \
	X(UNKNOWN, 2, "unknown error")                   \
	X(INVALID_ARGUMENT, 3, "invalid argument")       \
	X(DEADLINE_EXCEEDED, 4, "deadline exceeded")     \
	X(NOT_FOUND, 5, "not found")                     \
	X(ALREADY_EXISTS, 6, "already exists")           \
	X(PERMISSION_DENIED, 7, "permission denied")     \
	X(RESOURCE_EXHAUSTED, 8, "resource exhausted")   \
	X(FAILED_PRECONDITION, 9, "failed precondition") \
	X(ABORTED, 10, "aborted")                        \
	X(OUT_OF_RANGE, 11, "out of range")              \
	X(UNIMPLEMENTED, 12, "unimplemented")            \
	X(INTERNAL, 13, "internal error")                \
	X(UNAVAILABLE, 14, "unavailable")                \
	X(DATA_LOSS, 15, "data loss")                    \
	X(UNAUTHENTICATED, 16, "unauthenticated")

/* dobj_err: DOBJ_OK (0) or one of gRPC's status codes. */
typedef enum dobj_err {
#define DOBJ_ERR_ENUM(name, value, desc) DOBJ_##name = value,
	DOBJ_ERR_MAP(DOBJ_ERR_ENUM)
#undef DOBJ_ERR_ENUM
} dobj_err;

/* DOBJ_ERR_COUNT: the number of codes (the highest code plus one). */
#define DOBJ_ERR_COUNT 17

/* dobj_err_name returns the code's gRPC name ("INVALID_ARGUMENT"), or "UNKNOWN" for values
 * outside the map. The string is static. */
DOBJ_API const char *dobj_err_name(dobj_err err);

/* dobj_err_str returns a short lowercase description of the code. The string is static. */
DOBJ_API const char *dobj_err_str(dobj_err err);

/* dobj_err_from_name parses a gRPC name back into *out; DOBJ_INVALID_ARGUMENT if unknown. */
DOBJ_API dobj_err dobj_err_from_name(const char *name, dobj_err *out);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_ERR_H */
