// SPDX-License-Identifier: MIT
// plugin_test.c - `dobjd --plugin`: a plugin's class answers calls and keeps durable state;
// a plugin built against an incompatible SDK is refused with a clear message.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"

static fx_db db;

TestSuite(plugin, .timeout = 120);

static int
echo_calls(dobj_client *c, const char *name, const char *payload)
{
	dobj_reply r;
	dobj_stub s;
	dobj_err rc;

	cr_assert_eq(dobj_singleton(c, "PluginEcho", name, &s), DOBJ_OK);
	rc = dobj_call(&s, "echo", payload, strlen(payload), NULL, &r);
	cr_assert_eq(rc, DOBJ_OK, "%s: %s", dobj_err_name(rc), r.message);
	cr_assert_eq(r.len, strlen(payload));
	cr_assert_eq(memcmp(r.data, payload, r.len), 0);
	dobj_reply_fini(&r);
	return 0;
}

Test(plugin, a_plugin_class_serves_and_persists)
{
	static const char *const args[] = {"--plugin", DOBJ_ECHO_PLUGIN, NULL};
	fx_server srv;
	dobj_client *c;
	char *calls;

	fx_db_create(&db, true);
	fx_server_start(&srv, &db, 0, args);
	c = fx_client(srv.url, 10000);
	echo_calls(c, "p", "hello");
	echo_calls(c, "p", "again");
	dobj_client_close(c);
	fx_server_stop(&srv);
	calls = fx_db_query1(&db, "SELECT convert_from(value, 'UTF8') FROM dobj_storage "
	                          "WHERE class = 'PluginEcho' AND key = 'calls'");
	cr_assert_str_eq(calls, "2");
	free(calls);
	fx_db_drop(&db);
}

Test(plugin, an_incompatible_plugin_is_refused)
{
	const char *argv[] = {fx_bin("dobjd"),     "serve",          "--listen",
	                      "tcp://127.0.0.1:1", "--database-url", NULL,
	                      "--plugin",          DOBJ_OLD_PLUGIN,  NULL};
	char out[256], err[2048];

	fx_db_create(&db, true);
	argv[5] = db.dsn;
	cr_assert_eq(fx_run(argv, out, sizeof(out), err, sizeof(err)), 1, "stderr: %s", err);
	cr_assert(strstr(err, "built against dobj SDK 99.0.0 (plugin ABI 999)") != NULL, "%s", err);
	cr_assert(strstr(err, "rebuild the plugin against this SDK") != NULL, "%s", err);
	fx_db_drop(&db);
}
