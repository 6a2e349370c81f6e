/* SPDX-License-Identifier: MIT */
/*
 * dobj/storage.h - an object's durable key/value storage, used from inside a turn.
 *
 * Keys are UTF-8 text without NUL bytes, ordered by their bytes; values are bytes. Reads see
 * the turn's own writes. Writes are buffered in the object and become durable, atomically
 * with the rest of the turn, before the turn's reply is sent. Limits are enforced with
 * DOBJ_INVALID_ARGUMENT (defaults: keys 2 KiB, values 128 KiB, 128 keys per many-call; the
 * server's configuration can change them; a key must also be valid UTF-8), and so is a NULL
 * output argument where one is required. A turn writes at most 256 MiB (keys, values, and 48
 * bytes plus the class name's length per row written or deleted, writes later undone
 * included): the write past it is DOBJ_RESOURCE_EXHAUSTED. A failing call changes nothing and
 * leaves its message in dobj_ctx_errmsg().
 *
 * Memory returned by these calls belongs to the turn: valid until the handler returns.
 */
#ifndef DOBJ_STORAGE_H
#define DOBJ_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <dobj/object.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dobj_kv: one key and its value. */
typedef struct dobj_kv {
	const char *key;
	dobj_bytes value;
} dobj_kv;

/* dobj_storage_get sets *out to the value of key. DOBJ_NOT_FOUND (with *out zeroed) when the
 * key has no value. */
DOBJ_API dobj_err dobj_storage_get(dobj_ctx *ctx, const char *key, dobj_bytes *out);

/* dobj_storage_get_many looks up n keys; out[i] is the value of keys[i], or {NULL, 0} when it
 * has none, and *nfound (may be NULL) counts the keys found. */
DOBJ_API dobj_err dobj_storage_get_many(dobj_ctx *ctx, const char *const *keys, size_t n,
                                        dobj_bytes *out, size_t *nfound);

/* dobj_storage_put sets key to the len bytes at value (copied). */
DOBJ_API dobj_err dobj_storage_put(dobj_ctx *ctx, const char *key, const void *value, size_t len);

/* dobj_storage_put_many sets n keys at once: all or none (a bad entry fails the whole call). */
DOBJ_API dobj_err dobj_storage_put_many(dobj_ctx *ctx, const dobj_kv *entries, size_t n);

/* dobj_storage_delete removes key; *existed (may be NULL) says whether it had a value. */
DOBJ_API dobj_err dobj_storage_delete(dobj_ctx *ctx, const char *key, bool *existed);

/* dobj_storage_delete_many removes n keys; *ndeleted (may be NULL) counts those that existed. */
DOBJ_API dobj_err dobj_storage_delete_many(dobj_ctx *ctx, const char *const *keys, size_t n,
                                           size_t *ndeleted);

/* dobj_list_opts: which keys dobj_storage_list returns. Zeroed means every key, ascending.
 * start is inclusive, start_after and end exclusive; start and start_after are exclusive of
 * each other. limit 0 means no limit; with reverse, the limit counts from the end. */
typedef struct dobj_list_opts {
	const char *prefix;
	const char *start;
	const char *start_after;
	const char *end;
	bool reverse;
	size_t limit;
} dobj_list_opts;

/* dobj_storage_list returns the matching entries in key byte order (descending with reverse)
 * as an array of *n entries in *out. opts may be NULL. */
DOBJ_API dobj_err dobj_storage_list(dobj_ctx *ctx, const dobj_list_opts *opts, dobj_kv **out,
                                    size_t *n);

/* dobj_storage_delete_all removes every key of the object. */
DOBJ_API dobj_err dobj_storage_delete_all(dobj_ctx *ctx);

/* dobj_txn_fn: the body of a transaction. Return DOBJ_OK to keep its writes. */
typedef dobj_err (*dobj_txn_fn)(dobj_ctx *ctx, void *arg);

/* dobj_storage_transaction runs fn(ctx, arg) with a write set of its own: if fn returns an
 * error, exactly the writes made inside fn are discarded and that error is returned.
 * Transactions nest. */
DOBJ_API dobj_err dobj_storage_transaction(dobj_ctx *ctx, dobj_txn_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_STORAGE_H */
