/* SPDX-License-Identifier: MIT */
/* registry.h - the classes a server runs, looked up by name. Filled before the server
 * starts, read-only afterwards (so readers take no lock). */
#ifndef DOBJ_SERVER_REGISTRY_H
#define DOBJ_SERVER_REGISTRY_H

#include <stddef.h>

#include <dobj/object.h>

typedef struct dobj__class_reg {
	const dobj_class *cls; /* the registry's own copy */
	size_t index;
} dobj__class_reg;

typedef struct dobj__registry {
	dobj__class_reg *classes;
	size_t n;
} dobj__registry;

/* dobj__registry_add registers cls. DOBJ_ALREADY_EXISTS for a duplicate name,
 * DOBJ_INVALID_ARGUMENT for a class name that is empty, over DOBJ_CLASS_NAME_MAX bytes or not
 * UTF-8, or a method without a name or fn, with a name that is not UTF-8, or twice. */
dobj_err dobj__registry_add(dobj__registry *r, const dobj_class *cls);

/* dobj__registry_find returns the class named name (len bytes), or NULL. */
const dobj__class_reg *dobj__registry_find(const dobj__registry *r, const char *name, size_t len);

/* dobj__registry_method returns the method named name (len bytes) of c, or NULL. */
const dobj_method *dobj__registry_method(const dobj__class_reg *c, const char *name, size_t len);

void dobj__registry_fini(dobj__registry *r);

#endif /* DOBJ_SERVER_REGISTRY_H */
