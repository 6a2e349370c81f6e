// SPDX-License-Identifier: MIT
// reply.c - dobj_reply: its messages, the decoding of the server's wire Response into it, and of
// a result into a typed message. Replies come from the network: what decoding may allocate is
// bounded. Sending and receiving are client.c's.

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/client.h>
#include <dobj/object.h>
#include <dobj/wire.pb-c.h>

#include "reply.h"

/* The wire's Response may take REPLY_DECODE_FACTOR times its size plus REPLY_DECODE_SLACK to
 * decode, as dobjd's Request. A result may hold a great many small repeated messages (13 times
 * their size in protobuf-c, 45 when empty): REPLY_DECODE_FACTOR times plus RESULT_DECODE_SLACK,
 * so that any result up to 1.5 MiB decodes, and a 16 MiB one of unknown fields (33 times)
 * stops at 128 MiB. */
#define REPLY_DECODE_FACTOR 4
#define REPLY_DECODE_SLACK ((size_t)64 << 10)
#define RESULT_DECODE_SLACK ((size_t)4 * DOBJ_MESSAGE_MAX)

/* reply_oom_message is the message of a reply whose own message could not be allocated;
 * dobj_reply_fini() knows not to free it. */
static char reply_oom_message[] = "out of memory";

static void
reply_set(dobj_reply *r, dobj_err status, char *message)
{
	r->status = status;
	r->message = message;
	r->data = NULL;
	r->len = 0;
}

dobj_err
dobj__reply_errorf(dobj_reply *r, dobj_err status, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (msg = malloc((size_t)n + 1)) == NULL) {
		reply_set(r, DOBJ_RESOURCE_EXHAUSTED, reply_oom_message);
		return r->status;
	}
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)n + 1, fmt, ap);
	va_end(ap);
	reply_set(r, status, msg);
	return status;
}

void
dobj_reply_fini(dobj_reply *r)
{
	if (r == NULL)
		return;
	if (r->message != reply_oom_message)
		free(r->message);
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/* reply_budget: malloc for protobuf-c, at most `left` bytes in all: decoding a reply of many
 * tiny or unknown fields must not make the client allocate gigabytes. */
typedef struct reply_budget {
	ProtobufCAllocator pb;
	size_t left;
	bool refused;
} reply_budget;

static void *
reply_budget_alloc(void *data, size_t size)
{
	reply_budget *b = data;

	if (size > b->left) {
		b->refused = true;
		return NULL;
	}
	b->left -= size;
	return malloc(size);
}

static void
reply_budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

dobj_err
dobj__reply_decode(const char *url, uint64_t request_id, const void *buf, size_t len,
                   dobj_reply *reply, bool *stopping)
{
	reply_budget b = {.pb = {reply_budget_alloc, reply_budget_free, &b},
	                  .left = REPLY_DECODE_FACTOR * len + REPLY_DECODE_SLACK};
	Dobj__Wire__Response *resp;
	dobj_err err;

	if (stopping != NULL)
		*stopping = false;
	resp = dobj__wire__response__unpack(&b.pb, len, buf);
	if (resp == NULL && b.refused)
		return dobj__reply_errorf(
		    reply, DOBJ_INTERNAL,
		    "could not decode the reply from %s: %zu bytes that take more than "
		    "%d times their size to decode (too many fields)",
		    url, len, REPLY_DECODE_FACTOR);
	if (resp == NULL)
		return dobj__reply_errorf(reply, DOBJ_INTERNAL,
		                          "could not decode the reply from %s (%zu bytes)", url,
		                          len);
	if (resp->request_id != request_id) {
		err = dobj__reply_errorf(reply, DOBJ_INTERNAL,
		                         "reply from %s is for request %" PRIu64
		                         ", expected %" PRIu64,
		                         url, resp->request_id, request_id);
	} else if (resp->status >= DOBJ_ERR_COUNT) {
		err = dobj__reply_errorf(reply, DOBJ_UNKNOWN,
		                         "server sent unknown status %" PRIu32 ": %s", resp->status,
		                         resp->message);
	} else if (resp->status != DOBJ_OK) {
		err = dobj__reply_errorf(reply, (dobj_err)resp->status, "%s",
		                         resp->message[0] ? resp->message
		                                          : dobj_err_str((dobj_err)resp->status));
		if (stopping != NULL)
			*stopping = resp->stopping && resp->not_run;
	} else if ((err = dobj__reply_errorf(reply, DOBJ_OK, "%s", resp->message)) == DOBJ_OK &&
	           resp->payload.len > 0) {
		if ((reply->data = malloc(resp->payload.len)) == NULL) {
			dobj_reply_fini(reply);
			err = dobj__reply_errorf(reply, DOBJ_RESOURCE_EXHAUSTED,
			                         "could not allocate a reply of %zu bytes",
			                         resp->payload.len);
		} else {
			memcpy(reply->data, resp->payload.data, resp->payload.len);
			reply->len = resp->payload.len;
		}
	}
	dobj__wire__response__free_unpacked(resp, &b.pb);
	return err;
}

ProtobufCMessage *
dobj_reply_unpack(const dobj_reply *r, const ProtobufCMessageDescriptor *type)
{
	reply_budget b = {.pb = {reply_budget_alloc, reply_budget_free, &b}};

	if (r == NULL || type == NULL || (r->data == NULL && r->len > 0))
		return NULL;
	b.left = r->len > (SIZE_MAX - RESULT_DECODE_SLACK) / REPLY_DECODE_FACTOR
	             ? SIZE_MAX
	             : REPLY_DECODE_FACTOR * r->len + RESULT_DECODE_SLACK;
	return protobuf_c_message_unpack(type, &b.pb, r->len, r->data);
}
