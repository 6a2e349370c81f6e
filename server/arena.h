/* SPDX-License-Identifier: MIT */
/* arena.h - a bump allocator whose memory dies all at once (one per request, like a
 * PostgreSQL memory context). Also serves protobuf-c as a ProtobufCAllocator. */
#ifndef DOBJ_SERVER_ARENA_H
#define DOBJ_SERVER_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct dobj__arena_chunk dobj__arena_chunk;

/* dobj__arena: zero-initialise, or call dobj__arena_init. Not thread-safe. */
typedef struct dobj__arena {
	dobj__arena_chunk *head; /* newest chunk first */
	size_t used;             /* bytes used in head */
	size_t total;            /* bytes held by all chunks */
	size_t limit;            /* total may not grow past it; 0: no limit */
	bool refused;            /* an allocation failed on limit since the last reset */
	ProtobufCAllocator pb;   /* protobuf-c allocator drawing from this arena */
} dobj__arena;

void dobj__arena_init(dobj__arena *a);

/* dobj__arena_alloc returns size bytes aligned to max_align_t; NULL when out of memory, or
 * when a new chunk would take total past limit (refused is then set). */
void *dobj__arena_alloc(dobj__arena *a, size_t size);

/* dobj__arena_strdup copies s (len bytes, then a NUL) into the arena. */
char *dobj__arena_strndup(dobj__arena *a, const char *s, size_t len);

/* dobj__arena_reset frees everything allocated, keeping the first chunk for reuse. */
void dobj__arena_reset(dobj__arena *a);

/* dobj__arena_pb returns a protobuf-c allocator over a (valid while a lives). */
ProtobufCAllocator *dobj__arena_pb(dobj__arena *a);

/* DOBJ__DECODE_FACTOR, DOBJ__DECODE_SLACK: decoding a dobj.wire.Request of len bytes may take
 * DOBJ__DECODE_FACTOR * len + DOBJ__DECODE_SLACK bytes, no more (protobuf-c copies strings and
 * bytes and keeps unknown fields; a message of many tiny fields must not take gigabytes). */
#define DOBJ__DECODE_FACTOR 4
#define DOBJ__DECODE_SLACK ((size_t)64 << 10)

/* dobj__arena_budget: a protobuf-c allocator over an arena that gives out at most `left`
 * bytes in all; refused is set when it said no. */
typedef struct dobj__arena_budget {
	ProtobufCAllocator pb;
	dobj__arena *arena;
	size_t left;
	bool refused;
} dobj__arena_budget;

/* dobj__arena_budget_pb sets b up over a to give out at most max bytes and returns its
 * allocator (valid while b and a live). */
ProtobufCAllocator *dobj__arena_budget_pb(dobj__arena_budget *b, dobj__arena *a, size_t max);

/* dobj__arena_fini frees all memory. */
void dobj__arena_fini(dobj__arena *a);

#endif /* DOBJ_SERVER_ARENA_H */
