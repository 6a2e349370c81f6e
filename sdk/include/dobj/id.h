/* SPDX-License-Identifier: MIT */
/*
 * dobj/id.h - object identity.
 *
 * An object is (class, id). The id is 32 bytes, printed as 64 lowercase hex characters.
 * Ids from names are the same on every client and server (Cloudflare's idFromName).
 */
#ifndef DOBJ_ID_H
#define DOBJ_ID_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/err.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DOBJ_ID_SIZE 32
#define DOBJ_ID_HEX_SIZE 65 /* 64 hex characters and the terminating NUL */

/* dobj_id: 32 opaque bytes. Compare with dobj_id_equal. */
typedef struct dobj_id {
	uint8_t bytes[DOBJ_ID_SIZE];
} dobj_id;

/* dobj_id_from_name sets *out to SHA-256(class || 0x00 || name). Returns
 * DOBJ_INVALID_ARGUMENT if class or name is NULL, and DOBJ_RESOURCE_EXHAUSTED or
 * DOBJ_INTERNAL if the hash could not be computed (out of memory); *out is then unset. */
DOBJ_API dobj_err dobj_id_from_name(const char *class_name, const char *name, dobj_id *out);

/* dobj_id_unique sets *out to 32 random bytes from the operating system (newUniqueId).
 * DOBJ_INTERNAL if the system has no randomness to give. */
DOBJ_API dobj_err dobj_id_unique(dobj_id *out);

/* dobj_id_from_string parses 64 hex characters (either case) into *out (idFromString).
 * Anything else, including NULL, is DOBJ_INVALID_ARGUMENT and leaves *out untouched. */
DOBJ_API dobj_err dobj_id_from_string(const char *hex, dobj_id *out);

/* dobj_id_to_string writes the 64 lowercase hex characters and a NUL into buf. */
DOBJ_API void dobj_id_to_string(const dobj_id *id, char buf[DOBJ_ID_HEX_SIZE]);

/* dobj_id_equal is non-zero when a and b are the same id. */
DOBJ_API int dobj_id_equal(const dobj_id *a, const dobj_id *b);

/* dobj_id_shard returns the shard that owns id: its first 8 bytes (big-endian) modulo
 * nshards. nshards must be at least 1. */
DOBJ_API unsigned dobj_id_shard(const dobj_id *id, unsigned nshards);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_ID_H */
