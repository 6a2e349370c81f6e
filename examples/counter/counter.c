// SPDX-License-Identifier: MIT
// counter.c - the Counter class: a durable int64 under storage key "count", stored as an
// encoded CountReply so that any tool with counter.proto can read it.
// Turns, durability and the storage itself are the server's; this file only uses the object
// and storage APIs.

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include <dobj/object.h>
#include <dobj/storage.h>

#include "counter.h"
#include "counter/counter.pb-c.h"

#define COUNTER_KEY "count"
#define COUNTER_PACKED_MAX 16 /* a CountReply is at most 1 tag byte and a 10-byte varint */

typedef Dobj__Examples__Counter__IncrementRequest IncrementRequest;
typedef Dobj__Examples__Counter__Empty Empty;
typedef Dobj__Examples__Counter__CountReply CountReply;

/* counter_load reads the stored count into *count; a counter never written is 0. */
static dobj_err
counter_load(dobj_ctx *ctx, int64_t *count)
{
	CountReply *stored;
	dobj_bytes value;
	dobj_err err;

	err = dobj_storage_get(ctx, COUNTER_KEY, &value);
	if (err == DOBJ_NOT_FOUND) {
		*count = 0;
		return DOBJ_OK;
	}
	if (err != DOBJ_OK)
		return err; /* the storage layer has recorded the message */
	stored = dobj__examples__counter__count_reply__unpack(NULL, value.len, value.data);
	if (stored == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS,
		                       "could not decode the stored count (%zu bytes)", value.len);
	*count = stored->count;
	dobj__examples__counter__count_reply__free_unpacked(stored, NULL);
	return DOBJ_OK;
}

/* counter_store writes count under COUNTER_KEY. */
static dobj_err
counter_store(dobj_ctx *ctx, int64_t count)
{
	CountReply msg = DOBJ__EXAMPLES__COUNTER__COUNT_REPLY__INIT;
	uint8_t buf[COUNTER_PACKED_MAX];
	size_t len;

	msg.count = count;
	len = dobj__examples__counter__count_reply__pack(&msg, buf);
	return dobj_storage_put(ctx, COUNTER_KEY, buf, len);
}

/* counter_reply sets *result to the encoded CountReply{count}, in turn memory. */
static dobj_err
counter_reply(dobj_ctx *ctx, int64_t count, dobj_bytes *result)
{
	CountReply msg = DOBJ__EXAMPLES__COUNTER__COUNT_REPLY__INIT;
	uint8_t *buf;
	size_t len;

	msg.count = count;
	len = dobj__examples__counter__count_reply__get_packed_size(&msg);
	if (len == 0) { /* count 0 encodes as no bytes */
		memset(result, 0, sizeof(*result));
		return DOBJ_OK;
	}
	if ((buf = dobj_ctx_alloc(ctx, len)) == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED,
		                       "%s: could not allocate a reply of %zu bytes",
		                       dobj_ctx_method(ctx), len);
	dobj__examples__counter__count_reply__pack(&msg, buf);
	result->data = buf;
	result->len = len;
	return DOBJ_OK;
}

/* counter_check_empty accepts an argument that decodes as Empty (zero bytes do). */
static dobj_err
counter_check_empty(dobj_ctx *ctx, const dobj_bytes *arg)
{
	Empty *empty = dobj__examples__counter__empty__unpack(NULL, arg->len, arg->data);

	if (empty == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "%s: could not decode Empty",
		                       dobj_ctx_method(ctx));
	dobj__examples__counter__empty__free_unpacked(empty, NULL);
	return DOBJ_OK;
}

static dobj_err
counter_increment(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	IncrementRequest *req;
	int64_t count, amount;
	dobj_err err;

	req = dobj__examples__counter__increment_request__unpack(NULL, arg->len, arg->data);
	if (req == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "increment: could not decode IncrementRequest");
	amount = req->amount;
	dobj__examples__counter__increment_request__free_unpacked(req, NULL);

	if ((err = counter_load(ctx, &count)) != DOBJ_OK)
		return err;
	if ((amount > 0 && count > INT64_MAX - amount) ||
	    (amount < 0 && count < INT64_MIN - amount))
		return dobj_ctx_errorf(ctx, DOBJ_OUT_OF_RANGE,
		                       "increment: %" PRId64 " + %" PRId64 " overflows int64",
		                       count, amount);
	count += amount;
	if ((err = counter_store(ctx, count)) != DOBJ_OK)
		return err;
	return counter_reply(ctx, count, result);
}

static dobj_err
counter_get(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	int64_t count;
	dobj_err err;

	if ((err = counter_check_empty(ctx, arg)) != DOBJ_OK ||
	    (err = counter_load(ctx, &count)) != DOBJ_OK)
		return err;
	return counter_reply(ctx, count, result);
}

static dobj_err
counter_reset(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	dobj_err err;

	if ((err = counter_check_empty(ctx, arg)) != DOBJ_OK ||
	    (err = dobj_storage_delete(ctx, COUNTER_KEY, NULL)) != DOBJ_OK)
		return err;
	return counter_reply(ctx, 0, result);
}

static const dobj_method counter_methods[] = {
    {.name = "increment", .fn = counter_increment},
    {.name = "get", .fn = counter_get},
    {.name = "reset", .fn = counter_reset},
};

const dobj_class counter_class = {
    .name = "Counter",
    .methods = counter_methods,
    .nmethods = sizeof(counter_methods) / sizeof(counter_methods[0]),
};
