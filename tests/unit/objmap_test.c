// SPDX-License-Identifier: MIT
// objmap_test.c - a shard's live objects (server/objmap.c): the cache bound and the idle
// timeout hold while objects that must stay (doomed, pinned by a pending commit, on a batch)
// sit at the least recently used end, and those objects stay.

#include <string.h>

#include <criterion/criterion.h>

#include "object.h"
#include "objmap.h"
#include "registry.h"

static const dobj_class cls = {.name = "T"};
static const dobj__class_reg reg = {.cls = &cls, .index = 0};

/* fill inserts n objects, oldest first; the first three must stay, one way each */
static void
fill(dobj__objmap *m, int n, dobj__object **stay)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < n; i++) {
		dobj_id id = {{0}};
		dobj__object *o;

		id.bytes[0] = (uint8_t)i;
		id.bytes[1] = (uint8_t)(i >> 8);
		o = dobj__object_new(&reg, &id);
		cr_assert_not_null(o);
		o->last_used_ms = i;
		o->doomed = i == 0;
		o->pins = i == 1;
		o->in_batch = i == 2;
		if (i < 3)
			stay[i] = o;
		cr_assert_eq(dobj__objmap_insert(m, o), 0);
	}
}

/* assert_stayed: the three objects that must stay are still live */
static void
assert_stayed(const dobj__objmap *m, dobj__object *const *stay)
{
	for (int i = 0; i < 3; i++)
		cr_assert_eq(dobj__objmap_find(m, &reg, &stay[i]->id), stay[i], "object %d left",
		             i);
}

Test(objmap, the_cache_bound_holds_past_objects_that_must_stay)
{
	dobj__objmap m;
	dobj__object *stay[3];

	fill(&m, 100, stay);
	dobj__objmap_evict_cold(&m, 10, 0);
	cr_assert_eq(m.n, 10, "%zu objects live with a bound of 10", m.n);
	assert_stayed(&m, stay);
	dobj__objmap_fini(&m);
}

Test(objmap, the_idle_timeout_holds_past_objects_that_must_stay)
{
	dobj__objmap m;
	dobj__object *stay[3];

	fill(&m, 50, stay);
	dobj__objmap_evict_cold(&m, 1000, 40); /* idle: last used before 40 */
	cr_assert_eq(m.n, 10 + 3, "%zu objects live", m.n);
	assert_stayed(&m, stay);
	dobj__objmap_fini(&m);
}

Test(objmap, a_pass_that_finds_only_objects_that_must_stay_ends)
{
	dobj__objmap m;
	dobj__object *stay[3];

	fill(&m, 3, stay);
	dobj__objmap_evict_cold(&m, 0, 1000); /* everything over the bound and idle */
	cr_assert_eq(m.n, 3);
	dobj__objmap_fini(&m);
}
