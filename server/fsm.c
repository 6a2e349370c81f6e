// SPDX-License-Identifier: MIT
// fsm.c - durable finite-state machines (dobj/fsm.h): a definition validated and indexed once,
// and send, state, can_send, valid_events, reset and history over the object's storage.
// Atomicity is dobj_storage_transaction's (storage.c), durability the shard's; the history
// record's encoding lives in fsm_record.c.

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dobj/fsm.h>
#include <dobj/storage.h>

#include "log.h"
#include "fsm_record.h"

#define FSM_STATE_KEY "__fsm_state"
#define FSM_HISTORY_MAX 100

/* fsm_name: one entry of the index of state names. */
typedef struct fsm_name {
	const char *name;
	size_t len;
	size_t state;
} fsm_name;

/*
 * The transitions are kept grouped by their from-state, in definition order within a group
 * (a stable counting sort at definition): state s handles out_event[i], leading to out_to[i],
 * for i in [out_first[s], out_first[s + 1]). States are found by binary search in by_name.
 * A lookup therefore costs O(log states + transitions of one state); defining costs
 * O((states + transitions) log(states + transitions)).
 */
struct dobj_fsm {
	const char **states; /* nstates names, in definition order */
	fsm_name *by_name;   /* the same names sorted by their bytes */
	size_t nstates;
	size_t initial;
	size_t *out_first; /* nstates + 1 entries */
	const char **out_event;
	size_t *out_to;
	size_t ntransitions;
	dobj_fsm_transition_cb on_transition;
	void *arg;
	const char *state_key;
	bool history;
	size_t history_max;
	char *pool; /* every string above */
};

/* fsm_edge_src: a transition during definition, before it is grouped by state. */
typedef struct fsm_edge_src {
	size_t from, to, pos;
	const char *event;
} fsm_edge_src;

static const char *const fsm_no_events[1];

static int
fsm_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
fsm_name_cmp(const void *a, const void *b)
{
	const fsm_name *x = a, *y = b;

	return fsm_bytes_cmp(x->name, x->len, y->name, y->len);
}

/* fsm_edge_cmp orders by state, then event, then definition position. */
static int
fsm_edge_cmp(const void *a, const void *b)
{
	const fsm_edge_src *x = a, *y = b;
	int c;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if ((c = strcmp(x->event, y->event)) != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* fsm_find sets *state to the state named by the len bytes at name. */
static bool
fsm_find(const dobj_fsm *m, const char *name, size_t len, size_t *state)
{
	size_t lo = 0, hi = m->nstates;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = fsm_bytes_cmp(name, len, m->by_name[mid].name, m->by_name[mid].len);

		if (c == 0) {
			*state = m->by_name[mid].state;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

/* fsm_check_names rejects a definition with a missing table or a NULL or empty name. */
static dobj_err
fsm_check_names(const dobj_fsm_def *def, char *err, size_t errlen)
{
	if (def->nstates > 0 && def->states == NULL)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "fsm define: states is NULL but nstates is %zu", def->nstates);
	if (def->ntransitions > 0 && def->transitions == NULL)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "fsm define: transitions is NULL but ntransitions is %zu",
		                  def->ntransitions);
	for (size_t i = 0; i < def->nstates; i++)
		if (def->states[i] == NULL || def->states[i][0] == '\0')
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "fsm define: states[%zu] has an empty name", i);
	if (def->initial == NULL || def->initial[0] == '\0')
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "fsm define: no initial state");
	for (size_t i = 0; i < def->ntransitions; i++) {
		const dobj_fsm_transition *t = &def->transitions[i];
		const char *what = NULL;

		if (t->from == NULL || t->from[0] == '\0')
			what = "from";
		else if (t->event == NULL || t->event[0] == '\0')
			what = "event";
		else if (t->to == NULL || t->to[0] == '\0')
			what = "to";
		if (what != NULL)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "fsm define: transitions[%zu] has an empty %s", i, what);
	}
	if (def->state_key != NULL && def->state_key[0] == '\0')
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "fsm define: state_key is empty");
	return DOBJ_OK;
}

/* fsm_copy copies s into the pool at *at. */
static const char *
fsm_copy(char **at, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = *at;

	memcpy(p, s, len);
	*at += len;
	return p;
}

/* fsm_build copies the definition into m and indexes its states; the transitions' names are
 * copied but not yet resolved. */
