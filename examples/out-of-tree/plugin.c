// SPDX-License-Identifier: MIT
// plugin.c - class Page as a plugin: `dobjd --plugin ./visits_plugin.so`.

#include <dobj/plugin.h>

#include "visits.h"

static dobj_err
visits_init(dobj_server *srv)
{
	return page_register(srv, &page_impl);
}

DOBJ_PLUGIN("visits", visits_init);
