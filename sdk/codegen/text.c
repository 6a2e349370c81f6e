// SPDX-License-Identifier: MIT
// text.c - the generator's printer: a growing buffer, comments wrapped to 100 columns and
// argument lists packed the way clang-format packs them, plus the pool of generated names.
// What to print is the emitters' business (gen.c, service.c, schema.c).

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The pool of strings made by dobj__strf: freed together when the generator is done. */
static char **pool;
static size_t pool_len, pool_cap;

void
dobj__fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("protoc-gen-dobj: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
text_reserve(dobj__text *t, size_t more)
{
	size_t cap = t->cap ? t->cap : 4096;
	char *buf;

	if (t->len + more + 1 <= t->cap)
		return;
	while (cap < t->len + more + 1)
		cap *= 2;
	if ((buf = realloc(t->buf, cap)) == NULL)
		dobj__fatal("out of memory");
	t->buf = buf;
	t->cap = cap;
}

static void
text_vprintf(dobj__text *t, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		dobj__fatal("could not format generated text");
	text_reserve(t, (size_t)n);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	t->len += (size_t)n;
}

void
dobj__text_printf(dobj__text *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(t, fmt, ap);
	va_end(ap);
}

static void
text_indent(dobj__text *t, int indent)
{
	for (int i = 0; i < indent; i++)
		dobj__text_printf(t, "\t");
}

void
dobj__text_comment(dobj__text *t, int indent, const char *fmt, ...)
{
	dobj__text body = {0};
	size_t width = DOBJ__TEXT_COLUMNS - (size_t)indent * 8 - 3, col = 0;
	const char *p;
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(&body, fmt, ap);
	va_end(ap);
	if (body.len + 6 <= width + 3) {
		text_indent(t, indent);
		dobj__text_printf(t, "/* %s */\n", body.buf);
		dobj__text_fini(&body);
		return;
	}
	text_indent(t, indent);
	dobj__text_printf(t, "/*");
	for (p = body.buf; *p != '\0';) {
		size_t w = strcspn(p, " ");

		if (col > 0 && col + 1 + w > width) {
			dobj__text_printf(t, "\n");
			text_indent(t, indent);
			dobj__text_printf(t, " *");
			col = 0;
		}
		dobj__text_printf(t, " %.*s", (int)w, p);
		col += 1 + w;
		p += w;
		while (*p == ' ')
			p++;
	}
	if (col + 3 > width) {
		dobj__text_printf(t, "\n");
		text_indent(t, indent);
	}
	dobj__text_printf(t, " */\n");
	dobj__text_fini(&body);
}

/* list_fits says whether the args, packed from column start, stay within the limit. */
static bool
list_fits(size_t start, const char *const *args, size_t n, const char *tail)
{
	for (size_t i = 0; i < n; i++)
		if (start + strlen(args[i]) + (i + 1 < n ? 1 : strlen(tail)) > DOBJ__TEXT_COLUMNS)
			return false;
	return true;
}

void
dobj__text_list(dobj__text *t, int indent, const char *head, const char *const *args, size_t n,
                const char *tail)
{
	size_t base = (size_t)indent * 8, col, start;
	const char *pad = NULL;

	text_indent(t, indent);
	dobj__text_printf(t, "%s", head);
	start = col = base + strlen(head);
	if (!list_fits(start, args, n, tail)) {
		start = base + 4;
		pad = "    ";
		dobj__text_printf(t, "\n");
		text_indent(t, indent);
		dobj__text_printf(t, "%s", pad);
		col = start;
	}
	for (size_t i = 0; i < n; i++) {
		size_t w = strlen(args[i]) + (i + 1 < n ? 1 : strlen(tail));

		if (col > start && col + 1 + w > DOBJ__TEXT_COLUMNS) {
			dobj__text_printf(t, "\n");
			text_indent(t, indent);
			if (pad != NULL)
				dobj__text_printf(t, "%s", pad);
			else
				dobj__text_printf(t, "%*s", (int)(start - base), "");
			col = start;
		} else if (i > 0) {
			dobj__text_printf(t, " ");
			col++;
		}
		dobj__text_printf(t, "%s%s", args[i], i + 1 < n ? "," : tail);
		col += w;
	}
	if (n == 0)
		dobj__text_printf(t, "%s", tail);
	dobj__text_printf(t, "\n");
}

void
dobj__text_decl(dobj__text *t, const char *ret, const char *name, const char *const *args, size_t n)
{
	char *head = dobj__strf("%s %s(", ret, name);

	if (!list_fits(strlen(head), args, n, ");") && list_fits(strlen(name) + 1, args, n, ");")) {
		dobj__text_printf(t, "%s\n", ret);
		head = dobj__strf("%s(", name);
	}
	dobj__text_list(t, 0, head, args, n, ");");
}

void
dobj__text_fini(dobj__text *t)
{
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

char *
dobj__strf(const char *fmt, ...)
{
	dobj__text s = {0};
	va_list ap;

	va_start(ap, fmt);
	text_vprintf(&s, fmt, ap);
	va_end(ap);
	if (s.buf == NULL) {
		text_reserve(&s, 0);
		s.buf[0] = '\0';
	}
	if (pool_len == pool_cap) {
		size_t cap = pool_cap ? pool_cap * 2 : 256;
		char **p = realloc(pool, cap * sizeof(*p));

		if (p == NULL)
			dobj__fatal("out of memory");
		pool = p;
		pool_cap = cap;
	}
	pool[pool_len++] = s.buf;
	return s.buf;
}

void
dobj__strfree_all(void)
{
	for (size_t i = 0; i < pool_len; i++)
		free(pool[i]);
	free(pool);
	pool = NULL;
	pool_len = pool_cap = 0;
}
