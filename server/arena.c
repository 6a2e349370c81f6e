// SPDX-License-Identifier: MIT
// arena.c - the per-request bump allocator. Chunks grow geometrically; a reset keeps the
// first (smallest) chunk, if small, so that a steady stream of small requests allocates nothing.

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_FIRST_CHUNK 4096
#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_KEEP_MAX (64 * 1024) /* a reset keeps one chunk up to this size */

struct dobj__arena_chunk {
	dobj__arena_chunk *next;
	size_t size; /* usable bytes after the header */
	alignas(max_align_t) unsigned char data[];
};

static void *
arena_pb_alloc(void *data, size_t size)
{
	return dobj__arena_alloc(data, size);
}

static void
arena_pb_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr; /* freed with the arena */
}

void
dobj__arena_init(dobj__arena *a)
{
	memset(a, 0, sizeof(*a));
}

void *
dobj__arena_alloc(dobj__arena *a, size_t size)
{
	size_t off = (a->used + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	if (size == 0)
		size = 1;
	if (a->head == NULL || off > a->head->size || size > a->head->size - off) {
		size_t want = a->head ? a->head->size * 2 : ARENA_FIRST_CHUNK;
		dobj__arena_chunk *c;

		while (want < size)
			want *= 2;
		if (a->limit != 0 && (a->total > a->limit || want > a->limit - a->total)) {
			a->refused = true;
			return NULL;
		}
		if (want > SIZE_MAX - sizeof(*c) || (c = malloc(sizeof(*c) + want)) == NULL)
			return NULL;
		c->size = want;
		c->next = a->head;
		a->head = c;
		a->total += want;
		off = 0;
	}
	a->used = off + size;
	return a->head->data + off;
}

char *
dobj__arena_strndup(dobj__arena *a, const char *s, size_t len)
{
	char *p = dobj__arena_alloc(a, len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void
dobj__arena_reset(dobj__arena *a)
{
	dobj__arena_chunk *c = a->head, *keep = NULL;

	/* The oldest chunk is the smallest; keep it unless one big request made it big. */
	while (c != NULL) {
		dobj__arena_chunk *next = c->next;
		if (next == NULL && c->size <= ARENA_KEEP_MAX)
			keep = c;
		else
			free(c);
		c = next;
	}
	a->head = keep;
	a->used = 0;
	a->total = keep ? keep->size : 0;
	a->limit = 0;
	a->refused = false;
}

void
dobj__arena_fini(dobj__arena *a)
{
	dobj__arena_chunk *c = a->head;

	while (c != NULL) {
		dobj__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	memset(a, 0, sizeof(*a));
}

static void *
arena_budget_alloc(void *data, size_t size)
{
	dobj__arena_budget *b = data;

	if (size > b->left) {
		b->refused = true;
		return NULL;
	}
	b->left -= size;
	return dobj__arena_alloc(b->arena, size);
}

ProtobufCAllocator *
dobj__arena_budget_pb(dobj__arena_budget *b, dobj__arena *a, size_t max)
{
	b->arena = a;
	b->refused = false;
	b->left = max;
	b->pb.alloc = arena_budget_alloc;
	b->pb.free = arena_pb_free;
	b->pb.allocator_data = b;
	return &b->pb;
}

/* The protobuf-c allocator is set up on demand so that a zeroed arena works. */
ProtobufCAllocator *
dobj__arena_pb(dobj__arena *a)
{
	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
	return &a->pb;
}
