/* SPDX-License-Identifier: MIT */
/*
 * dobj/typed.h - typed storage over a protobuf "storage schema" message, the runtime under the
 * accessors that protoc-gen-dobj generates (typedStorage in the seed).
 *
 * Each field of the schema message is one storage key, named after the field. The value under
 * a key is the schema message encoded with only that field set, so any tool holding the
 * .proto can decode it; concatenating the values of several keys decodes as one message with
 * all of those fields (protobuf's merge). A key that is absent is DOBJ_NOT_FOUND, which is
 * how a missing field differs from one stored with its zero value.
 *
 * Keys starting with DOBJ_TYPED_RESERVED_PREFIX ("__") belong to dobj's helpers, which store
 * raw bytes there (the alarm router's "__alarm_action", a state machine's "__fsm_state" and
 * "__fsm_history/<n>"): typed storage refuses them with DOBJ_INVALID_ARGUMENT, and
 * protoc-gen-dobj refuses schema fields so named. The seed's typedStorage may declare
 * `__alarm_action: string` because its values are the strings the router reads; here a typed
 * value is an encoded message. Write those keys with dobj_storage_put().
 */
#ifndef DOBJ_TYPED_H
#define DOBJ_TYPED_H

#include <protobuf-c/protobuf-c.h>

#include <dobj/object.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DOBJ_TYPED_RESERVED_PREFIX: typed storage refuses keys that start with it. */
#define DOBJ_TYPED_RESERVED_PREFIX "__"

/* dobj_typed_load decodes the value of key as a `schema` message into *out, allocated from
 * the turn (valid until the handler returns). DOBJ_NOT_FOUND when the key has no value;
 * DOBJ_DATA_LOSS when the stored bytes are not a `schema` message (decoded within
 * dobj_ctx_unpack's bound, like a method's argument); DOBJ_INVALID_ARGUMENT for a reserved
 * key. */
DOBJ_API dobj_err dobj_typed_load(dobj_ctx *ctx, const char *key,
                                  const ProtobufCMessageDescriptor *schema, ProtobufCMessage **out);

/* dobj_typed_store encodes msg (a schema message with the key's one field set) and stores it
 * under key; DOBJ_INVALID_ARGUMENT for a reserved key. */
DOBJ_API dobj_err dobj_typed_store(dobj_ctx *ctx, const char *key, const ProtobufCMessage *msg);

/* dobj_typed_load_all reads every field key of `schema` that has a value and decodes them
 * together as one message into *out (allocated from the turn). Fields without a key are
 * unset. Never DOBJ_NOT_FOUND: an object with no keys gives an empty message.
 * DOBJ_INVALID_ARGUMENT, before anything is read, when a field names a reserved key. */
DOBJ_API dobj_err dobj_typed_load_all(dobj_ctx *ctx, const ProtobufCMessageDescriptor *schema,
                                      ProtobufCMessage **out);

/* dobj_ctx_unpack decodes data[0..len) as a `type` message allocated from the turn (valid until
 * the handler returns), or returns NULL: bytes that are not such a message, or that would take
 * more than 4 times their size plus 64 MiB (4 * DOBJ_MESSAGE_MAX) to decode (a great many tiny
 * or unknown fields), or out of memory. For bytes from the network: the generated dispatchers
 * decode a method's argument with it. */
DOBJ_API ProtobufCMessage *dobj_ctx_unpack(dobj_ctx *ctx, const ProtobufCMessageDescriptor *type,
                                           size_t len, const uint8_t *data);

/* dobj_ctx_pb_allocator returns a protobuf-c allocator drawing from the turn's memory (for
 * unpacking messages whose parts must live until the handler returns). */
DOBJ_API ProtobufCAllocator *dobj_ctx_pb_allocator(dobj_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_TYPED_H */
