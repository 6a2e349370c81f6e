// SPDX-License-Identifier: MIT
// storage.c - fuzzes an object's storage (server/storage.c, server/object.c and the undo log)
// against a model: the input is a script of puts, deletes, gets, lists, delete_all and nested
// transactions that keep or discard their writes, on a database-free turn
// (tests/support/turn.c). After every step each key reads back as the model says, and every
// list returns exactly the model's entries, in order: no call, failed or not, corrupts what
// the object holds.

#include <stdbool.h>
#include <string.h>

#include <dobj/storage.h>

#include "fuzz.h"
#include "turn.h"

#define MODEL_MAX (8 + 8 * 8 + 8 * 8 * 8) /* distinct keys: 1 to 3 of 8 symbols */
#define KEY_MAX 16
#define VAL_MAX 8

typedef struct entry {
	char key[KEY_MAX];
	uint8_t val[VAL_MAX];
	size_t vlen;
} entry;

typedef struct model {
	entry e[MODEL_MAX];
	size_t n;
} model;

typedef struct script {
	const uint8_t *p, *end;
	model m;
	fx_turn t;
	int depth;
} script;

static script s;

static uint8_t
next(void)
{
	return s.p < s.end ? *s.p++ : 0;
}

/* next_key makes a key of 1 to 3 symbols; some are not UTF-8, so puts of them must fail. */
static void
next_key(char *k)
{
	static const char *const sym[] = {"a", "b", "/", "\xc3\xa9", "\xff", "\x80", "ab", "~"};
	uint8_t b = next();
	size_t n = 1 + b % 3;

	k[0] = '\0';
	for (size_t i = 0; i < n; i++)
		strcat(k, sym[(b >> (2 + i * 2) ^ next()) & 7]);
}

static entry *
model_find(const char *k)
{
	for (size_t i = 0; i < s.m.n; i++)
		if (strcmp(s.m.e[i].key, k) == 0)
			return &s.m.e[i];
	return NULL;
}

static void
model_put(const char *k, const uint8_t *v, size_t len)
{
	entry *e = model_find(k);

	if (e == NULL) {
		FX_CHECK(s.m.n < sizeof(s.m.e) / sizeof(s.m.e[0]));
		e = &s.m.e[s.m.n++];
		strcpy(e->key, k);
	}
	memcpy(e->val, v, len);
	e->vlen = len;
}

static void
model_delete(const char *k)
{
	entry *e = model_find(k);

	if (e != NULL)
		*e = s.m.e[--s.m.n];
}

/* check_all: every key of the model reads back with its value, and nothing else is listed. */
static void
check_all(void)
{
	dobj_kv *kv;
	size_t n;

	for (size_t i = 0; i < s.m.n; i++) {
		dobj_bytes v;

		FX_CHECK(dobj_storage_get(&s.t.ctx, s.m.e[i].key, &v) == DOBJ_OK);
		FX_CHECK(v.len == s.m.e[i].vlen &&
		         (v.len == 0 || !memcmp(v.data, s.m.e[i].val, v.len)));
	}
	FX_CHECK(dobj_storage_list(&s.t.ctx, NULL, &kv, &n) == DOBJ_OK);
	FX_CHECK(n == s.m.n);
	for (size_t i = 0; i < n; i++) {
		FX_CHECK(model_find(kv[i].key) != NULL);
		FX_CHECK(i == 0 || strcmp(kv[i - 1].key, kv[i].key) < 0);
	}
}

/* in_range: k is one that opts selects (before its limit). */
static bool
in_range(const char *k, const dobj_list_opts *o)
{
	return (o->prefix == NULL || strncmp(k, o->prefix, strlen(o->prefix)) == 0) &&
	       (o->start == NULL || strcmp(k, o->start) >= 0) &&
	       (o->start_after == NULL || strcmp(k, o->start_after) > 0) &&
	       (o->end == NULL || strcmp(k, o->end) < 0);
}

