// SPDX-License-Identifier: MIT
// dobjd.c - the stock server: dobj_server_main() with the example classes built in.

#include <stddef.h>

#include <dobj/server.h>

#ifdef DOBJ_WITH_EXAMPLES
#include "counter/counter.h"
#include "order/order.h"
#endif

int
main(int argc, char **argv)
{
	const dobj_class *classes[2];
	size_t n = 0;

#ifdef DOBJ_WITH_EXAMPLES
	classes[n++] = counter_example_class();
	if ((classes[n] = order_example_class()) == NULL)
		return 1;
	n++;
#endif
	return dobj_server_main(argc, argv, classes, n);
}
