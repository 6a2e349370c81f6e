// SPDX-License-Identifier: MIT
// server.c - visits-server: a complete dobj server with class Page built in. Every dobjd flag
// works (visits-server --help; visits-server migrate).

#include "visits.h"

int
main(int argc, char **argv)
{
	dobj_class page = page_class(&page_impl);
	const dobj_class *classes[] = {&page};

	return dobj_server_main(argc, argv, classes, 1);
}
