// SPDX-License-Identifier: MIT
// old_plugin.c - a plugin that claims an incompatible SDK (plugin ABI 999), which dobjd must
// refuse with a clear message instead of calling into it.

#include <stddef.h>

#include <dobj/plugin.h>

__attribute__((visibility("default"))) const dobj_plugin dobj_plugin_entry = {
    .abi = 999,
    .sdk_major = 99,
    .sdk_version = "99.0.0",
    .name = "from-the-future",
    .init = NULL,
};