static void
check_list(void)
{
	char b[4][KEY_MAX];
	uint8_t which = next();
	dobj_list_opts o = {.reverse = which & 16, .limit = next() % 4};
	dobj_kv *kv;
	size_t n, want = 0;
	dobj_err rc;

	for (int i = 0; i < 4; i++)
		next_key(b[i]);
	o.prefix = which & 1 ? b[0] : NULL;
	o.start = which & 2 ? b[1] : NULL;
	o.start_after = which & 4 ? b[2] : NULL;
	o.end = which & 8 ? b[3] : NULL;
	rc = dobj_storage_list(&s.t.ctx, &o, &kv, &n);
	if (rc != DOBJ_OK) {
		FX_CHECK(rc == DOBJ_INVALID_ARGUMENT);
		return;
	}
	for (size_t i = 0; i < s.m.n; i++)
		want += in_range(s.m.e[i].key, &o);
	FX_CHECK(n == (o.limit && o.limit < want ? o.limit : want));
	for (size_t i = 0; i < n; i++) {
		entry *e = model_find(kv[i].key);

		FX_CHECK(e != NULL && in_range(kv[i].key, &o));
		FX_CHECK(kv[i].value.len == e->vlen);
		if (i > 0)
			FX_CHECK(o.reverse ? strcmp(kv[i - 1].key, kv[i].key) > 0
			                   : strcmp(kv[i - 1].key, kv[i].key) < 0);
	}
}

static dobj_err run(dobj_ctx *ctx, void *arg);

/* step runs one command of the script; false at its end or at the end of a transaction. */
static bool
step(void)
{
	char k[KEY_MAX];
	uint8_t v[VAL_MAX], op;
	size_t len;
	bool existed;
	dobj_err rc;

	if (s.p >= s.end)
		return false;
	op = next();
	switch (op % 8) {
	case 0: /* put */
	case 1:
		next_key(k);
		len = next() % (VAL_MAX + 1);
		for (size_t i = 0; i < len; i++)
			v[i] = next();
		if ((rc = dobj_storage_put(&s.t.ctx, k, v, len)) == DOBJ_OK)
			model_put(k, v, len);
		else
			FX_CHECK(rc == DOBJ_INVALID_ARGUMENT || rc == DOBJ_RESOURCE_EXHAUSTED);
		break;
	case 2: /* delete */
		next_key(k);
		if ((rc = dobj_storage_delete(&s.t.ctx, k, &existed)) == DOBJ_OK) {
			FX_CHECK(existed == (model_find(k) != NULL));
			model_delete(k);
		} else {
			FX_CHECK(rc == DOBJ_INVALID_ARGUMENT);
		}
		break;
	case 3:
		check_list();
		break;
	case 4: /* a transaction: the commands up to its end; op's high bit fails it */
		if (s.depth < 8) {
			model saved = s.m;
			dobj_err want = op & 0x80 ? DOBJ_ABORTED : DOBJ_OK;

			s.depth++;
			rc = dobj_storage_transaction(&s.t.ctx, run, &want);
			s.depth--;
			FX_CHECK(rc == want);
			if (rc != DOBJ_OK)
				s.m = saved;
		}
		break;
	case 5:
		if (s.depth > 0)
			return false;
		break;
	case 6:
		if ((op & 0x40) && (rc = dobj_storage_delete_all(&s.t.ctx)) == DOBJ_OK)
			s.m.n = 0;
		else if (op & 0x40)
			FX_CHECK(rc == DOBJ_RESOURCE_EXHAUSTED);
		break;
	default:
		check_all();
		break;
	}
	return true;
}

static dobj_err
run(dobj_ctx *ctx, void *arg)
{
	(void)ctx;
	while (step())
		;
	check_all();
	return arg != NULL ? *(const dobj_err *)arg : DOBJ_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	s.p = data;
	s.end = data + size;
	s.m.n = 0;
	s.depth = 0;
	fx_turn_open(&s.t, "KV", "fuzz", NULL);
	run(&s.t.ctx, NULL);
	fx_turn_close(&s.t);
	return 0;
}
