/* SPDX-License-Identifier: MIT */
/*
 * dobj/fsm.h - durable finite-state machines (the seed's createStateMachine).
 *
 * A machine is defined once, as a table of (from, event, to), a list of states and an initial
 * state, and validated at definition. Unlike the seed, the current state lives in the object's
 * storage (key "__fsm_state" unless the definition names another), so it survives restarts; a
 * transition, the on_transition callback's writes and the optional history record commit
 * together, and a failing callback leaves state and storage as they were.
 *
 * A dobj_fsm is immutable after dobj_fsm_define() and may be shared by all objects and
 * threads; every call that reads or changes state takes the turn's context. Those calls
 * return DOBJ_INVALID_ARGUMENT, with a message such as `fsm state: machine is NULL` as the
 * turn's, when the machine or an output pointer not documented as optional is NULL.
 * dobj_fsm_can_send, dobj_fsm_valid_events and dobj_fsm_history clear their outputs first, so
 * a failed call leaves false, no events or no records.
 */
#ifndef DOBJ_FSM_H
#define DOBJ_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dobj/object.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dobj_fsm dobj_fsm;

/* dobj_fsm_transition: in state `from`, event `event` moves the machine to `to`. */
typedef struct dobj_fsm_transition {
	const char *from;
	const char *event;
	const char *to;
} dobj_fsm_transition;

/* dobj_fsm_event: an event's type name and an optional payload (for example a tracking
 * number), handed to on_transition. */
typedef struct dobj_fsm_event {
	const char *type;
	dobj_bytes payload;
} dobj_fsm_event;

/* dobj_fsm_transition_cb runs inside the transition, after the new state is written: its
 * writes commit with it, and an error from it undoes the whole transition and reaches the
 * caller of dobj_fsm_send(). */
typedef dobj_err (*dobj_fsm_transition_cb)(dobj_ctx *ctx, const char *from, const char *to,
                                           const dobj_fsm_event *ev, void *arg);

/* dobj_fsm_def: the definition; dobj_fsm_define() copies everything it needs. */
typedef struct dobj_fsm_def {
	const char *const *states; /* every state, terminal ones included */
	size_t nstates;
	const char *initial;
	const dobj_fsm_transition *transitions; /* valid_events lists them in this order */
	size_t ntransitions;
	dobj_fsm_transition_cb on_transition; /* may be NULL */
	void *arg;                            /* passed to on_transition */
	const char *state_key;                /* NULL: "__fsm_state" */
	bool history;       /* record (from, to, event, time) of each transition; the records
	                     * live under keys "__fsm_history/<n>", so at most one machine per
	                     * object may keep history */
	size_t history_max; /* records kept per object; 0: 100 */
} dobj_fsm_def;

/* dobj_fsm_define validates def and returns the machine in *out: DOBJ_INVALID_ARGUMENT, with
 * the reason in err, for a missing or unknown initial state, a transition from or to an
 * unknown state, a duplicate (state, event) pair, a duplicate state, or an empty name. Free
 * with dobj_fsm_free(). */
DOBJ_API dobj_err dobj_fsm_define(const dobj_fsm_def *def, dobj_fsm **out, char *err,
                                  size_t errlen);

/* dobj_fsm_free frees m. NULL is allowed. */
DOBJ_API void dobj_fsm_free(dobj_fsm *m);

/* dobj_fsm_send applies ev to the object's machine and sets *state (may be NULL) to the state
 * after the transition and its on_transition callback (which may move the machine again, as in
 * the seed). A stored state that is not one of the machine's is DOBJ_DATA_LOSS. An event the
 * current state does not handle is DOBJ_FAILED_PRECONDITION with the
 * seed's text: `Invalid transition: state "pending" does not handle event "deliver". Valid
 * events: [start_processing, cancel]`, or for a state without transitions `No transitions
 * defined for state "delivered". Cannot handle event "deliver".` */
DOBJ_API dobj_err dobj_fsm_send(const dobj_fsm *m, dobj_ctx *ctx, const dobj_fsm_event *ev,
                                const char **state);

/* dobj_fsm_state sets *state to the object's current state (the initial state if it never
 * moved). The string is owned by m. */
DOBJ_API dobj_err dobj_fsm_state(const dobj_fsm *m, dobj_ctx *ctx, const char **state);

/* dobj_fsm_can_send sets *ok to whether the current state handles event. */
DOBJ_API dobj_err dobj_fsm_can_send(const dobj_fsm *m, dobj_ctx *ctx, const char *event, bool *ok);

/* dobj_fsm_valid_events returns the events the current state handles, in definition order, as
 * an array of *n names; the array and the names are owned by m. */
DOBJ_API dobj_err dobj_fsm_valid_events(const dobj_fsm *m, dobj_ctx *ctx,
                                        const char *const **events, size_t *n);

/* dobj_fsm_reset puts the object's machine back in its initial state (history is kept). */
DOBJ_API dobj_err dobj_fsm_reset(const dobj_fsm *m, dobj_ctx *ctx);

/* dobj_fsm_record: one transition in the history. */
typedef struct dobj_fsm_record {
	const char *from;
	const char *to;
	const char *event;
	int64_t at_ms; /* server clock */
} dobj_fsm_record;

/* dobj_fsm_history returns the object's recorded transitions, oldest first, as *n records that
 * live until the turn ends. Empty when the definition does not keep history. */
DOBJ_API dobj_err dobj_fsm_history(const dobj_fsm *m, dobj_ctx *ctx, dobj_fsm_record **out,
                                   size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* DOBJ_FSM_H */
