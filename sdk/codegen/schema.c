// SPDX-License-Identifier: MIT
// schema.c - the storage schema emitter: for each message marked (dobj.storage_schema), typed
// get/put/delete per field over dobj/typed.h (the value under a key is the schema message with
// only that field set), load (every field as one message) and transaction. Fields that have
// no such mapping (map<>, oneof, required, groups) or whose key dobj/typed.h reserves (starts
// with "__") are refused with an error naming them.

#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* schema: one storage schema message being emitted. */
typedef struct schema {
	const PbMessage *m;
	const char *path;  /* "Everything", or "Outer.Inner" for a nested message */
	const char *base;  /* prefix + snake name: "dobj_test_alltypes_everything" */
	const char *local; /* snake name, for the file-local loader */
	const dobj__type *type;
	bool proto2;
} schema;

/* fld: one field of a schema and the C types of its accessors. */
typedef struct fld {
	const PbField *f;
	const char *member; /* protobuf-c's struct member */
	const char *acc;    /* accessor suffix: the field name in lower case */
	const char *elem;   /* C type of one value: "int32_t", "char *", "Pkg__Point *" */
	bool repeated;
	bool has_flag; /* protobuf-c keeps a has_<member> flag */
	bool pointer;  /* elem is a pointer (strings and messages) */
} fld;

/* ptr appends one level of pointer to a C type: "int32_t" -> "int32_t *", "char *" -> "char **". */
static const char *
ptr(const char *type)
{
	return type[strlen(type) - 1] == '*' ? dobj__strf("%s*", type) : dobj__strf("%s *", type);
}

/* decl joins a C type and a name: ("char *", "out") -> "char *out". */
static const char *
decl(const char *type, const char *name)
{
	return type[strlen(type) - 1] == '*' ? dobj__strf("%s%s", type, name)
	                                     : dobj__strf("%s %s", type, name);
}

static const char *
schema_scalar(Google__Protobuf__FieldDescriptorProto__Type t)
{
	switch (t) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
		return "double";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
		return "float";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
		return "int64_t";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
		return "uint64_t";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
		return "int32_t";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
		return "uint32_t";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
		return "protobuf_c_boolean";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
		return "char *";
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
		return "ProtobufCBinaryData";
	default:
		return NULL;
	}
}

/* schema_field maps one field, or fails naming it. */
static int
schema_field(dobj__gen *g, const schema *sc, const PbField *f, fld *out)
{
	const dobj__type *ty = NULL;
	bool optional = f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL;
	bool p3opt = f->has_proto3_optional && f->proto3_optional;

	memset(out, 0, sizeof(*out));
	out->f = f;
	out->member = dobj__names_member(f->name);
	out->acc = dobj__names_member(f->name);
	out->repeated = f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
	/* the field's name is its storage key: not one of those dobj/typed.h reserves */
	if (strncmp(f->name, "__", 2) == 0)
		return dobj__gen_fail(g,
		                      "message %s, field %s: storage keys starting with \"__\" are "
		                      "reserved for dobj's helpers (alarm router, state machine); "
		                      "write such a key with dobj_storage_put",
		                      sc->path, f->name);
	if (f->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED)
		return dobj__gen_fail(g,
		                      "message %s, field %s: required fields are not supported in "
		                      "a storage schema",
		                      sc->path, f->name);
	if (f->has_oneof_index && !p3opt)
		return dobj__gen_fail(g,
		                      "message %s, field %s: oneof fields are not supported in a "
		                      "storage schema",
		                      sc->path, f->name);
	switch (f->type) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP:
		return dobj__gen_fail(g,
		                      "message %s, field %s: groups are not supported in a storage "
		                      "schema",
		                      sc->path, f->name);
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM:
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE:
		if ((ty = dobj__names_type(f->type_name)) == NULL)
			return dobj__gen_fail(g, "message %s, field %s: unknown type %s", sc->path,
			                      f->name, f->type_name);
		if (ty->msg != NULL && ty->msg->options != NULL &&
		    ty->msg->options->has_map_entry && ty->msg->options->map_entry)
			return dobj__gen_fail(
			    g,
			    "message %s, field %s: map<> fields are not supported "
			    "in a storage schema",
			    sc->path, f->name);
		out->elem = ty->msg != NULL ? dobj__strf("%s *", ty->ctype) : ty->ctype;
		break;
	default:
		if ((out->elem = schema_scalar(f->type)) == NULL)
			return dobj__gen_fail(g, "message %s, field %s: type %d has no C mapping",
			                      sc->path, f->name, (int)f->type);
	}
	out->pointer = out->elem[strlen(out->elem) - 1] == '*';
	/* protobuf-c: proto2 optional (and proto3 `optional`) scalars, enums and bytes. */
	out->has_flag = optional && !out->pointer && (sc->proto2 || p3opt);
	return 0;
}

