// SPDX-License-Identifier: MIT
// plugin.c - `dobjd --plugin PATH`: dlopen a shared object, check that it was built against
// a compatible SDK, and call its init to register its classes. Handles are never closed:
// the classes' code must outlive every turn, and the process ends soon after the server.

#include <dlfcn.h>
#include <stdio.h>

#include <dobj/plugin.h>

#include "log.h"
#include "plugin.h"

dobj_err
dobj__plugin_load(dobj_server *srv, const char *path, char *err, size_t errlen)
{
	const dobj_plugin *p;
	void *h;
	dobj_err rc = DOBJ_OK;

	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "could not load plugin %s: %s", path, dlerror());
		return DOBJ_INVALID_ARGUMENT;
	}
	if ((p = dlsym(h, "dobj_plugin_entry")) == NULL) {
		snprintf(err, errlen,
		         "%s is not a dobj plugin: it has no dobj_plugin_entry (define one with "
		         "DOBJ_PLUGIN)",
		         path);
		dlclose(h);
		return DOBJ_INVALID_ARGUMENT;
	}
	if (p->abi != DOBJ_PLUGIN_ABI || p->sdk_major != DOBJ_VERSION_MAJOR) {
		snprintf(
		    err, errlen,
		    "plugin %s was built against dobj SDK %s (plugin ABI %u); this dobjd is %s "
		    "(plugin ABI %d): rebuild the plugin against this SDK",
		    path, p->sdk_version ? p->sdk_version : "?", p->abi, DOBJ_VERSION_STRING,
		    DOBJ_PLUGIN_ABI);
		dlclose(h);
		return DOBJ_FAILED_PRECONDITION;
	}
	if (p->init == NULL || (rc = p->init(srv)) != DOBJ_OK) {
		snprintf(err, errlen, "plugin %s (%s) failed to register its classes: %s", path,
		         p->name ? p->name : "?", p->init ? dobj_err_str(rc) : "no init function");
		dlclose(h);
		return DOBJ_FAILED_PRECONDITION;
	}
	dobj__log_info("loaded plugin %s (%s, built against SDK %s)", p->name ? p->name : "?", path,
	               p->sdk_version ? p->sdk_version : "?");
	return DOBJ_OK;
}
