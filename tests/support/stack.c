// SPDX-License-Identifier: MIT
// stack.c - the database, dobjd and client of an integration test, up and down together.

#include <stdio.h>

#include "calls.h"
#include "stack.h"

void
fx_stack_up(fx_db *db, fx_server *srv, dobj_client **cl, const char *const *args)
{
	fx_db_create(db, true);
	fx_server_start(srv, db, 0, args);
	*cl = fx_client(srv->url, FX_CLIENT_TIMEOUT_MS);
}

void
fx_stack_restart(fx_db *db, fx_server *srv, dobj_client **cl, const char *const *args)
{
	dobj_client_close(*cl);
	*cl = NULL;
	fx_server_stop(srv);
	fx_server_start(srv, db, srv->port, args);
	*cl = fx_client(srv->url, FX_CLIENT_TIMEOUT_MS);
}

void
fx_stack_down(fx_db *db, fx_server *srv, dobj_client **cl)
{
	dobj_client_close(*cl);
	*cl = NULL;
	if (srv->pid > 0)
		fx_server_stop(srv);
	fx_db_drop(db);
	fx_ops_free();
}

int
fx_http_url(char *url, size_t len)
{
	int port = fx_port();

	snprintf(url, len, "http://127.0.0.1:%d", port);
	return port;
}
