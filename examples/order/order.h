/* SPDX-License-Identifier: MIT */
/* order.h - the Order example class (the seed's order-processing Durable Object). */
#ifndef DOBJ_EXAMPLE_ORDER_H
#define DOBJ_EXAMPLE_ORDER_H

#include <dobj/object.h>

/* order_example_class returns class "Order": initialize, transition, state and history,
 * with the auto-cancel alarm. NULL if its state machine could not be defined (a bug; the
 * reason is logged to stderr). Call it before any thread starts. */
const dobj_class *order_example_class(void);

#endif /* DOBJ_EXAMPLE_ORDER_H */
