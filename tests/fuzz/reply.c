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
	err = dobj__reply_decode("tcp://fuzz:1", 1, data, size, &r, NULL);
	FX_CHECK(err == r.status);
	FX_CHECK((unsigned)r.status < DOBJ_ERR_COUNT);
	FX_CHECK(r.message != NULL);
	FX_CHECK(strlen(r.message) < size + 256);
	if (r.status != DOBJ_OK)
		FX_CHECK(r.data == NULL && r.len == 0);
	else
		FX_CHECK(r.len <= size && (r.len == 0) == (r.data == NULL));
	if (r.len > 0)
		FX_CHECK(memmem(data, size, r.data, r.len) != NULL);
	dobj_reply_fini(&r);
	return 0;
}
