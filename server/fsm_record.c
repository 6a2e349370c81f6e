// SPDX-License-Identifier: MIT
// fsm_record.c - the state machines' transition history (fsm_record.h): record keys, their
// JSON encoding, and trimming to the newest records. Which transitions are recorded, and
// inside which transaction, is fsm.c's business.

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <dobj/storage.h>

#include "fsm_record.h"
#include "hex.h"

#define REC_DIGITS 20 /* UINT64_MAX has 20 digits */
#define REC_KEY_SIZE (sizeof(DOBJ__FSM_HISTORY_PREFIX) + REC_DIGITS)

static void
rec_key(char *buf, uint64_t seq)
{
	snprintf(buf, REC_KEY_SIZE, "%s%0*" PRIu64, DOBJ__FSM_HISTORY_PREFIX, REC_DIGITS, seq);
}

/* rec_seq parses the sequence number of a record key. */
static bool
rec_seq(const char *key, uint64_t *seq)
{
	const char *p = key + strlen(DOBJ__FSM_HISTORY_PREFIX);
	uint64_t v = 0;

	if (strncmp(key, DOBJ__FSM_HISTORY_PREFIX, strlen(DOBJ__FSM_HISTORY_PREFIX)) != 0 ||
	    strlen(p) != REC_DIGITS)
		return false;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*seq = v;
	return true;
}

dobj_err
dobj__fsm_record_append(dobj_ctx *ctx, const dobj_fsm_record *rec, size_t max)
{
	dobj_list_opts last = {.prefix = DOBJ__FSM_HISTORY_PREFIX, .reverse = true, .limit = 1};
	char key[REC_KEY_SIZE], end[REC_KEY_SIZE];
	uint64_t seq = 0;
	dobj_bytes v;
	dobj_kv *kv;
	size_t n;
	dobj_err rc;

	if ((rc = dobj_storage_list(ctx, &last, &kv, &n)) != DOBJ_OK)
		return rc;
	if (n > 0 && !rec_seq(kv[0].key, &seq))
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS,
		                       "fsm history: key \"%.64s\" is not a record key", kv[0].key);
	if (seq == UINT64_MAX)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED,
		                       "fsm history: record numbers are exhausted");
	seq++;
	rec_key(key, seq);
	if ((rc = dobj__fsm_record_encode(ctx, rec, &v)) != DOBJ_OK ||
	    (rc = dobj_storage_put(ctx, key, v.data, v.len)) != DOBJ_OK)
		return rc;
	if (seq <= max)
		return DOBJ_OK;

	/* keep seq - max + 1 .. seq: whatever is below that goes, gaps or not */
	rec_key(end, seq - max + 1);
	if ((rc = dobj_storage_list(
	         ctx, &(dobj_list_opts){.prefix = DOBJ__FSM_HISTORY_PREFIX, .end = end}, &kv,
	         &n)) != DOBJ_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = dobj_storage_delete(ctx, kv[i].key, NULL)) != DOBJ_OK)
			return rc;
	return DOBJ_OK;
}

dobj_err
dobj__fsm_record_list(dobj_ctx *ctx, dobj_fsm_record **out, size_t *n)
{
	dobj_list_opts all = {.prefix = DOBJ__FSM_HISTORY_PREFIX};
	dobj_fsm_record *recs;
	dobj_kv *kv;
	size_t nkv;
	dobj_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = dobj_storage_list(ctx, &all, &kv, &nkv)) != DOBJ_OK)
		return rc;
	if (nkv == 0)
		return DOBJ_OK;
	if ((recs = dobj_ctx_alloc(ctx, nkv * sizeof(*recs))) == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "fsm history: out of memory");
	for (size_t i = 0; i < nkv; i++)
		if ((rc = dobj__fsm_record_decode(ctx, kv[i].key, kv[i].value, &recs[i])) !=
		    DOBJ_OK)
			return rc;
	*out = recs;
	*n = nkv;
	return DOBJ_OK;
}

/* rec_put_str writes s as a JSON string at p and returns the end. Bytes >= 0x80 are copied
 * as they are (names are UTF-8); the buffer holds 6 bytes per byte of s, plus 2. */
