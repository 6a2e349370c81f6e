// SPDX-License-Identifier: MIT
// err.c - names and descriptions of dobj_err, made from the one list in dobj/err.h.

#include <string.h>

#include <dobj/err.h>

static const char *const err_names[DOBJ_ERR_COUNT] = {
#define ERR_NAME(name, value, desc) [value] = #name,
    DOBJ_ERR_MAP(ERR_NAME)
#undef ERR_NAME
};

static const char *const err_descs[DOBJ_ERR_COUNT] = {
#define ERR_DESC(name, value, desc) [value] = desc,
    DOBJ_ERR_MAP(ERR_DESC)
#undef ERR_DESC
};

const char *
dobj_err_name(dobj_err err)
{
	if ((unsigned)err >= DOBJ_ERR_COUNT)
		return "UNKNOWN";
	return err_names[err];
}

const char *
dobj_err_str(dobj_err err)
{
	if ((unsigned)err >= DOBJ_ERR_COUNT)
		return "unknown error";
	return err_descs[err];
}

dobj_err
dobj_err_from_name(const char *name, dobj_err *out)
{
	if (name == NULL)
		return DOBJ_INVALID_ARGUMENT;
	for (unsigned i = 0; i < DOBJ_ERR_COUNT; i++) {
		if (strcmp(err_names[i], name) == 0) {
			*out = (dobj_err)i;
			return DOBJ_OK;
		}
	}
	return DOBJ_INVALID_ARGUMENT;
}
