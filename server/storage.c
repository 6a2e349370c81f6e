// SPDX-License-Identifier: MIT
// storage.c - the object storage API (dobj/storage.h) over a live object's cache.
// Validates every argument against the limits before touching anything, reads keys that a
// partially loaded object does not hold through the shard's connection, and records every
// write in the turn's undo log. Durability is the shard's business (shard.c, gate.c).

#include <string.h>

#include <dobj/storage.h>

#include "ctx.h"
#include "object.h"
#include "pgstore.h"
#include "registry.h"
#include "utf8.h"

static dobj_err
check_key(dobj_ctx *ctx, const char *op, const char *key, size_t *klen)
{
	size_t len;

	if (key == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "%s: key must not be NULL", op);
	len = strnlen(key, ctx->limits->key_max + 1);
	if (len > ctx->limits->key_max)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "%s: key of %zu bytes exceeds the limit of %zu bytes", op,
		                       strlen(key), ctx->limits->key_max);
	if (!dobj__utf8_valid(key, len))
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "%s: key is not valid UTF-8",
		                       op);
	if (klen != NULL)
		*klen = len;
	return DOBJ_OK;
}

static dobj_err
check_value(dobj_ctx *ctx, const char *op, const char *key, const void *value, size_t len)
{
	if (value == NULL && len > 0)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "%s: value of key \"%.64s\" is NULL", op, key);
	if (len > ctx->limits->value_max)
		return dobj_ctx_errorf(
		    ctx, DOBJ_INVALID_ARGUMENT,
		    "%s: value of %zu bytes for key \"%.64s\" exceeds the limit of "
		    "%zu bytes",
		    op, len, key, ctx->limits->value_max);
	return DOBJ_OK;
}

/* row_bytes: what writing one row adds to the batch's statements: its key and value, the
 * object's class and id, and the arrays' length words. */
static size_t
row_bytes(const dobj_ctx *ctx, size_t klen, size_t vlen)
{
	return klen + vlen + strlen(ctx->obj->cls->cls->name) + DOBJ_ID_SIZE + 16;
}

/* charge counts bytes of writes against the turn's DOBJ__TURN_WRITE_BYTES, refusing them past
 * it: nothing is written then. */
static dobj_err
charge(dobj_ctx *ctx, const char *op, size_t bytes)
{
	if (bytes > DOBJ__TURN_WRITE_BYTES - ctx->undo->write_bytes)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED,
		                       "%s: the turn's writes would exceed the limit of %zu MiB "
		                       "that one call may write",
		                       op, DOBJ__TURN_WRITE_BYTES >> 20);
	ctx->undo->write_bytes += bytes;
	return DOBJ_OK;
}

static dobj_err
check_many(dobj_ctx *ctx, const char *op, const void *arr, size_t n)
{
	if (n > 0 && arr == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "%s: NULL array of %zu keys", op,
		                       n);
	if (n > ctx->limits->many_max)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "%s: %zu keys exceed the limit of %zu keys per call", op, n,
		                       ctx->limits->many_max);
	return DOBJ_OK;
}

/* null_out refuses a NULL output argument, which the caller must give. */
static dobj_err
null_out(dobj_ctx *ctx, const char *op, const char *what)
{
	return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "%s: %s is NULL", op, what);
}

static dobj_err
oom(dobj_ctx *ctx, const char *op)
{
	return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "%s: out of memory", op);
}

/* lookup finds the value of a checked key, reading it from PostgreSQL if the object is
 * partial and the key is not cached. *e is NULL when the key has no value. */
static dobj_err
lookup(dobj_ctx *ctx, const char *op, const char *key, const dobj__entry **e)
{
	dobj__object *o = ctx->obj;
	size_t idx;
	char err[256];

	if (!dobj__object_find(o, key, &idx)) {
		if (o->complete) {
			*e = NULL;
			return DOBJ_OK;
		}
		dobj_err rc = dobj__pg_fetch_key(ctx->pg, o, key, err, sizeof(err));
		if (rc != DOBJ_OK)
			return dobj_ctx_errorf(ctx, rc, "%s: could not read key \"%.64s\": %s", op,
			                       key, err);
		dobj__object_find(o, key, &idx);
	}
	*e = o->entries[idx].present ? &o->entries[idx] : NULL;
	return DOBJ_OK;
}

dobj_err
dobj_storage_get(dobj_ctx *ctx, const char *key, dobj_bytes *out)
{
	const dobj__entry *e;
	dobj_err rc;

	if (out == NULL)
		return null_out(ctx, "get", "out");
	out->data = NULL;
	out->len = 0;
	if ((rc = check_key(ctx, "get", key, NULL)) != DOBJ_OK ||
	    (rc = lookup(ctx, "get", key, &e)) != DOBJ_OK)
		return rc;
	if (e == NULL)
		return DOBJ_NOT_FOUND;
	out->data = e->val;
	out->len = e->vlen;
	return DOBJ_OK;
}