static dobj_err
fsm_build(dobj_fsm *m, const dobj_fsm_def *def, char *err, size_t errlen)
{
	const char *key = def->state_key != NULL ? def->state_key : FSM_STATE_KEY;
	size_t pool = strlen(key) + 1;
	char *at;

	for (size_t i = 0; i < def->nstates; i++)
		pool += strlen(def->states[i]) + 1;
	for (size_t i = 0; i < def->ntransitions; i++)
		pool += strlen(def->transitions[i].event) + 1;
	m->nstates = def->nstates;
	m->ntransitions = def->ntransitions;
	m->pool = malloc(pool);
	m->states = calloc(def->nstates + 1, sizeof(*m->states));
	m->by_name = calloc(def->nstates + 1, sizeof(*m->by_name));
	m->out_first = calloc(def->nstates + 1, sizeof(*m->out_first));
	m->out_event = calloc(def->ntransitions + 1, sizeof(*m->out_event));
	m->out_to = calloc(def->ntransitions + 1, sizeof(*m->out_to));
	if (m->pool == NULL || m->states == NULL || m->by_name == NULL || m->out_first == NULL ||
	    m->out_event == NULL || m->out_to == NULL)
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED,
		                  "fsm define: out of memory");

	at = m->pool;
	m->state_key = fsm_copy(&at, key);
	for (size_t i = 0; i < def->nstates; i++) {
		m->states[i] = fsm_copy(&at, def->states[i]);
		m->by_name[i] = (fsm_name){m->states[i], strlen(m->states[i]), i};
	}
	/* events are copied in definition order here and regrouped by fsm_index */
	for (size_t i = 0; i < def->ntransitions; i++)
		m->out_event[i] = fsm_copy(&at, def->transitions[i].event);

	qsort(m->by_name, m->nstates, sizeof(*m->by_name), fsm_name_cmp);
	for (size_t i = 1; i < m->nstates; i++)
		if (fsm_name_cmp(&m->by_name[i - 1], &m->by_name[i]) == 0)
			return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                  "fsm define: state \"%s\" is listed twice",
			                  m->by_name[i].name);
	if (!fsm_find(m, def->initial, strlen(def->initial), &m->initial))
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
		                  "fsm define: initial state \"%s\" is not a state of the machine",
		                  def->initial);
	return DOBJ_OK;
}

/* fsm_index resolves the transitions' states, rejects duplicate (state, event) pairs and
 * groups the transitions by state. */
static dobj_err
fsm_index(dobj_fsm *m, const dobj_fsm_def *def, char *err, size_t errlen)
{
	fsm_edge_src *src = calloc(m->ntransitions + 1, sizeof(*src));
	dobj_err rc = DOBJ_OK;

	if (src == NULL)
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED,
		                  "fsm define: out of memory");
	for (size_t i = 0; i < m->ntransitions; i++) {
		const dobj_fsm_transition *t = &def->transitions[i];

		src[i].pos = i;
		src[i].event = m->out_event[i];
		if (!fsm_find(m, t->from, strlen(t->from), &src[i].from)) {
			rc = dobj__errf(
			    err, errlen, DOBJ_INVALID_ARGUMENT,
			    "fsm define: transitions[%zu] starts from unknown state \"%s\"", i,
			    t->from);
			goto out;
		}
		if (!fsm_find(m, t->to, strlen(t->to), &src[i].to)) {
			rc = dobj__errf(
			    err, errlen, DOBJ_INVALID_ARGUMENT,
			    "fsm define: transitions[%zu] leads to unknown state \"%s\"", i, t->to);
			goto out;
		}
		m->out_first[src[i].from + 1]++;
	}
	for (size_t s = 0; s < m->nstates; s++)
		m->out_first[s + 1] += m->out_first[s];

	/* stable placement by state keeps definition order within each group */
	{
		size_t *next = calloc(m->nstates + 1, sizeof(*next));

		if (next == NULL) {
			rc = dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED,
			                "fsm define: out of memory");
			goto out;
		}
		memcpy(next, m->out_first, m->nstates * sizeof(*next));
		for (size_t i = 0; i < m->ntransitions; i++) {
			size_t k = next[src[i].from]++;

			m->out_event[k] = src[i].event;
			m->out_to[k] = src[i].to;
		}
		free(next);
	}

	qsort(src, m->ntransitions, sizeof(*src), fsm_edge_cmp);
	for (size_t i = 1; i < m->ntransitions; i++)
		if (src[i - 1].from == src[i].from && strcmp(src[i - 1].event, src[i].event) == 0) {
			rc = dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT,
			                "fsm define: state \"%s\" handles event \"%s\" twice "
			                "(transitions[%zu] and transitions[%zu])",
			                m->states[src[i].from], src[i].event, src[i - 1].pos,
			                src[i].pos);
			goto out;
		}
out:
	free(src);
	return rc;
}

