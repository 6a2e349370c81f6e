/* SPDX-License-Identifier: MIT */
/* text.h - the generator's text printer and string pool. Output is shaped the way clang-format
 * (the repository's .clang-format: tabs, 100 columns) would leave it. */
#ifndef DOBJ_CODEGEN_TEXT_H
#define DOBJ_CODEGEN_TEXT_H

#include <stddef.h>

#define DOBJ__TEXT_COLUMNS 100

/* dobj__text: a growing buffer of generated text. Zero-initialise; free with dobj__text_fini. */
typedef struct dobj__text {
	char *buf;
	size_t len;
	size_t cap;
} dobj__text;

/* dobj__text_printf appends formatted text. Out of memory ends the process (dobj__fatal). */
void dobj__text_printf(dobj__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* dobj__text_comment appends a comment at `indent` tabs, word-wrapped to 100 columns: a
 * one-line comment when it fits, else "/" "* ..." and " * ..." lines closed on the last one. */
void dobj__text_comment(dobj__text *t, int indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* dobj__text_list appends head, the n args separated by ", ", then tail, then a newline: a
 * declaration or call packed like clang-format does (continuation lines aligned after head's
 * opening parenthesis, or 4 spaces in when that does not fit). */
void dobj__text_list(dobj__text *t, int indent, const char *head, const char *const *args, size_t n,
                     const char *tail);

/* dobj__text_decl appends the top-level declaration "ret name(args...);" the way clang-format
 * lays it out: the return type goes on a line of its own when that lets the parameters align
 * after the parenthesis. */
void dobj__text_decl(dobj__text *t, const char *ret, const char *name, const char *const *args,
                     size_t n);

/* dobj__text_fini frees t's buffer (not t). */
void dobj__text_fini(dobj__text *t);

/* dobj__strf returns a formatted string that lives until dobj__strfree_all(). */
char *dobj__strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* dobj__strfree_all frees every string made by dobj__strf. */
void dobj__strfree_all(void);

/* dobj__fatal prints "protoc-gen-dobj: <message>" to stderr and exits 1. */
void dobj__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* DOBJ_CODEGEN_TEXT_H */
