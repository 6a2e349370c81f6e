// SPDX-License-Identifier: MIT
// reply.c - fuzzes the client's handling of a reply (dobj__reply_decode,
// sdk/src/client.c), as a broken or hostile server may send it: every input gives a reply
// with a message, a status the client knows, and data only with DOBJ_OK.

#define _GNU_SOURCE /* memmem */
#include <string.h>

#include <dobj/client.h>

#include "reply.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dobj_reply r;
	dobj_err err;

	memset(&r, 0xa5, sizeof(r)); /* the caller's reply need not be initialised */
	err = dobj__reply_decode("tcp://fuzz:1", 1, data, size, &r);
	FUZZ_CHECK(err == r.status);
	FUZZ_CHECK((unsigned)r.status < DOBJ_ERR_COUNT);
	FUZZ_CHECK(r.message != NULL);
	FUZZ_CHECK(strlen(r.message) < size + 256);
	if (r.status != DOBJ_OK)
		FUZZ_CHECK(r.data == NULL && r.len == 0);
	else
		FUZZ_CHECK(r.len <= size && (r.len == 0) == (r.data == NULL));
	if (r.len > 0)
		FUZZ_CHECK(memmem(data, size, r.data, r.len) != NULL);
	dobj_reply_fini(&r);
	return 0;
}
