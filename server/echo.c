// SPDX-License-Identifier: MIT
// echo.c - dobj.Echo, the built-in no-op class: "echo" returns its argument without reading or
// writing storage. A call still goes through the listener, a shard queue, activation (a cached
// object after the first call) and the turn loop, so it measures all of dobjd but PostgreSQL.

#include "echo.h"

/* echo answers arg itself: the argument lives in the call's arena until the reply is sent. */
static dobj_err
echo(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	(void)ctx;
	*result = *arg;
	return DOBJ_OK;
}

static const dobj_method echo_methods[] = {
    {.name = "echo", .fn = echo},
};

static const dobj_class echo_class = {
    .name = DOBJ__ECHO_CLASS,
    .methods = echo_methods,
    .nmethods = sizeof(echo_methods) / sizeof(echo_methods[0]),
};

const dobj_class *
dobj__echo_class(void)
{
	return &echo_class;
}