dobj_err
dobj_fsm_define(const dobj_fsm_def *def, dobj_fsm **out, char *err, size_t errlen)
{
	dobj_fsm *m;
	dobj_err rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, "fsm define: out is NULL");
	*out = NULL;
	if (def == NULL)
		return dobj__errf(err, errlen, DOBJ_INVALID_ARGUMENT, "fsm define: def is NULL");
	if ((rc = fsm_check_names(def, err, errlen)) != DOBJ_OK)
		return rc;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return dobj__errf(err, errlen, DOBJ_RESOURCE_EXHAUSTED,
		                  "fsm define: out of memory");
	m->on_transition = def->on_transition;
	m->arg = def->arg;
	m->history = def->history;
	m->history_max = def->history_max > 0 ? def->history_max : FSM_HISTORY_MAX;
	if ((rc = fsm_build(m, def, err, errlen)) != DOBJ_OK ||
	    (rc = fsm_index(m, def, err, errlen)) != DOBJ_OK) {
		dobj_fsm_free(m);
		return rc;
	}
	*out = m;
	return DOBJ_OK;
}

void
dobj_fsm_free(dobj_fsm *m)
{
	if (m == NULL)
		return;
	free(m->states);
	free(m->by_name);
	free(m->out_first);
	free(m->out_event);
	free(m->out_to);
	free(m->pool);
	free(m);
}

/* fsm_quote writes up to QUOTE_BYTES bytes of v into buf (QUOTE_SIZE bytes) with anything
 * but printable ASCII as \xNN, and "..." if v is longer, for messages about stored bytes. */
#define QUOTE_BYTES 64
#define QUOTE_SIZE (QUOTE_BYTES * 4 + sizeof("..."))

static const char *
fsm_quote(dobj_bytes v, char buf[static QUOTE_SIZE])
{
	size_t o = 0;

	for (size_t i = 0; i < v.len && i < QUOTE_BYTES; i++) {
		unsigned c = v.data[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", c);
	}
	if (v.len > QUOTE_BYTES)
		o += (size_t)snprintf(buf + o, 4, "...");
	buf[o] = '\0';
	return buf;
}

/* fsm_load sets *state to the object's current state. */
static dobj_err
fsm_load(const dobj_fsm *m, dobj_ctx *ctx, size_t *state)
{
	char shown[QUOTE_SIZE];
	dobj_bytes v;
	dobj_err rc;

	rc = dobj_storage_get(ctx, m->state_key, &v);
	if (rc == DOBJ_NOT_FOUND) {
		*state = m->initial;
		return DOBJ_OK;
	}
	if (rc != DOBJ_OK)
		return rc;
	if (!fsm_find(m, (const char *)v.data, v.len, state))
		return dobj_ctx_errorf(ctx, DOBJ_DATA_LOSS,
		                       "fsm: storage key \"%s\" holds \"%s\", which is not a state "
		                       "of this machine",
		                       m->state_key, fsm_quote(v, shown));
	return DOBJ_OK;
}

/* fsm_lookup returns the index in out_event of state's transition on event, or SIZE_MAX. */
static size_t
fsm_lookup(const dobj_fsm *m, size_t state, const char *event)
{
	for (size_t i = m->out_first[state]; i < m->out_first[state + 1]; i++)
		if (strcmp(m->out_event[i], event) == 0)
			return i;
	return SIZE_MAX;
}

/* fsm_unhandled fails the turn with the seed's text for an event state does not handle. */
static dobj_err
fsm_unhandled(const dobj_fsm *m, dobj_ctx *ctx, size_t state, const char *event)
{
	char list[512];
	size_t off = 0;

	if (m->out_first[state] == m->out_first[state + 1])
		return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
		                       "No transitions defined for state \"%s\". Cannot handle "
		                       "event \"%s\".",
		                       m->states[state], event);
	list[0] = '\0';
	for (size_t i = m->out_first[state]; i < m->out_first[state + 1] && off < sizeof(list);
	     i++) {
		int w = snprintf(list + off, sizeof(list) - off, "%s%s",
		                 i > m->out_first[state] ? ", " : "", m->out_event[i]);

		off += w > 0 ? (size_t)w : 0;
	}
	return dobj_ctx_errorf(ctx, DOBJ_FAILED_PRECONDITION,
	                       "Invalid transition: state \"%s\" does not handle event \"%s\". "
	                       "Valid events: [%s]",
	                       m->states[state], event, list);
}

/* fsm_null fails the turn for a NULL machine or output: INVALID_ARGUMENT, not a crash. */
static dobj_err
fsm_null(dobj_ctx *ctx, const char *op, const char *what)
{
	return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "fsm %s: %s is NULL", op, what);
}

typedef struct fsm_send_args {
	const dobj_fsm *m;
	const dobj_fsm_event *ev;
	size_t to;
} fsm_send_args;

