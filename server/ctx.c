// SPDX-License-Identifier: MIT
// ctx.c - the dobj_ctx accessors a handler uses: identity, clock, memory and errors.

#include <stdarg.h>
#include <stdio.h>

#include "clock.h"
#include "ctx.h"
#include "registry.h"

const char *
dobj_ctx_class_name(const dobj_ctx *ctx)
{
	return ctx->obj->cls->cls->name;
}

const void *
dobj_ctx_class_impl(const dobj_ctx *ctx)
{
	return ctx->obj->cls->cls->impl;
}

const dobj_id *
dobj_ctx_id(const dobj_ctx *ctx)
{
	return &ctx->obj->id;
}

const char *
dobj_ctx_method(const dobj_ctx *ctx)
{
	return ctx->method;
}

int64_t
dobj_ctx_now_ms(const dobj_ctx *ctx)
{
	(void)ctx;
	return dobj__clock_now_ms();
}

void *
dobj_ctx_alloc(dobj_ctx *ctx, size_t size)
{
	return dobj__arena_alloc(ctx->arena, size);
}

static dobj_err
ctx_vfail(dobj_ctx *ctx, dobj_err code, const char *fmt, va_list ap)
{
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	return code;
}

dobj_err
dobj_ctx_errorf(dobj_ctx *ctx, dobj_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vfail(ctx, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *
dobj_ctx_errmsg(const dobj_ctx *ctx)
{
	return ctx->errmsg;
}