dobj_err
dobj_storage_get_many(dobj_ctx *ctx, const char *const *keys, size_t n, dobj_bytes *out,
                      size_t *nfound)
{
	size_t found = 0;
	dobj_err rc;

	if ((rc = check_many(ctx, "get_many", keys, n)) != DOBJ_OK)
		return rc;
	if (n > 0 && out == NULL)
		return null_out(ctx, "get_many", "out");
	for (size_t i = 0; i < n; i++)
		if ((rc = check_key(ctx, "get_many", keys[i], NULL)) != DOBJ_OK)
			return rc;
	for (size_t i = 0; i < n; i++) {
		const dobj__entry *e;
		if ((rc = lookup(ctx, "get_many", keys[i], &e)) != DOBJ_OK)
			return rc;
		out[i].data = e ? e->val : NULL;
		out[i].len = e ? e->vlen : 0;
		found += e != NULL;
	}
	if (nfound != NULL)
		*nfound = found;
	return DOBJ_OK;
}

dobj_err
dobj_storage_put(dobj_ctx *ctx, const char *key, const void *value, size_t len)
{
	size_t klen;
	dobj_err rc;

	if ((rc = check_key(ctx, "put", key, &klen)) != DOBJ_OK ||
	    (rc = check_value(ctx, "put", key, value, len)) != DOBJ_OK ||
	    (rc = charge(ctx, "put", row_bytes(ctx, klen, len))) != DOBJ_OK)
		return rc;
	if (dobj__object_put(ctx->obj, ctx->undo, key, klen, value, len, true) != 0)
		return oom(ctx, "put");
	return DOBJ_OK;
}

dobj_err
dobj_storage_put_many(dobj_ctx *ctx, const dobj_kv *entries, size_t n)
{
	size_t mark = dobj__undo_mark(ctx->undo), bytes = 0, klen;
	dobj_err rc;

	if ((rc = check_many(ctx, "put_many", entries, n)) != DOBJ_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = check_key(ctx, "put_many", entries[i].key, &klen)) != DOBJ_OK ||
		    (rc = check_value(ctx, "put_many", entries[i].key, entries[i].value.data,
		                      entries[i].value.len)) != DOBJ_OK)
			return rc;
		bytes += row_bytes(ctx, klen, entries[i].value.len);
	}
	if ((rc = charge(ctx, "put_many", bytes)) != DOBJ_OK)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const dobj_kv *kv = &entries[i];
		if (dobj__object_put(ctx->obj, ctx->undo, kv->key, strlen(kv->key), kv->value.data,
		                     kv->value.len, true) != 0) {
			dobj__undo_rollback(ctx->undo, ctx->obj, mark);
			return oom(ctx, "put_many");
		}
	}
	return DOBJ_OK;
}

static dobj_err
delete_one(dobj_ctx *ctx, const char *op, const char *key, bool *existed)
{
	const dobj__entry *e;
	dobj_err rc;

	*existed = false;
	if ((rc = lookup(ctx, op, key, &e)) != DOBJ_OK)
		return rc;
	if (e == NULL)
		return DOBJ_OK;
	if ((rc = charge(ctx, op, row_bytes(ctx, strlen(key), 0))) != DOBJ_OK)
		return rc;
	if (dobj__object_put(ctx->obj, ctx->undo, key, strlen(key), NULL, 0, false) != 0)
		return oom(ctx, op);
	*existed = true;
	return DOBJ_OK;
}

dobj_err
dobj_storage_delete(dobj_ctx *ctx, const char *key, bool *existed)
{
	bool ex = false;
	dobj_err rc;

	if ((rc = check_key(ctx, "delete", key, NULL)) == DOBJ_OK)
		rc = delete_one(ctx, "delete", key, &ex);
	if (existed != NULL)
		*existed = ex;
	return rc;
}

dobj_err
dobj_storage_delete_many(dobj_ctx *ctx, const char *const *keys, size_t n, size_t *ndeleted)
{
	size_t mark = dobj__undo_mark(ctx->undo), count = 0;
	dobj_err rc;

	if ((rc = check_many(ctx, "delete_many", keys, n)) != DOBJ_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = check_key(ctx, "delete_many", keys[i], NULL)) != DOBJ_OK)
			return rc;
	for (size_t i = 0; i < n; i++) {
		bool ex;
		if ((rc = delete_one(ctx, "delete_many", keys[i], &ex)) != DOBJ_OK) {
			dobj__undo_rollback(ctx->undo, ctx->obj, mark);
			return rc;
		}
		count += ex;
	}
	if (ndeleted != NULL)
		*ndeleted = count;
	return DOBJ_OK;
}