/* schema_claim_field claims the accessors of one field. */
static int
schema_claim_field(dobj__gen *g, const schema *sc, const fld *d)
{
	const char *owner = dobj__strf("message %s, field %s", sc->path, d->f->name);
	static const char *const verb[] = {"get", "put", "delete"};

	for (size_t i = 0; i < sizeof(verb) / sizeof(verb[0]); i++)
		if (dobj__gen_claim(g, owner, dobj__strf("%s_%s_%s", sc->base, verb[i], d->acc)) !=
		    0)
			return -1;
	return 0;
}

/* schema_claim claims the schema's own functions. */
static int
schema_claim(dobj__gen *g, const schema *sc)
{
	const char *owner = dobj__strf("message %s", sc->path);

	if (dobj__gen_claim(g, owner, dobj__strf("%s_load", sc->base)) != 0 ||
	    dobj__gen_claim(g, owner, dobj__strf("%s_transaction", sc->base)) != 0)
		return -1;
	return dobj__gen_claim(g, owner, dobj__strf("load_%s", sc->local));
}

static void
schema_decl_field(dobj__gen *g, const schema *sc, const fld *d)
{
	const char *key = d->f->name;
	const char *get = dobj__strf("%s_get_%s", sc->base, d->acc);
	const char *put = dobj__strf("%s_put_%s", sc->base, d->acc);
	const char *del = dobj__strf("%s_delete_%s", sc->base, d->acc);

	dobj__text_printf(&g->h, "\n");
	if (d->repeated) {
		dobj__text_comment(
		    &g->h, 0,
		    "%s points *items at the %s values stored under key \"%s\" and sets "
		    "*n to their count (NULL and 0 unless DOBJ_OK).",
		    get, d->elem, key);
		dobj__text_decl(&g->h, "dobj_err", get,
		                (const char *const[]){
		                    "dobj_ctx *ctx", decl(ptr(ptr(d->elem)), "items"), "size_t *n"},
		                3);
		dobj__text_printf(&g->h, "\n");
		dobj__text_comment(&g->h, 0, "%s stores the n values at items under key \"%s\".",
		                   put, key);
		dobj__text_decl(&g->h, "dobj_err", put,
		                (const char *const[]){"dobj_ctx *ctx",
		                                      d->pointer
		                                          ? decl(d->elem, "const *items")
		                                          : dobj__strf("const %s *items", d->elem),
		                                      "size_t n"},
		                3);
	} else {
		const char *in = decl(d->elem, "value");

		if (d->pointer)
			in = dobj__strf("const %s", in);
		dobj__text_comment(&g->h, 0,
		                   "%s reads the value under key \"%s\" into *out (unchanged "
		                   "unless DOBJ_OK).",
		                   get, key);
		dobj__text_decl(&g->h, "dobj_err", get,
		                (const char *const[]){"dobj_ctx *ctx", decl(ptr(d->elem), "out")},
		                2);
		dobj__text_printf(&g->h, "\n");
		dobj__text_comment(&g->h, 0, "%s stores value under key \"%s\".", put, key);
		dobj__text_decl(&g->h, "dobj_err", put, (const char *const[]){"dobj_ctx *ctx", in},
		                2);
	}
	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(
	    &g->h, 0,
	    "%s removes key \"%s\"; *existed (NULL is allowed) says whether it had a "
	    "value.",
	    del, key);
	dobj__text_decl(&g->h, "dobj_err", del,
	                (const char *const[]){"dobj_ctx *ctx", "bool *existed"}, 2);
}

