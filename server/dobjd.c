// SPDX-License-Identifier: MIT
// dobjd.c - the stock server: dobj_server_main() with the example classes built in.

#include <stddef.h>

#include <dobj/server.h>

#ifdef DOBJ_WITH_EXAMPLES
#include "counter/counter.h"
#endif

int
main(int argc, char **argv)
{
	static const dobj_class *const classes[] = {
#ifdef DOBJ_WITH_EXAMPLES
	    &counter_class,
#endif
	    NULL,
	};

	return dobj_server_main(argc, argv, classes, sizeof(classes) / sizeof(classes[0]) - 1);
}
