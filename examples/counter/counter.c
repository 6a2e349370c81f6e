// SPDX-License-Identifier: MIT
// counter.c - the Counter class over its generated layer: typed storage for CounterSchema
// (count, last_updated) and the handler table of service Counter. Turns, durability and the
// storage itself are the server's.

#include <stdint.h>

#include "counter.h"
#include "counter/counter.dobj.h"

typedef Dobj__Examples__Counter__IncrementRequest IncrementRequest;
typedef Dobj__Examples__Counter__Empty Empty;
typedef Dobj__Examples__Counter__CountReply CountReply;

/* load_count reads the stored count; a counter never written is 0. */
static dobj_err
load_count(dobj_ctx *ctx, int64_t *count)
{
	dobj_err rc = counter_schema_get_count(ctx, count);

	if (rc == DOBJ_NOT_FOUND) {
		*count = 0;
		return DOBJ_OK;
	}
	return rc;
}

/* touch records the time of the change in last_updated. */
static dobj_err
touch(dobj_ctx *ctx)
{
	Google__Protobuf__Timestamp *now = dobj_ctx_alloc(ctx, sizeof(*now));
	int64_t ms = dobj_ctx_now_ms(ctx);

	if (now == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "out of memory");
	google__protobuf__timestamp__init(now);
	now->seconds = ms / 1000;
	now->nanos = (int32_t)(ms % 1000) * 1000000;
	return counter_schema_put_last_updated(ctx, now);
}

static dobj_err
increment(dobj_ctx *ctx, const IncrementRequest *req, CountReply *rep)
{
	int64_t count;
	dobj_err rc;

	if ((rc = load_count(ctx, &count)) != DOBJ_OK)
		return rc;
	if ((req->amount > 0 && count > INT64_MAX - req->amount) ||
	    (req->amount < 0 && count < INT64_MIN - req->amount))
		return dobj_ctx_errorf(ctx, DOBJ_OUT_OF_RANGE,
		                       "increment: count %lld + %lld does not fit in 64 bits",
		                       (long long)count, (long long)req->amount);
	count += req->amount;
	if ((rc = counter_schema_put_count(ctx, count)) != DOBJ_OK || (rc = touch(ctx)) != DOBJ_OK)
		return rc;
	rep->count = count;
	return DOBJ_OK;
}

static dobj_err
get(dobj_ctx *ctx, const Empty *req, CountReply *rep)
{
	(void)req;
	return load_count(ctx, &rep->count);
}

static dobj_err
reset(dobj_ctx *ctx, const Empty *req, CountReply *rep)
{
	dobj_err rc;

	(void)req;
	if ((rc = counter_schema_delete_count(ctx, NULL)) != DOBJ_OK ||
	    (rc = touch(ctx)) != DOBJ_OK)
		return rc;
	rep->count = 0;
	return DOBJ_OK;
}

static const counter_handlers handlers = {
    .increment = increment,
    .get = get,
    .reset = reset,
};

const dobj_class *
counter_example_class(void)
{
	static dobj_class cls;

	cls = counter_class(&handlers);
	return &cls;
}
