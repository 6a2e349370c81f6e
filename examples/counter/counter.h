/* SPDX-License-Identifier: MIT */
/* counter.h - the Counter example class: a durable int64 under storage key "count". */
#ifndef DOBJ_EXAMPLE_COUNTER_H
#define DOBJ_EXAMPLE_COUNTER_H

#include <dobj/object.h>

/* counter_class: class "Counter" with increment(IncrementRequest) -> CountReply,
 * get(Empty) -> CountReply and reset(Empty) -> CountReply. */
extern const dobj_class counter_class;

#endif /* DOBJ_EXAMPLE_COUNTER_H */
