// SPDX-License-Identifier: MIT
// proto2_class.c - class Prefs of proto2.proto for dobjd-codegen: Put stores each field that
// is present in the request through the generated proto2 accessors; Load returns the stored
// fields as one message.

#include "proto2.dobj.h"
#include "proto2_class.h"

typedef Dobj__Test__P2__Settings Settings;
typedef Dobj__Test__P2__Empty Empty;

static dobj_err
put(dobj_ctx *ctx, const Settings *req, Empty *rep)
{
	dobj_err rc = DOBJ_OK;

	(void)rep;
	if (req->has_level && (rc = p2_settings_put_level(ctx, req->level)) != DOBJ_OK)
		return rc;
	if (req->name != NULL && (rc = p2_settings_put_name(ctx, req->name)) != DOBJ_OK)
		return rc;
	if (req->has_blob && (rc = p2_settings_put_blob(ctx, req->blob)) != DOBJ_OK)
		return rc;
	if (req->has_mode && (rc = p2_settings_put_mode(ctx, req->mode)) != DOBJ_OK)
		return rc;
	if (req->has_flag && (rc = p2_settings_put_flag(ctx, req->flag)) != DOBJ_OK)
		return rc;
	if (req->n_list > 0)
		rc = p2_settings_put_list(ctx, req->list, req->n_list);
	return rc;
}

static dobj_err
load(dobj_ctx *ctx, const Empty *req, Settings *rep)
{
	Settings *all;
	dobj_err rc;

	(void)req;
	if ((rc = p2_settings_load(ctx, &all)) != DOBJ_OK)
		return rc;
	*rep = *all;
	return DOBJ_OK;
}

const p2_prefs_handlers proto2_prefs = {.put = put, .load = load};