static void
schema_def_field(dobj__gen *g, const schema *sc, const fld *d)
{
	const char *key = dobj__strf("\"%s\"", d->f->name);
	const char *load = dobj__strf("rc = load_%s(", sc->local);
	const char *ct = sc->type->ctype;

	dobj__text_printf(&g->c, "\ndobj_err\n");
	if (d->repeated) {
		dobj__text_list(&g->c, 0, dobj__strf("%s_get_%s(", sc->base, d->acc),
		                (const char *const[]){
		                    "dobj_ctx *ctx", decl(ptr(ptr(d->elem)), "items"), "size_t *n"},
		                3, ")");
		dobj__text_printf(&g->c, "{\n\t%s *v;\n\tdobj_err rc;\n\n", ct);
		dobj__text_list(&g->c, 1, load, (const char *const[]){"ctx", key, "&v"}, 3, ");");
		dobj__text_printf(&g->c, "\t*items = rc == DOBJ_OK ? v->%s : NULL;\n", d->member);
		dobj__text_printf(&g->c, "\t*n = rc == DOBJ_OK ? v->n_%s : 0;\n", d->member);
		dobj__text_printf(&g->c, "\treturn rc;\n}\n");

		dobj__text_printf(&g->c, "\ndobj_err\n");
		dobj__text_list(&g->c, 0, dobj__strf("%s_put_%s(", sc->base, d->acc),
		                (const char *const[]){"dobj_ctx *ctx",
		                                      d->pointer
		                                          ? decl(d->elem, "const *items")
		                                          : dobj__strf("const %s *items", d->elem),
		                                      "size_t n"},
		                3, ")");
		dobj__text_printf(&g->c, "{\n\t%s m = %s__INIT;\n\n", ct, sc->type->upper);
		dobj__text_printf(&g->c, "\tm.n_%s = n;\n", d->member);
		dobj__text_printf(&g->c, "\tm.%s = (%s)items;\n", d->member, ptr(d->elem));
	} else {
		const char *in = decl(d->elem, "value");

		if (d->pointer)
			in = dobj__strf("const %s", in);
		dobj__text_list(&g->c, 0, dobj__strf("%s_get_%s(", sc->base, d->acc),
		                (const char *const[]){"dobj_ctx *ctx", decl(ptr(d->elem), "out")},
		                2, ")");
		dobj__text_printf(&g->c, "{\n\t%s *v;\n\tdobj_err rc;\n\n", ct);
		dobj__text_list(&g->c, 1, load, (const char *const[]){"ctx", key, "&v"}, 3, ");");
		dobj__text_printf(&g->c, "\tif (rc == DOBJ_OK)\n\t\t*out = v->%s;\n", d->member);
		dobj__text_printf(&g->c, "\treturn rc;\n}\n");

		dobj__text_printf(&g->c, "\ndobj_err\n");
		dobj__text_list(&g->c, 0, dobj__strf("%s_put_%s(", sc->base, d->acc),
		                (const char *const[]){"dobj_ctx *ctx", in}, 2, ")");
		dobj__text_printf(&g->c, "{\n\t%s m = %s__INIT;\n\n", ct, sc->type->upper);
		if (d->pointer)
			dobj__text_printf(&g->c, "\tm.%s = (%s)value;\n", d->member, d->elem);
		else
			dobj__text_printf(&g->c, "\tm.%s = value;\n", d->member);
		if (d->has_flag)
			dobj__text_printf(&g->c, "\tm.has_%s = 1;\n", d->member);
	}
	dobj__text_printf(&g->c, "\treturn dobj_typed_store(ctx, %s, &m.base);\n}\n", key);

	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s_delete_%s(", sc->base, d->acc),
	                (const char *const[]){"dobj_ctx *ctx", "bool *existed"}, 2, ")");
	dobj__text_printf(&g->c, "{\n\treturn dobj_storage_delete(ctx, %s, existed);\n}\n", key);
}

static void
schema_whole(dobj__gen *g, const schema *sc)
{
	const char *ct = sc->type->ctype;
	const char *desc = dobj__strf("&%s__descriptor", sc->type->lower);

	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(
	    &g->h, 0,
	    "%s_load reads every stored field of %s into *out, one message allocated "
	    "from the turn (typed list); fields without a key are unset.",
	    sc->base, sc->path);
	dobj__text_decl(&g->h, "dobj_err", dobj__strf("%s_load", sc->base),
	                (const char *const[]){"dobj_ctx *ctx", dobj__strf("%s **out", ct)}, 2);
	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(&g->h, 0,
	                   "%s_transaction runs fn(ctx, arg) with a write set of its own: an error "
	                   "from fn discards exactly the writes made inside it, and is returned.",
	                   sc->base);
	dobj__text_decl(&g->h, "dobj_err", dobj__strf("%s_transaction", sc->base),
	                (const char *const[]){"dobj_ctx *ctx", "dobj_txn_fn fn", "void *arg"}, 3);

	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s_load(", sc->base),
	                (const char *const[]){"dobj_ctx *ctx", dobj__strf("%s **out", ct)}, 2, ")");
	dobj__text_printf(&g->c, "{\n\tProtobufCMessage *m;\n\tdobj_err rc;\n\n");
	dobj__text_list(&g->c, 1, "rc = dobj_typed_load_all(",
	                (const char *const[]){"ctx", desc, "&m"}, 3, ");");
	dobj__text_printf(&g->c, "\t*out = (%s *)m;\n\treturn rc;\n}\n", ct);
	dobj__text_printf(&g->c, "\ndobj_err\n");
	dobj__text_list(&g->c, 0, dobj__strf("%s_transaction(", sc->base),
	                (const char *const[]){"dobj_ctx *ctx", "dobj_txn_fn fn", "void *arg"}, 3,
	                ")");
	dobj__text_printf(&g->c, "{\n\treturn dobj_storage_transaction(ctx, fn, arg);\n}\n");
}

