// SPDX-License-Identifier: MIT
// names.c - C names. protobuf-c's names for the request's messages and enums (Pkg__Sub__Msg
// types, pkg__sub__msg__* functions, PKG__SUB__MSG__INIT), protobuf-c's struct member names,
// and the snake_case of dobj's generated names. Must agree with protoc-c, which compiles the
// same files: see ToCamel, CamelToLower and FieldName in protobuf-c's c_helpers.cc.

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* protobuf-c's keyword list (C and C++), plus C99's "restrict": a field named like one gets a
 * trailing "_" in protobuf-c's structs, and so do dobj's own names made from .proto names. */
static const char *const names_keywords[] = {
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "class",
    "compl",
    "const",
    "const_cast",
    "continue",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "not",
    "not_eq",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
};

/* The type table of the request: every message and enum of every file, nested ones too. */
static dobj__type *types;
static size_t ntypes, captypes;

/* names_join converts each dot-separated piece of full with conv and joins them with "__". */
static const char *
names_join(const char *full, void (*conv)(dobj__text *, const char *, size_t))
{
	dobj__text t = {0};
	const char *p = full, *out;

	dobj__text_printf(&t, "%s", "");
	while (*p != '\0') {
		size_t n = strcspn(p, ".");

		if (n > 0) {
			if (t.len > 0)
				dobj__text_printf(&t, "__");
			conv(&t, p, n);
		}
		p += n;
		if (*p == '.')
			p++;
	}
	out = dobj__strf("%s", t.buf);
	dobj__text_fini(&t);
	return out;
}

/* ToCamel: "foo_bar" -> "FooBar" (the first letter and each one after "_" in upper case). */
static void
names_camel(dobj__text *t, const char *s, size_t n)
{
	bool up = true;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			up = true;
		} else {
			dobj__text_printf(t, "%c", up ? toupper((unsigned char)s[i]) : s[i]);
			up = false;
		}
	}
}

/* CamelToLower / CamelToUpper: "FooBar" -> "foo_bar" / "FOO_BAR"; "_" only before an upper
 * case letter that follows a letter that is not upper case. */
static void
names_camel_to(dobj__text *t, const char *s, size_t n, bool upper)
{
	bool was_upper = true;

	for (size_t i = 0; i < n; i++) {
		bool is_upper = isupper((unsigned char)s[i]) != 0;
		int c = upper ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i]);

		if (is_upper && !was_upper)
			dobj__text_printf(t, "_");
		dobj__text_printf(t, "%c", c);
		was_upper = is_upper;
	}
}

static void
names_camel_lower(dobj__text *t, const char *s, size_t n)
{
	names_camel_to(t, s, n, false);
}

static void
names_camel_upper(dobj__text *t, const char *s, size_t n)
{
	names_camel_to(t, s, n, true);
}

static void
names_add(const char *full, const PbMessage *msg, const PbFile *file)
{
	dobj__type *ty;

	if (ntypes == captypes) {
		size_t cap = captypes ? captypes * 2 : 64;
		dobj__type *p = realloc(types, cap * sizeof(*p));

		if (p == NULL)
			dobj__fatal("out of memory");
		types = p;
		captypes = cap;
	}
	ty = &types[ntypes++];
	ty->full = full;
	ty->ctype = names_join(full, names_camel);
	ty->lower = names_join(full, names_camel_lower);
	ty->upper = names_join(full, names_camel_upper);
	ty->msg = msg;
	ty->file = file;
}

static void
names_index_message(const char *scope, const PbMessage *m, const PbFile *file)
{
	const char *full = *scope ? dobj__strf("%s.%s", scope, m->name) : m->name;

	names_add(full, m, file);
	for (size_t i = 0; i < m->n_nested_type; i++)
		names_index_message(full, m->nested_type[i], file);
	for (size_t i = 0; i < m->n_enum_type; i++)
		names_add(dobj__strf("%s.%s", full, m->enum_type[i]->name), NULL, file);
}

void
dobj__names_fini(void)
{
	free(types);
	types = NULL;
	ntypes = captypes = 0;
}

void
dobj__names_index(const PbRequest *req)
{
	dobj__names_fini();
	for (size_t f = 0; f < req->n_proto_file; f++) {
		const PbFile *file = req->proto_file[f];
		const char *pkg = file->package ? file->package : "";

		for (size_t i = 0; i < file->n_message_type; i++)
			names_index_message(pkg, file->message_type[i], file);
		for (size_t i = 0; i < file->n_enum_type; i++)
			names_add(*pkg ? dobj__strf("%s.%s", pkg, file->enum_type[i]->name)
			               : file->enum_type[i]->name,
			          NULL, file);
	}
}

const dobj__type *
dobj__names_type(const char *type_name)
{
	if (type_name == NULL)
		return NULL;
	if (type_name[0] == '.')
		type_name++;
	for (size_t i = 0; i < ntypes; i++)
		if (strcmp(types[i].full, type_name) == 0)
			return &types[i];
	return NULL;
}

const char *
dobj__names_snake(const char *name)
{
	dobj__text t = {0};
	const char *out;
	size_t n = strlen(name);

	dobj__text_printf(&t, "%s", "");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (isupper(c) && i > 0 && t.buf[t.len - 1] != '_') {
			unsigned char prev = (unsigned char)name[i - 1];
			unsigned char next = (unsigned char)name[i + 1];

			if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
				dobj__text_printf(&t, "_");
		}
		dobj__text_printf(&t, "%c", tolower(c));
	}
	out = dobj__strf("%s", t.buf);
	dobj__text_fini(&t);
	return out;
}

const char *
dobj__names_upper(const char *s)
{
	char *out = dobj__strf("%s", s);

	for (char *p = out; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	return out;
}

const char *
dobj__names_ident(const char *name)
{
	for (size_t i = 0; i < sizeof(names_keywords) / sizeof(names_keywords[0]); i++)
		if (strcmp(name, names_keywords[i]) == 0)
			return dobj__strf("%s_", name);
	return name;
}

const char *
dobj__names_member(const char *field_name)
{
	char *lower = dobj__strf("%s", field_name);

	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return dobj__names_ident(lower);
}
