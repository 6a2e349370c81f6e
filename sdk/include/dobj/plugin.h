/* SPDX-License-Identifier: MIT */
/*
 * dobj/plugin.h - classes in a shared object, loaded by the stock server with
 * `dobjd --plugin PATH` (repeatable; also DOBJ_PLUGINS=PATH:PATH).
 *
 * A plugin defines exactly one entry with DOBJ_PLUGIN(name, init): dobjd checks that the
 * plugin was built against a compatible SDK (same plugin ABI and SDK major version), then
 * calls init, which registers the plugin's classes. Build plugins as CMake MODULE libraries
 * that do not link libdobj: the symbols come from the dobjd that loads them.
 */
#ifndef DOBJ_PLUGIN_H
#define DOBJ_PLUGIN_H

#include <stdint.h>

#include <dobj/err.h>
#include <dobj/server.h>
#include <dobj/version.h>

#ifdef __cplusplus
extern "C" {
#endif

/* DOBJ_PLUGIN_ABI changes whenever a plugin built against an older SDK could misbehave in a
 * newer dobjd (the layout of dobj_class, dobj_method, dobj_bytes or a handler's signature). */
#define DOBJ_PLUGIN_ABI 1

/* dobj_plugin_init_fn registers the plugin's classes with dobj_server_register(). */
typedef dobj_err (*dobj_plugin_init_fn)(dobj_server *srv);

/* dobj_plugin: what dobjd reads from the symbol `dobj_plugin_entry`. */
typedef struct dobj_plugin {
	uint32_t abi;            /* DOBJ_PLUGIN_ABI at build time */
	uint32_t sdk_major;      /* DOBJ_VERSION_MAJOR at build time */
	const char *sdk_version; /* DOBJ_VERSION_STRING at build time */
	const char *name;
	dobj_plugin_init_fn init;
} dobj_plugin;

/* DOBJ_PLUGIN defines the plugin's entry; use it once, at file scope. */
#define DOBJ_PLUGIN(name_, init_)                                                      \
	__attribute__((visibility("default"))) const dobj_plugin dobj_plugin_entry = { \
	    .abi = DOBJ_PLUGIN_ABI,                                                    \
	    .sdk_major = DOBJ_VERSION_MAJOR,                                           \
	    .sdk_version = DOBJ_VERSION_STRING,                                        \
	    .name = (name_),                                                           \
	    .init = (init_),                                                           \
	}

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_PLUGIN_H */
