/* SPDX-License-Identifier: MIT */
/* codegen.h - what protoc-gen-dobj's parts share: short names for protobuf-c's descriptor types,
 * the type table of a request, and the state of the file being generated. */
#ifndef DOBJ_CODEGEN_H
#define DOBJ_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/compiler/plugin.pb-c.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "text.h"

/* Short names for the descriptor messages of protobuf-c's descriptor.pb-c.h. */
typedef Google__Protobuf__FileDescriptorProto PbFile;
typedef Google__Protobuf__DescriptorProto PbMessage;
typedef Google__Protobuf__FieldDescriptorProto PbField;
typedef Google__Protobuf__EnumDescriptorProto PbEnum;
typedef Google__Protobuf__ServiceDescriptorProto PbService;
typedef Google__Protobuf__MethodDescriptorProto PbMethod;
typedef Google__Protobuf__Compiler__CodeGeneratorRequest PbRequest;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse PbResponse;

/* dobj__type: a message or enum of the request, with protobuf-c's C names for it. */
typedef struct dobj__type {
	const char *full;     /* "dobj.test.Point" (no leading dot) */
	const char *ctype;    /* "Dobj__Test__Point": the struct or enum type */
	const char *lower;    /* "dobj__test__point": prefix of its functions and descriptor */
	const char *upper;    /* "DOBJ__TEST__POINT": prefix of its INIT macro */
	const PbMessage *msg; /* NULL for an enum */
	const PbFile *file;
} dobj__type;

/* dobj__gen: the file being generated. */
typedef struct dobj__gen {
	const PbRequest *req;
	const PbFile *file;
	const char *base;   /* the file's name without ".proto": "dir/alltypes" */
	const char *prefix; /* prefix of generated C names: "dobj_test_alltypes_" */
	dobj__text h;       /* the .dobj.h being written */
	dobj__text c;       /* the .dobj.c being written */
	char *error;        /* the first error, NULL while there is none */
	/* every C name the file defines, with what defines it (dobj__gen_claim) */
	struct dobj__gen_name {
		const char *name, *owner;
	} * names;
	size_t nnames, names_cap;
} dobj__gen;

/* dobj__gen_fail records "<file>: <message>" as g's error (the first one wins) and returns -1. */
int dobj__gen_fail(dobj__gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dobj__gen_claim records that owner ("service Store, rpc Get") defines the C name name: -1,
 * with g's error set, if something else in the file defines it too (names from the .proto
 * that differ there can meet in C: HTTPGet and HttpGet, Foo.BarBaz and FooBar.Baz). */
int dobj__gen_claim(dobj__gen *g, const char *owner, const char *name);

/* dobj__io_read_request reads and decodes the CodeGeneratorRequest on stdin. Free with
 * google__protobuf__compiler__code_generator_request__free_unpacked(*out, NULL). */
int dobj__io_read_request(PbRequest **out);

/* dobj__io_write_response encodes resp onto stdout; -1 if it could not be written. */
int dobj__io_write_response(const PbResponse *resp);

/* dobj__names_index builds the table of every message and enum in req (once per run). */
void dobj__names_index(const PbRequest *req);

/* dobj__names_fini frees the type table. */
void dobj__names_fini(void);

/* dobj__names_type finds a type by its name in a field (".pkg.Msg"); NULL if unknown. */
const dobj__type *dobj__names_type(const char *type_name);

/* dobj__names_snake turns "HTTPGet" or "KitchenSink" into "http_get" or "kitchen_sink". */
const char *dobj__names_snake(const char *name);

/* dobj__names_upper returns s in upper case. */
const char *dobj__names_upper(const char *s);

/* dobj__names_member returns protobuf-c's struct member name of a field (lower case, a C or
 * C++ keyword gets a trailing underscore). */
const char *dobj__names_member(const char *field_name);

/* dobj__names_ident returns name, with a trailing underscore if it is a C or C++ keyword. */
const char *dobj__names_ident(const char *name);

/* dobj__options_bool reads extension `tag` (a varint) of an options message into *out;
 * false when it is absent. */
bool dobj__options_bool(const ProtobufCMessage *opts, uint32_t tag, bool *out);

/* dobj__options_string reads extension `tag` (a string) of an options message; NULL when
 * it is absent. */
const char *dobj__options_string(const ProtobufCMessage *opts, uint32_t tag);

#define DOBJ__OPT_STORAGE_SCHEMA 50100 /* MessageOptions: bool */
#define DOBJ__OPT_CLASS_NAME 50101     /* ServiceOptions: string */
#define DOBJ__OPT_C_PREFIX 50102       /* FileOptions: string */

/* dobj__service_emit writes the client stubs, handler table, dispatch and registration of
 * every service of g's file (helpers once, before the first). -1 on error (in g->error). */
int dobj__service_emit(dobj__gen *g);

/* dobj__schema_emit writes the typed storage accessors of every message of g's file marked
 * as a storage schema. -1 on error (in g->error). */
int dobj__schema_emit(dobj__gen *g);

#endif /* DOBJ_CODEGEN_H */