static char *
rec_put_str(char *p, const char *s)
{
	*p++ = '"';
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			p += sprintf(p, "\\u%04x", c);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

dobj_err
dobj__fsm_record_encode(dobj_ctx *ctx, const dobj_fsm_record *rec, dobj_bytes *out)
{
	size_t cap = 6 * (strlen(rec->from) + strlen(rec->to) + strlen(rec->event)) + 64;
	char *buf = dobj_ctx_alloc(ctx, cap), *p;

	if (buf == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_RESOURCE_EXHAUSTED, "fsm history: out of memory");
	p = buf;
	p += sprintf(p, "{\"from\":");
	p = rec_put_str(p, rec->from);
	p += sprintf(p, ",\"to\":");
	p = rec_put_str(p, rec->to);
	p += sprintf(p, ",\"event\":");
	p = rec_put_str(p, rec->event);
	p += sprintf(p, ",\"at_ms\":%" PRId64 "}", rec->at_ms);
	out->data = (const uint8_t *)buf;
	out->len = (size_t)(p - buf);
	return DOBJ_OK;
}

/* rec_parser: a cursor over a record being decoded; why says what went wrong. */
typedef struct rec_parser {
	dobj_ctx *ctx;
	const uint8_t *p, *end;
	const char *why;
} rec_parser;

static bool
rec_fail(rec_parser *r, const char *why)
{
	r->why = why;
	return false;
}

static void
rec_ws(rec_parser *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* rec_lit skips whitespace and then c, if c comes next. */
static bool
rec_lit(rec_parser *r, char c)
{
	rec_ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

/* rec_escape decodes the escape after a backslash into s at *o. */
static bool
rec_escape(rec_parser *r, char *s, size_t *o)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	unsigned cp = 0;

	if (r->p >= r->end)
		return rec_fail(r, "unterminated string");
	if (*r->p != 'u') {
		if ((k = memchr(from, *r->p, sizeof(from) - 1)) == NULL)
			return rec_fail(r, "bad escape in a string");
		s[(*o)++] = to[k - from];
		r->p++;
		return true;
	}
	if (r->end - r->p < 5)
		return rec_fail(r, "bad \\u escape in a string");
	for (int i = 1; i <= 4; i++) {
		int h = dobj__hex_digit((unsigned char)r->p[i]);

		if (h < 0)
			return rec_fail(r, "bad \\u escape in a string");
		cp = cp << 4 | (unsigned)h;
	}
	r->p += 5;
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return rec_fail(r, "NUL or surrogate escape in a string");
	/* at most 3 bytes out for 6 in: the buffer cannot overflow */
	if (cp < 0x80) {
		s[(*o)++] = (char)cp;
	} else if (cp < 0x800) {
		s[(*o)++] = (char)(0xc0 | cp >> 6);
		s[(*o)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		s[(*o)++] = (char)(0xe0 | cp >> 12);
		s[(*o)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		s[(*o)++] = (char)(0x80 | (cp & 0x3f));
	}
	return true;
}

static bool
rec_str(rec_parser *r, const char **out)
{
	char *s;
	size_t o = 0;

	if (!rec_lit(r, '"'))
		return rec_fail(r, "expected a string");
	if ((s = dobj_ctx_alloc(r->ctx, (size_t)(r->end - r->p) + 1)) == NULL)
		return rec_fail(r, "out of memory");
	while (r->p < r->end && *r->p != '"') {
		uint8_t c = *r->p;

		if (c < 0x20)
			return rec_fail(r, "control character in a string");
		r->p++;
		if (c != '\\')
			s[o++] = (char)c;
		else if (!rec_escape(r, s, &o))
			return false;
	}
	if (!rec_lit(r, '"'))
		return rec_fail(r, "unterminated string");
	s[o] = '\0';
	*out = s;
	return true;
}

static bool
rec_int(rec_parser *r, int64_t *out)
{
	bool neg;
	uint64_t v = 0;
	size_t digits = 0;

	rec_ws(r);
	neg = rec_lit(r, '-');
	for (; r->p < r->end && *r->p >= '0' && *r->p <= '9'; r->p++, digits++) {
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*r->p - '0')) / 10)
			return rec_fail(r, "at_ms out of range");
		v = v * 10 + (uint64_t)(*r->p - '0');
	}
	if (digits == 0)
		return rec_fail(r, "at_ms is not an integer");
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

/* rec_member parses one "name": value; seen collects the members found so far. */
static bool
rec_member(rec_parser *r, dobj_fsm_record *rec, unsigned *seen)
{
	static const char *const names[] = {"from", "to", "event", "at_ms"};
	const char **strs[] = {&rec->from, &rec->to, &rec->event};
	const char *name;
	unsigned i;

	if (!rec_str(r, &name))
		return false;
	for (i = 0; i < 4 && strcmp(name, names[i]) != 0; i++)
		;
	if (i == 4)
		return rec_fail(r, "unknown member");
	if (*seen & 1u << i)
		return rec_fail(r, "member repeated");
	*seen |= 1u << i;
	if (!rec_lit(r, ':'))
		return rec_fail(r, "expected ':'");
	return i < 3 ? rec_str(r, strs[i]) : rec_int(r, &rec->at_ms);
}

dobj_err
dobj__fsm_record_decode(dobj_ctx *ctx, const char *key, dobj_bytes v, dobj_fsm_record *rec)
{
	rec_parser r = {.ctx = ctx};
	unsigned seen = 0;
	bool ok;

	memset(rec, 0, sizeof(*rec));
	if (v.len == 0)
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS,
		                       "fsm history: key \"%.64s\" holds an empty value", key);
	r.p = v.data;
	r.end = v.data + v.len;
	if (!rec_lit(&r, '{'))
		ok = rec_fail(&r, "not a JSON object");
	else
		ok = true;
	while (ok) {
		if (!(ok = rec_member(&r, rec, &seen)))
			break;
		if (rec_lit(&r, '}'))
			break;
		if (!rec_lit(&r, ','))
			ok = rec_fail(&r, "expected ',' or '}'");
	}
	if (ok && seen != 0xf)
		ok = rec_fail(&r, "a member is missing");
	if (ok)
		rec_ws(&r);
	if (ok && r.p != r.end)
		ok = rec_fail(&r, "bytes after the object");
	if (!ok)
		return dobj_ctx_errorf(
		    ctx, DOBJ_DATA_LOSS,
		    "fsm history: key \"%.64s\" does not hold a transition record: "
		    "%s",
		    key, r.why);
	return DOBJ_OK;
}
