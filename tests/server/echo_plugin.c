// SPDX-License-Identifier: MIT
// echo_plugin.c - a plugin for the tests: class "PluginEcho" whose method "echo" answers its
// argument and counts calls in storage key "calls" (so the test sees the object side work).

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/plugin.h>
#include <dobj/storage.h>

static dobj_err
echo(dobj_ctx *ctx, const dobj_bytes *arg, dobj_bytes *result)
{
	char buf[32];
	dobj_bytes v;
	long n = 0;
	int len;

	if (dobj_storage_get(ctx, "calls", &v) == DOBJ_OK && v.len < sizeof(buf)) {
		memcpy(buf, v.data, v.len);
		buf[v.len] = '\0';
		n = strtol(buf, NULL, 10);
	}
	len = snprintf(buf, sizeof(buf), "%ld", n + 1);
	*result = *arg;
	return dobj_storage_put(ctx, "calls", buf, (size_t)len);
}

static const dobj_method methods[] = {{.name = "echo", .fn = echo}};

static dobj_err
init(dobj_server *srv)
{
	static const dobj_class cls = {.name = "PluginEcho", .methods = methods, .nmethods = 1};

	return dobj_server_register(srv, &cls);
}

DOBJ_PLUGIN("echo-plugin", init);