/* fsm_send_txn is the transition: state, history record and callback, all or nothing. */
static dobj_err
fsm_send_txn(dobj_ctx *ctx, void *arg)
{
	fsm_send_args *a = arg;
	const dobj_fsm *m = a->m;
	size_t from, edge;
	dobj_err rc;

	if ((rc = fsm_load(m, ctx, &from)) != DOBJ_OK)
		return rc;
	if ((edge = fsm_lookup(m, from, a->ev->type)) == SIZE_MAX)
		return fsm_unhandled(m, ctx, from, a->ev->type);
	a->to = m->out_to[edge];
	if ((rc = dobj_storage_put(ctx, m->state_key, m->states[a->to],
	                           strlen(m->states[a->to]))) != DOBJ_OK)
		return rc;
	if (m->history) {
		dobj_fsm_record rec = {.from = m->states[from],
		                       .to = m->states[a->to],
		                       .event = m->out_event[edge],
		                       .at_ms = dobj_ctx_now_ms(ctx)};

		if ((rc = dobj__fsm_record_append(ctx, &rec, m->history_max)) != DOBJ_OK)
			return rc;
	}
	if (m->on_transition != NULL &&
	    (rc = m->on_transition(ctx, m->states[from], m->states[a->to], a->ev, m->arg)) !=
	        DOBJ_OK)
		return rc;
	/* like the seed's `return current`: the callback may have moved the machine again */
	return m->on_transition != NULL ? fsm_load(m, ctx, &a->to) : DOBJ_OK;
}

dobj_err
dobj_fsm_send(const dobj_fsm *m, dobj_ctx *ctx, const dobj_fsm_event *ev, const char **state)
{
	fsm_send_args a = {.m = m, .ev = ev};
	dobj_err rc;

	if (m == NULL)
		return fsm_null(ctx, "send", "machine");
	if (ev == NULL || ev->type == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "fsm send: event has no type");
	if ((rc = dobj_storage_transaction(ctx, fsm_send_txn, &a)) != DOBJ_OK)
		return rc;
	if (state != NULL)
		*state = m->states[a.to];
	return DOBJ_OK;
}

dobj_err
dobj_fsm_state(const dobj_fsm *m, dobj_ctx *ctx, const char **state)
{
	size_t s;
	dobj_err rc;

	if (m == NULL)
		return fsm_null(ctx, "state", "machine");
	if (state == NULL)
		return fsm_null(ctx, "state", "state");
	if ((rc = fsm_load(m, ctx, &s)) != DOBJ_OK)
		return rc;
	*state = m->states[s];
	return DOBJ_OK;
}

dobj_err
dobj_fsm_can_send(const dobj_fsm *m, dobj_ctx *ctx, const char *event, bool *ok)
{
	size_t s;
	dobj_err rc;

	if (ok == NULL)
		return fsm_null(ctx, "can_send", "ok");
	*ok = false;
	if (m == NULL)
		return fsm_null(ctx, "can_send", "machine");
	if (event == NULL)
		return dobj_ctx_errorf(ctx, DOBJ_INVALID_ARGUMENT, "fsm can_send: event is NULL");
	if ((rc = fsm_load(m, ctx, &s)) != DOBJ_OK)
		return rc;
	*ok = fsm_lookup(m, s, event) != SIZE_MAX;
	return DOBJ_OK;
}

dobj_err
dobj_fsm_valid_events(const dobj_fsm *m, dobj_ctx *ctx, const char *const **events, size_t *n)
{
	size_t s;
	dobj_err rc;

	if (events == NULL)
		return fsm_null(ctx, "valid_events", "events");
	if (n == NULL)
		return fsm_null(ctx, "valid_events", "n");
	*events = fsm_no_events;
	*n = 0;
	if (m == NULL)
		return fsm_null(ctx, "valid_events", "machine");
	if ((rc = fsm_load(m, ctx, &s)) != DOBJ_OK)
		return rc;
	*n = m->out_first[s + 1] - m->out_first[s];
	if (*n > 0)
		*events = m->out_event + m->out_first[s];
	return DOBJ_OK;
}

dobj_err
dobj_fsm_reset(const dobj_fsm *m, dobj_ctx *ctx)
{
	if (m == NULL)
		return fsm_null(ctx, "reset", "machine");
	/* no state key reads as the initial state, exactly like an object that never moved */
	return dobj_storage_delete(ctx, m->state_key, NULL);
}

dobj_err
dobj_fsm_history(const dobj_fsm *m, dobj_ctx *ctx, dobj_fsm_record **out, size_t *n)
{
	if (out == NULL)
		return fsm_null(ctx, "history", "out");
	if (n == NULL)
		return fsm_null(ctx, "history", "n");
	*out = NULL;
	*n = 0;
	if (m == NULL)
		return fsm_null(ctx, "history", "machine");
	if (!m->history)
		return DOBJ_OK;
	return dobj__fsm_record_list(ctx, out, n);
}
