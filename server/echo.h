/* SPDX-License-Identifier: MIT */
/* echo.h - dobj.Echo, the built-in no-op class every server runs: it measures the transport
 * and dispatch ceiling of a server (dobj-bench --scenario echo) in the same run as the real
 * classes. */
#ifndef DOBJ_SERVER_ECHO_H
#define DOBJ_SERVER_ECHO_H

#include <dobj/object.h>

/* DOBJ__ECHO_CLASS is the class name clients call. */
#define DOBJ__ECHO_CLASS "dobj.Echo"

/* dobj__echo_class returns the class: method "echo" answers its argument unchanged and
 * touches no storage, so its turns never join a commit. Static; never free it. */
const dobj_class *dobj__echo_class(void);

#endif /* DOBJ_SERVER_ECHO_H */
