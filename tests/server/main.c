// SPDX-License-Identifier: MIT
// main.c - dobjd-test: the stock server plus the test-only TestKV class. It is also the
// smallest example of a user's own server binary.

#include <dobj/server.h>

#include "counter/counter.h"
#include "order/order.h"
#include "testkv.h"

int
main(int argc, char **argv)
{
	const dobj_class *const classes[] = {counter_example_class(), order_example_class(),
	                                     &testkv_class};

	if (classes[1] == NULL)
		return 1;
	return dobj_server_main(argc, argv, classes, 3);
}
