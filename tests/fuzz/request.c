// SPDX-License-Identifier: MIT
// request.c - fuzzes the server's handling of one request (dobj__listener_decode,
// server/listener.c): bytes off the wire become either a call of a registered method on an
// object, or an error reply that encodes as a Response whose message is UTF-8; and the
// request_id read off the wire without decoding (for refusals) is the decoded one. The call's
// arena lives on from input to input, as a receive context's does.

#include <stdbool.h>
#include <string.h>

#include "dobj/wire.pb-c.h"
#include "echo.h"
#include "fuzz.h"
#include "listener.h"
#include "utf8.h"

static dobj_err
noop(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	(void)ctx;
	(void)arg;
	(void)result;
	return DOBJ_OK;
}

static const dobj_method counter_methods[] = {
    {.name = "increment", .fn = noop},
    {.name = "get", .fn = noop},
    {.name = "caf\xc3\xa9", .fn = noop},
};
static const dobj_class counter = {.name = "Counter", .methods = counter_methods, .nmethods = 3};

static dobj__registry reg;
static dobj__call call;

/* reply_check encodes c's outcome as the listener does and checks that it decodes again. */
static void
reply_check(const dobj__call *c)
{
	Dobj__Wire__Response resp = DOBJ__WIRE__RESPONSE__INIT, *back;
	uint8_t *buf;
	size_t len;

	FX_CHECK(c->message != NULL);
	FX_CHECK(dobj__utf8_valid(c->message, strlen(c->message)));
	FX_CHECK(c->status != DOBJ_OK || c->message[0] == '\0');
	resp.request_id = c->request_id;
	resp.status = (uint32_t)c->status;
	resp.message = (char *)c->message;
	resp.payload.data = (uint8_t *)c->result.data;
	resp.payload.len = c->result.len;
	len = dobj__wire__response__get_packed_size(&resp);
	FX_CHECK((buf = malloc(len ? len : 1)) != NULL);
	FX_CHECK(dobj__wire__response__pack(&resp, buf) == len);
	FX_CHECK((back = dobj__wire__response__unpack(NULL, len, buf)) != NULL);
	FX_CHECK(back->request_id == c->request_id && back->status == (uint32_t)c->status);
	FX_CHECK(strcmp(back->message, c->message) == 0);
	FX_CHECK(back->payload.len == c->result.len);
	dobj__wire__response__free_unpacked(back, NULL);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (reg.n == 0) {
		FX_CHECK(dobj__registry_add(&reg, dobj__echo_class()) == DOBJ_OK);
		FX_CHECK(dobj__registry_add(&reg, &counter) == DOBJ_OK);
	}
	bool routed = dobj__listener_decode(&call, &reg, false, data, size);

	/* a Request that decoded has the request_id a refusal would read off the wire */
	if (call.request_id != 0)
		FX_CHECK(dobj__listener_peek_request_id(data, size) == call.request_id);
	/* a request the listener answers itself ran nothing, and the reply says so */
	FX_CHECK(call.not_run == !routed);
	if (routed) {
		/* routed: what the shard needs is there; echo the argument as the result */
		FX_CHECK(call.cls != NULL && call.method != NULL && call.method->fn != NULL);
		FX_CHECK(call.arg.len == 0 || call.arg.data != NULL);
		FX_CHECK(dobj__call_answer(&call, DOBJ_OK, "", &call.arg) == DOBJ_OK);
		reply_check(&call);
		dobj__arena_reset(&call.arena);
		/* the same request while the server drains is refused */
		FX_CHECK(!dobj__listener_decode(&call, &reg, true, data, size));
		FX_CHECK(call.status == DOBJ_UNAVAILABLE);
	} else {
		FX_CHECK(call.status != DOBJ_OK);
	}
	reply_check(&call);
	dobj__arena_reset(&call.arena);
	return 0;
}
