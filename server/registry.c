// SPDX-License-Identifier: MIT
// registry.c - registered classes and their method tables. Linear lookups: a server runs a
// handful of classes, each with a handful of methods.

#include <stdlib.h>
#include <string.h>

#include <dobj/client.h>

#include "registry.h"
#include "utf8.h"

static int
name_is(const char *a, const char *b, size_t blen)
{
	return strncmp(a, b, blen) == 0 && a[blen] == '\0';
}

dobj_err
dobj__registry_add(dobj__registry *r, const dobj_class *cls)
{
	dobj__class_reg *p;
	dobj_class *copy;

	/* names a client can call: a stub holds at most DOBJ_CLASS_NAME_MAX bytes, and the wire
	 * carries UTF-8 */
	if (cls == NULL || cls->name == NULL || cls->name[0] == '\0' ||
	    strlen(cls->name) > DOBJ_CLASS_NAME_MAX ||
	    !dobj__utf8_valid(cls->name, strlen(cls->name)) ||
	    (cls->nmethods > 0 && cls->methods == NULL))
		return DOBJ_INVALID_ARGUMENT;
	for (size_t i = 0; i < cls->nmethods; i++) {
		const dobj_method *m = &cls->methods[i];
		if (m->name == NULL || m->name[0] == '\0' || m->fn == NULL ||
		    !dobj__utf8_valid(m->name, strlen(m->name)))
			return DOBJ_INVALID_ARGUMENT;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cls->methods[j].name, m->name) == 0)
				return DOBJ_INVALID_ARGUMENT;
	}
	if (dobj__registry_find(r, cls->name, strlen(cls->name)) != NULL)
		return DOBJ_ALREADY_EXISTS;
	if ((copy = malloc(sizeof(*copy))) == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	if ((p = realloc(r->classes, (r->n + 1) * sizeof(*p))) == NULL) {
		free(copy);
		return DOBJ_RESOURCE_EXHAUSTED;
	}
	*copy = *cls;
	r->classes = p;
	r->classes[r->n].cls = copy;
	r->classes[r->n].index = r->n;
	r->n++;
	return DOBJ_OK;
}

const dobj__class_reg *
dobj__registry_find(const dobj__registry *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (name_is(r->classes[i].cls->name, name, len))
			return &r->classes[i];
	return NULL;
}

const dobj_method *
dobj__registry_method(const dobj__class_reg *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->cls->nmethods; i++)
		if (name_is(c->cls->methods[i].name, name, len))
			return &c->cls->methods[i];
	return NULL;
}

void
dobj__registry_fini(dobj__registry *r)
{
	for (size_t i = 0; i < r->n; i++)
		free((dobj_class *)r->classes[i].cls);
	free(r->classes);
	r->classes = NULL;
	r->n = 0;
}
