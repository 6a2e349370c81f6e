// SPDX-License-Identifier: MIT
// server.c - dobjd-codegen: dobjd with the classes generated from alltypes.proto (and Prefs,
// from proto2.proto). Store puts,
// reads and deletes each field of its Everything schema through the generated typed accessors,
// by field name; Echo answers with its argument. Store.Unset is left unimplemented on purpose.

#include <string.h>

#include <dobj/server.h>

#include "alltypes.dobj.h"
#include "proto2_class.h"

typedef Dobj__Test__Alltypes__Everything Everything;

/* field: the typed accessors of one field of Everything, by the field's name. */
typedef struct field {
	const char *name;
	dobj_err (*put)(dobj_ctx *ctx, const Everything *v);
	dobj_err (*get)(dobj_ctx *ctx, Everything *v);
	dobj_err (*del)(dobj_ctx *ctx, bool *existed);
} field;

/* SINGLE and REPEATED define put_<f>, get_<f> over the generated accessors of field f. */
#define SINGLE(f)                                                         \
	static dobj_err put_##f(dobj_ctx *ctx, const Everything *v)       \
	{                                                                 \
		return dobj_test_alltypes_everything_put_##f(ctx, v->f);  \
	}                                                                 \
	static dobj_err get_##f(dobj_ctx *ctx, Everything *v)             \
	{                                                                 \
		return dobj_test_alltypes_everything_get_##f(ctx, &v->f); \
	}
#define REPEATED(f)                                                                  \
	static dobj_err put_##f(dobj_ctx *ctx, const Everything *v)                  \
	{                                                                            \
		return dobj_test_alltypes_everything_put_##f(ctx, v->f, v->n_##f);   \
	}                                                                            \
	static dobj_err get_##f(dobj_ctx *ctx, Everything *v)                        \
	{                                                                            \
		return dobj_test_alltypes_everything_get_##f(ctx, &v->f, &v->n_##f); \
	}

SINGLE(f_int32)
SINGLE(f_int64)
SINGLE(f_uint32)
SINGLE(f_uint64)
SINGLE(f_sint32)
SINGLE(f_sint64)
SINGLE(f_fixed32)
SINGLE(f_fixed64)
SINGLE(f_sfixed32)
SINGLE(f_sfixed64)
SINGLE(f_float)
SINGLE(f_double)
SINGLE(f_bool)
SINGLE(f_string)
SINGLE(f_bytes)
SINGLE(f_enum)
SINGLE(f_point)
SINGLE(f_inner)
SINGLE(f_time)
REPEATED(r_int32)
REPEATED(r_double)
REPEATED(r_bool)
REPEATED(r_string)
REPEATED(r_bytes)
REPEATED(r_enum)
REPEATED(r_point)

#define FIELD(f)                                                \
	{                                                       \
		.name = #f, .put = put_##f, .get = get_##f,     \
		.del = dobj_test_alltypes_everything_delete_##f \
	}

static const field fields[] = {
    FIELD(f_int32),  FIELD(f_int64),   FIELD(f_uint32),  FIELD(f_uint64),   FIELD(f_sint32),
    FIELD(f_sint64), FIELD(f_fixed32), FIELD(f_fixed64), FIELD(f_sfixed32), FIELD(f_sfixed64),
    FIELD(f_float),  FIELD(f_double),  FIELD(f_bool),    FIELD(f_string),   FIELD(f_bytes),
    FIELD(f_enum),   FIELD(f_point),   FIELD(f_inner),   FIELD(f_time),     FIELD(r_int32),
    FIELD(r_double), FIELD(r_bool),    FIELD(r_string),  FIELD(r_bytes),    FIELD(r_enum),
    FIELD(r_point),
};

static const field *
field_find(const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* strs_alloc returns room for n string pointers from the turn. */
static char **
strs_alloc(dobj_ctx *ctx, size_t n)
{
	return dobj_ctx_alloc(ctx, (n > 0 ? n : 1) * sizeof(char *));
}

/* put_body: Store.Put's writes, in one typed transaction (all or nothing). */
typedef struct put_args {
	const Dobj__Test__Alltypes__PutRequest *req;
	Dobj__Test__Alltypes__PutReply *rep;
} put_args;

static dobj_err
put_body(dobj_ctx *ctx, void *arg)
{
	put_args *a = arg;
	Everything empty = DOBJ__TEST__ALLTYPES__EVERYTHING__INIT;
	const Everything *v = a->req->values != NULL ? a->req->values : &empty;
	dobj_err rc;

	for (size_t i = 0; i < a->req->n_fields; i++) {
		const field *f = field_find(a->req->fields[i]);

		if (f == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "no field %s",
			                       a->req->fields[i]);
		if ((rc = f->put(ctx, v)) != DOBJ_OK)
			return rc;
	}
	a->rep->existed = strs_alloc(ctx, a->req->n_deletes);
	if (a->rep->existed == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < a->req->n_deletes; i++) {
		const field *f = field_find(a->req->deletes[i]);
		bool existed;

		if (f == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "no field %s",
			                       a->req->deletes[i]);
		if ((rc = f->del(ctx, &existed)) != DOBJ_OK)
			return rc;
		if (existed)
			a->rep->existed[a->rep->n_existed++] = a->req->deletes[i];
	}
	return DOBJ_OK;
}

static dobj_err
store_put(dobj_ctx *ctx, const Dobj__Test__Alltypes__PutRequest *req,
          Dobj__Test__Alltypes__PutReply *rep)
{
	put_args a = {.req = req, .rep = rep};

	return dobj_test_alltypes_everything_transaction(ctx, put_body, &a);
}

static dobj_err
store_get(dobj_ctx *ctx, const Dobj__Test__Alltypes__GetRequest *req,
          Dobj__Test__Alltypes__GetReply *rep)
{
	Everything *v;
	dobj_err rc;

	if (req->n_fields == 0)
		return dobj_test_alltypes_everything_load(ctx, &rep->values);
	if ((v = dobj_ctx_alloc(ctx, sizeof(*v))) == NULL ||
	    (rep->missing = strs_alloc(ctx, req->n_fields)) == NULL)
		return DOBJ_RESOURCE_EXHAUSTED;
	dobj__test__alltypes__everything__init(v);
	rep->values = v;
	for (size_t i = 0; i < req->n_fields; i++) {
		const field *f = field_find(req->fields[i]);

		if (f == NULL)
			return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "no field %s",
			                       req->fields[i]);
		rc = f->get(ctx, v);
		if (rc == DOBJ_NOT_FOUND)
			rep->missing[rep->n_missing++] = req->fields[i];
		else if (rc != DOBJ_OK)
			return rc;
	}
	return DOBJ_OK;
}

static dobj_err
echo_echo(dobj_ctx *ctx, const Dobj__Test__Alltypes__EchoRequest *req,
          Dobj__Test__Alltypes__EchoRequest *rep)
{
	(void)ctx;
	rep->text = req->text;
	rep->point = req->point;
	return DOBJ_OK;
}

static const dobj_test_alltypes_store_handlers store = {.put = store_put, .get = store_get};
static const dobj_test_alltypes_echo_handlers echo = {.echo = echo_echo, .http_get = echo_echo};

int
main(int argc, char **argv)
{
	static dobj_class classes[3];
	static const dobj_class *const list[] = {&classes[0], &classes[1], &classes[2]};

	classes[0] = dobj_test_alltypes_store_class(&store);
	classes[1] = dobj_test_alltypes_echo_class(&echo);
	classes[2] = p2_prefs_class(&proto2_prefs);
	return dobj_server_main(argc, argv, list, 3);
}
