// SPDX-License-Identifier: MIT
// cli.c - visits-cli URL hit PAGE VISITOR | stats PAGE: prints "HITS LAST_VISITOR".

#include <stdio.h>
#include <string.h>

#include "visits.dobj.h"

int
main(int argc, char **argv)
{
	dobj_client_opts opts = {.url = argc > 1 ? argv[1] : "", .default_timeout_ms = 5000};
	Visits__HitRequest hit = VISITS__HIT_REQUEST__INIT;
	Visits__Empty empty = VISITS__EMPTY__INIT;
	Visits__Stats *stats = NULL;
	dobj_error err = {0};
	dobj_client *c;
	dobj_stub page;
	dobj_err rc;

	if (argc < 4 || (strcmp(argv[2], "hit") == 0) != (argc == 5)) {
		fprintf(stderr, "usage: visits-cli URL hit PAGE VISITOR | stats PAGE\n");
		return 2;
	}
	if ((rc = dobj_client_open(&c, &opts)) != DOBJ_OK || (rc = page_stub(c, argv[3], &page))) {
		fprintf(stderr, "%s: could not reach %s\n", dobj_err_name(rc), argv[1]);
		return 1;
	}
	if (strcmp(argv[2], "hit") == 0) {
		hit.visitor = argv[4];
		rc = page_hit(&page, &hit, NULL, &stats, &err);
	} else {
		rc = page_get_stats(&page, &empty, NULL, &stats, &err);
	}
	dobj_client_close(c);
	if (rc != DOBJ_OK) {
		fprintf(stderr, "%s: %s\n", dobj_err_name(err.code), err.message);
		return 1;
	}
	printf("%lld %s\n", (long long)stats->hits, stats->last_visitor);
	visits__stats__free_unpacked(stats, NULL);
	return 0;
}
