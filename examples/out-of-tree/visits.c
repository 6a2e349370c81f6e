// SPDX-License-Identifier: MIT
// visits.c - class Page: Hit counts a visit and remembers the visitor; GetStats reads both.
// Everything durable goes through the typed accessors generated from PageState.

#include <string.h>

#include "visits.h"

static dobj_err
load(dobj_ctx *ctx, Visits__Stats *rep)
{
	dobj_err rc = page_state_get_hits(ctx, &rep->hits);

	if (rc == DOBJ_NOT_FOUND)
		rep->hits = 0;
	else if (rc != DOBJ_OK)
		return rc;
	rc = page_state_get_last_visitor(ctx, &rep->last_visitor);
	if (rc == DOBJ_NOT_FOUND)
		rep->last_visitor = "";
	else if (rc != DOBJ_OK)
		return rc;
	return DOBJ_OK;
}

static dobj_err
hit(dobj_ctx *ctx, const Visits__HitRequest *req, Visits__Stats *rep)
{
	dobj_err rc;

	if (req->visitor[0] == '\0')
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "Hit: visitor must not be empty");
	if ((rc = load(ctx, rep)) != DOBJ_OK)
		return rc;
	rep->hits++;
	rep->last_visitor = req->visitor;
	if ((rc = page_state_put_hits(ctx, rep->hits)) != DOBJ_OK)
		return rc;
	return page_state_put_last_visitor(ctx, req->visitor);
}

static dobj_err
get_stats(dobj_ctx *ctx, const Visits__Empty *req, Visits__Stats *rep)
{
	(void)req;
	return load(ctx, rep);
}

const page_handlers page_impl = {
    .hit = hit,
    .get_stats = get_stats,
};