/* schema_loader writes the file-local loader the getters share: load_<local>(ctx, key, &out). */
static void
schema_loader(dobj__gen *g, const schema *sc)
{
	const char *ct = sc->type->ctype;

	dobj__text_printf(&g->c, "\n");
	dobj__text_comment(&g->c, 0, "load_%s decodes the value under key as a %s.", sc->local,
	                   sc->type->full);
	dobj__text_printf(&g->c, "static dobj_err\n");
	dobj__text_list(
	    &g->c, 0, dobj__strf("load_%s(", sc->local),
	    (const char *const[]){"dobj_ctx *ctx", "const char *key", dobj__strf("%s **out", ct)},
	    3, ")");
	dobj__text_printf(&g->c, "{\n\tProtobufCMessage *m;\n\tdobj_err rc;\n\n");
	dobj__text_list(&g->c, 1, "rc = dobj_typed_load(",
	                (const char *const[]){"ctx", "key",
	                                      dobj__strf("&%s__descriptor", sc->type->lower), "&m"},
	                4, ");");
	dobj__text_printf(&g->c, "\t*out = (%s *)m;\n\treturn rc;\n}\n", ct);
}

static int
schema_emit_one(dobj__gen *g, const PbMessage *m, const char *path, const char *full)
{
	schema sc = {.m = m, .path = path};
	const char *syntax = g->file->syntax;
	fld *flds;

	sc.proto2 = syntax == NULL || strcmp(syntax, "proto2") == 0 || *syntax == '\0';
	sc.local = dobj__names_snake(path);
	for (char *p = (char *)sc.local; *p != '\0'; p++)
		if (*p == '.')
			*p = '_';
	sc.base = dobj__strf("%s%s", g->prefix, sc.local);
	if ((sc.type = dobj__names_type(full)) == NULL)
		return dobj__gen_fail(g, "message %s: not in the request's type table", path);
	if ((flds = calloc(m->n_field + 1, sizeof(*flds))) == NULL)
		dobj__fatal("out of memory");
	for (size_t i = 0; i < m->n_field; i++) {
		if (schema_field(g, &sc, m->field[i], &flds[i]) != 0 ||
		    schema_claim_field(g, &sc, &flds[i]) != 0) {
			free(flds);
			return -1;
		}
	}
	if (schema_claim(g, &sc) != 0) {
		free(flds);
		return -1;
	}

	dobj__text_printf(&g->h, "\n");
	dobj__text_comment(
	    &g->h, 0,
	    "Typed storage of %s, the storage schema %s: each field is one storage key "
	    "named after the field, holding the schema message with only that field "
	    "set. A get answers DOBJ_NOT_FOUND when its key has no value, which is how "
	    "a missing field differs from a zero value; what it returns points into the "
	    "turn's memory, valid until the handler returns. Writes commit with the "
	    "turn.",
	    sc.base, sc.type->full);

	/* the per-key loader serves the fields' getters only: without fields it would be unused */
	if (m->n_field > 0)
		schema_loader(g, &sc);

	for (size_t i = 0; i < m->n_field; i++) {
		schema_decl_field(g, &sc, &flds[i]);
		schema_def_field(g, &sc, &flds[i]);
	}
	schema_whole(g, &sc);
	free(flds);
	return 0;
}

/* schema_walk emits m if it is marked, then its nested messages, in the .proto's order. */
static int
schema_walk(dobj__gen *g, const PbMessage *m, const char *path, const char *full)
{
	bool marked = false;

	if (dobj__options_bool((const ProtobufCMessage *)m->options, DOBJ__OPT_STORAGE_SCHEMA,
	                       &marked) &&
	    marked && schema_emit_one(g, m, path, full) != 0)
		return -1;
	for (size_t i = 0; i < m->n_nested_type; i++) {
		const PbMessage *n = m->nested_type[i];

		if (schema_walk(g, n, dobj__strf("%s.%s", path, n->name),
		                dobj__strf("%s.%s", full, n->name)) != 0)
			return -1;
	}
	return 0;
}

int
dobj__schema_emit(dobj__gen *g)
{
	const char *pkg = g->file->package;

	for (size_t i = 0; i < g->file->n_message_type; i++) {
		const PbMessage *m = g->file->message_type[i];
		const char *full =
		    pkg != NULL && *pkg ? dobj__strf("%s.%s", pkg, m->name) : m->name;

		if (schema_walk(g, m, m->name, full) != 0)
			return -1;
	}
	return 0;
}
