/* SPDX-License-Identifier: MIT */
/* reply.h - dobj_reply's internals for client.c, and for the tests and the reply fuzzer
 * (tests/fuzz), which decode replies without a socket. */
#ifndef DOBJ_SDK_REPLY_H
#define DOBJ_SDK_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/client.h>

/* dobj__reply_errorf sets *r to status with a formatted message and no data, and returns
 * status; out of memory, RESOURCE_EXHAUSTED with a static message (dobj_reply_fini knows it). */
dobj_err dobj__reply_errorf(dobj_reply *r, dobj_err status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* dobj__reply_decode fills *reply from buf[0..len), the server's dobj.wire.Response to request
 * request_id; url names the server in messages. Bytes that are not a Response (or that take
 * more than 4 times their size to decode), or a Response to another request, become
 * DOBJ_INTERNAL; a status the client does not know, DOBJ_UNKNOWN. *stopping (if not NULL)
 * is the Response's stopping: the server refused the call, not run, because it is shutting
 * down (false for the client's own errors). Returns reply->status; free *reply with
 * dobj_reply_fini(). */
dobj_err dobj__reply_decode(const char *url, uint64_t request_id, const void *buf, size_t len,
                            dobj_reply *reply, bool *stopping);

#endif /* DOBJ_SDK_REPLY_H */
