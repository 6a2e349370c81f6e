// SPDX-License-Identifier: MIT
// options.c - dobj's options (proto/dobj/options.proto). protobuf-c does not decode
// extensions, so they arrive as unknown fields of the options messages; this file decodes
// those by tag and wire type. Which option means what is the emitters' business.

#include <string.h>

#include "codegen.h"

/* options_varint decodes a varint from p[0..len); false if it is truncated or too long. */
static bool
options_varint(const uint8_t *p, size_t len, uint64_t *v, size_t *used)
{
	*v = 0;
	for (size_t i = 0; i < len && i < 10; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			*used = i + 1;
			return true;
		}
	}
	return false;
}

/* options_find returns the last unknown field with this tag and wire type (the value that
 * wins when protobuf merges), or NULL. */
static const ProtobufCMessageUnknownField *
options_find(const ProtobufCMessage *opts, uint32_t tag, ProtobufCWireType type)
{
	const ProtobufCMessageUnknownField *found = NULL;

	if (opts == NULL)
		return NULL;
	for (unsigned i = 0; i < opts->n_unknown_fields; i++)
		if (opts->unknown_fields[i].tag == tag && opts->unknown_fields[i].wire_type == type)
			found = &opts->unknown_fields[i];
	return found;
}

bool
dobj__options_bool(const ProtobufCMessage *opts, uint32_t tag, bool *out)
{
	const ProtobufCMessageUnknownField *f =
	    options_find(opts, tag, PROTOBUF_C_WIRE_TYPE_VARINT);
	uint64_t v;
	size_t used;

	if (f == NULL || !options_varint(f->data, f->len, &v, &used))
		return false;
	*out = v != 0;
	return true;
}

const char *
dobj__options_string(const ProtobufCMessage *opts, uint32_t tag)
{
	const ProtobufCMessageUnknownField *f =
	    options_find(opts, tag, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
	uint64_t n;
	size_t used;

	/* protobuf-c keeps a length-delimited unknown field with its length prefix. */
	if (f == NULL || !options_varint(f->data, f->len, &n, &used) || n != f->len - used)
		return NULL;
	return dobj__strf("%.*s", (int)n, (const char *)f->data + used);
}
