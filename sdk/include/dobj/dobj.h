/* SPDX-License-Identifier: MIT */
/* dobj/dobj.h - errors, ids, the client, the object side (storage, typed storage) and the
 * server in one include. State machines (dobj/fsm.h), alarms (dobj/alarm.h) and plugins
 * (dobj/plugin.h) have their own headers, not included here. */
#ifndef DOBJ_DOBJ_H
#define DOBJ_DOBJ_H

#include <dobj/client.h>
#include <dobj/err.h>
#include <dobj/id.h>
#include <dobj/object.h>
#include <dobj/server.h>
#include <dobj/storage.h>
#include <dobj/typed.h>
#include <dobj/version.h>

#endif /* DOBJ_DOBJ_H */
