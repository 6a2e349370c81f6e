/* SPDX-License-Identifier: MIT */
/* plugin.h - loading classes from shared objects (dobj/plugin.h) into a server. */
#ifndef DOBJ_SERVER_PLUGIN_H
#define DOBJ_SERVER_PLUGIN_H

#include <stddef.h>

#include <dobj/server.h>

/* dobj__plugin_load opens the shared object at path, checks its SDK version, and lets it
 * register its classes with srv. The object stays loaded for the life of the process (its
 * classes are used until the very end). On failure err says why. */
dobj_err dobj__plugin_load(dobj_server *srv, const char *path, char *err, size_t errlen);

#endif /* DOBJ_SERVER_PLUGIN_H */
