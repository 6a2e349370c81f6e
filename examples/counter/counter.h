/* SPDX-License-Identifier: MIT */
/* counter.h - the Counter example class, implemented on the code generated from counter.proto. */
#ifndef DOBJ_EXAMPLE_COUNTER_H
#define DOBJ_EXAMPLE_COUNTER_H

#include <dobj/object.h>

/* counter_example_class returns class "Counter" with its handlers: increment(amount), get and
 * reset, each answering the resulting count. The pointer is static; call it before any
 * thread starts (dobj_server_main copies the class when it registers it). */
const dobj_class *counter_example_class(void);

#endif /* DOBJ_EXAMPLE_COUNTER_H */