static bool
has_prefix(const char *key, const char *prefix, size_t plen)
{
	return strncmp(key, prefix, plen) == 0;
}

/* list_range returns [*i0, *i1): the cached entries inside the options' key range. */
static void
list_range(const dobj__object *o, const char *lo, bool lo_after, const char *end,
           const char *prefix, size_t *i0, size_t *i1)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	size_t a = lo ? dobj__object_lower_bound(o, lo, lo_after) : 0;
	size_t b = end ? dobj__object_lower_bound(o, end, false) : o->n;

	if (prefix != NULL) {
		size_t k = a;
		while (k < b && has_prefix(o->entries[k].key, prefix, plen))
			k++;
		b = k;
	}
	*i0 = a;
	*i1 = b > a ? b : a;
}

dobj_err
dobj_storage_list(dobj_ctx *ctx, const dobj_list_opts *opts, dobj_kv **out, size_t *n)
{
	static const dobj_list_opts all;
	const dobj_list_opts *op = opts ? opts : &all;
	const char *lo = NULL, *bounds[4] = {op->prefix, op->start, op->start_after, op->end};
	dobj__object *o = ctx->obj;
	size_t i0, i1, count = 0, cap;
	bool lo_after = false;
	dobj_kv *res;
	dobj_err rc;

	if (out == NULL || n == NULL)
		return null_out(ctx, "list", out == NULL ? "out" : "n");
	*out = NULL;
	*n = 0;
	for (int i = 0; i < 4; i++)
		if (bounds[i] != NULL && (rc = check_key(ctx, "list", bounds[i], NULL)) != DOBJ_OK)
			return rc;
	if (op->start != NULL && op->start_after != NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "list: start and start_after cannot both be given");
	if (op->start != NULL) {
		lo = op->start;
	} else if (op->start_after != NULL) {
		lo = op->start_after;
		lo_after = true;
	}
	if (op->prefix != NULL && (lo == NULL || strcmp(op->prefix, lo) > 0)) {
		lo = op->prefix;
		lo_after = false;
	}

	list_range(o, lo, lo_after, op->end, op->prefix, &i0, &i1);
	if (!o->complete) {
		char err[256];
		size_t cached = i1 - i0, want = 0;

		/* each cached key can hide one stored row; a limit past what PostgreSQL's bigint
		 * LIMIT holds is no limit (and must not wrap round to a small one) */
		if (op->limit != 0 && op->limit <= (size_t)INT64_MAX - cached)
			want = op->limit + cached;
		rc = dobj__pg_fetch_range(ctx->pg, o, lo, lo_after, op->end, op->prefix,
		                          op->reverse, want, err, sizeof(err));
		if (rc != DOBJ_OK)
			return dobj_ctx_errorf(ctx, rc, "list: could not read keys: %s", err);
		list_range(o, lo, lo_after, op->end, op->prefix, &i0, &i1);
	}

	cap = i1 - i0;
	if (op->limit && op->limit < cap)
		cap = op->limit;
	if ((res = dobj_ctx_alloc(ctx, (cap ? cap : 1) * sizeof(*res))) == NULL)
		return oom(ctx, "list");
	for (size_t k = 0; k < i1 - i0 && count < cap; k++) {
		const dobj__entry *e = &o->entries[op->reverse ? i1 - 1 - k : i0 + k];
		if (!e->present)
			continue;
		res[count].key = e->key;
		res[count].value.data = e->val;
		res[count].value.len = e->vlen;
		count++;
	}
	*out = res;
	*n = count;
	return DOBJ_OK;
}

dobj_err
dobj_storage_delete_all(dobj_ctx *ctx)
{
	dobj_err rc = charge(ctx, "delete_all", row_bytes(ctx, 0, 0));

	if (rc != DOBJ_OK)
		return rc;
	if (dobj__object_clear(ctx->obj, ctx->undo) != 0)
		return oom(ctx, "delete_all");
	return DOBJ_OK;
}

dobj_err
dobj_storage_transaction(dobj_ctx *ctx, dobj_txn_fn fn, void *arg)
{
	size_t mark = dobj__undo_mark(ctx->undo);
	dobj_err rc;

	if (fn == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT,
		                       "transaction: fn must not be NULL");
	if ((rc = fn(ctx, arg)) != DOBJ_OK)
		dobj__undo_rollback(ctx->undo, ctx->obj, mark);
	return rc;
}
