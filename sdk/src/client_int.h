/* SPDX-License-Identifier: MIT */
/* client_int.h - the client's internals that tests reach without a socket: the decoding of
 * a reply from a server, which may be hostile or broken. */
#ifndef DOBJ_SDK_CLIENT_INT_H
#define DOBJ_SDK_CLIENT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <dobj/client.h>

/* dobj__client_reply_decode fills *reply from buf[0..len), the server's dobj.wire.Response to
 * request request_id; url names the server in messages. Bytes that are not a Response, or a
 * Response to another request, become DOBJ_INTERNAL; a status the client does not know,
 * DOBJ_UNKNOWN. Returns reply->status; free *reply with dobj_reply_fini(). */
dobj_err dobj__client_reply_decode(const char *url, uint64_t request_id, const void *buf,
                                   size_t len, dobj_reply *reply);

#endif /* DOBJ_SDK_CLIENT_INT_H */
