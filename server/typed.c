// SPDX-License-Identifier: MIT
// typed.c - typed storage (dobj/typed.h): schema messages encoded per field, decoded from the
// turn's arena. The generated accessors are one-liners over these functions.

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <dobj/storage.h>
#include <dobj/typed.h>

#include "ctx.h"

#define RESERVED_TEXT                                                                            \
	"storage keys starting with \"" DOBJ_TYPED_RESERVED_PREFIX "\" are reserved for dobj's " \
	"helpers (alarm router, state machine)"

/* typed_reserved: key belongs to dobj's helpers, whose values are not schema messages. */
static bool
typed_reserved(const char *key)
{
	return key != NULL && strncmp(key, DOBJ_TYPED_RESERVED_PREFIX,
	                              sizeof(DOBJ_TYPED_RESERVED_PREFIX) - 1) == 0;
}

ProtobufCAllocator *
dobj_ctx_pb_allocator(dobj_ctx *ctx)
{
	return dobj__arena_pb(ctx->arena);
}

/* A message's decoding may take UNPACK_FACTOR times its size plus UNPACK_SLACK bytes. Not just a
 * few times its size, as for the wire's Request: protobuf-c takes 13 times the size of many
 * small repeated messages, 45 times that of empty ones, so that any argument up to 1.5 MiB and
 * one of small messages up to 7 MiB still decodes. Unknown fields take 33 times: a 16 MiB
 * argument of them stops at 128 MiB (it took 1 GiB of arena). */
#define UNPACK_FACTOR 4
#define UNPACK_SLACK ((size_t)4 * DOBJ_MESSAGE_MAX)

ProtobufCMessage *
dobj_ctx_unpack(dobj_ctx *ctx, const ProtobufCMessageDescriptor *type, size_t len,
                const uint8_t *data)
{
	dobj__arena_budget b;
	size_t max = len > (SIZE_MAX - UNPACK_SLACK) / UNPACK_FACTOR
	                 ? SIZE_MAX
	                 : UNPACK_FACTOR * len + UNPACK_SLACK;

	return protobuf_c_message_unpack(type, dobj__arena_budget_pb(&b, ctx->arena, max), len,
	                                 data);
}

dobj_err
dobj_typed_load(dobj_ctx *ctx, const char *key, const ProtobufCMessageDescriptor *schema,
                ProtobufCMessage **out)
{
	dobj_bytes v;
	dobj_err rc;

	*out = NULL;
	if (typed_reserved(key))
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "get \"%.64s\": " RESERVED_TEXT,
		                       key);
	if ((rc = dobj_storage_get(ctx, key, &v)) != DOBJ_OK)
		return rc;
	*out = dobj_ctx_unpack(ctx, schema, v.len, v.data);
	if (*out == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS,
		                       "storage key \"%.64s\" does not hold a %s (%zu bytes)", key,
		                       schema->name, v.len);
	return DOBJ_OK;
}

dobj_err
dobj_typed_store(dobj_ctx *ctx, const char *key, const ProtobufCMessage *msg)
{
	size_t len;
	uint8_t *buf;

	if (typed_reserved(key))
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "put \"%.64s\": " RESERVED_TEXT,
		                       key);
	len = protobuf_c_message_get_packed_size(msg);
	if ((buf = dobj_ctx_alloc(ctx, len)) == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "put %s: out of memory", key);
	protobuf_c_message_pack(msg, buf);
	return dobj_storage_put(ctx, key, buf, len);
}

dobj_err
dobj_typed_load_all(dobj_ctx *ctx, const ProtobufCMessageDescriptor *schema, ProtobufCMessage **out)
{
	dobj_bytes *vals;
	size_t total = 0, off = 0;
	uint8_t *buf;

	*out = NULL;
	for (unsigned i = 0; i < schema->n_fields; i++)
		if (typed_reserved(schema->fields[i].name))
			return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
			                       "load %s: field %s: " RESERVED_TEXT, schema->name,
			                       schema->fields[i].name);
	vals = dobj_ctx_alloc(ctx, (schema->n_fields ? schema->n_fields : 1) * sizeof(*vals));
	if (vals == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "load %s: out of memory",
		                       schema->name);
	for (unsigned i = 0; i < schema->n_fields; i++) {
		dobj_err rc = dobj_storage_get(ctx, schema->fields[i].name, &vals[i]);
		if (rc == DOBJ_NOT_FOUND)
			vals[i].len = 0;
		else if (rc != DOBJ_OK)
			return rc;
		total += vals[i].len;
	}
	/* Concatenated encodings decode as their merge: one message with every stored field. */
	if ((buf = dobj_ctx_alloc(ctx, total)) == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "load %s: out of memory",
		                       schema->name);
	for (unsigned i = 0; i < schema->n_fields; i++) {
		if (vals[i].len > 0)
			memcpy(buf + off, vals[i].data, vals[i].len);
		off += vals[i].len;
	}
	*out = dobj_ctx_unpack(ctx, schema, total, buf);
	if (*out == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS, "stored fields do not decode as a %s",
		                       schema->name);
	return DOBJ_OK;
}
