/* SPDX-License-Identifier: MIT */
/* fsm_record.h - a state machine's transition history in the object's storage: one key per
 * record under "__fsm_history/", numbered so that key order is the order of the records. */
#ifndef DOBJ_SERVER_FSM_RECORD_H
#define DOBJ_SERVER_FSM_RECORD_H

#include <stddef.h>

#include <dobj/fsm.h>

/* DOBJ__FSM_HISTORY_PREFIX: the keys of the history; a 20-digit sequence number follows. */
#define DOBJ__FSM_HISTORY_PREFIX "__fsm_history/"

/* dobj__fsm_record_append stores rec as the newest record and deletes the oldest ones beyond
 * the newest max. Writes of the turn: call it inside the transition's transaction. */
dobj_err dobj__fsm_record_append(dobj_ctx *ctx, const dobj_fsm_record *rec, size_t max);

/* dobj__fsm_record_list returns the stored records, oldest first, in memory of the turn.
 * A record that does not decode is DOBJ_DATA_LOSS. */
dobj_err dobj__fsm_record_list(dobj_ctx *ctx, dobj_fsm_record **out, size_t *n);

/* dobj__fsm_record_encode writes rec as a JSON object into turn memory:
 * {"from":"pending","to":"paid","event":"pay","at_ms":1700000000000}. */
dobj_err dobj__fsm_record_encode(dobj_ctx *ctx, const dobj_fsm_record *rec, dobj_bytes *out);

/* dobj__fsm_record_decode parses what dobj__fsm_record_encode wrote (members in any order,
 * JSON whitespace allowed, no other members) into rec, with strings in turn memory. Bytes
 * that are not a record are DOBJ_DATA_LOSS, naming key (the key they were stored under). */
dobj_err dobj__fsm_record_decode(dobj_ctx *ctx, const char *key, dobj_bytes v,
                                 dobj_fsm_record *rec);

#endif /* DOBJ_SERVER_FSM_RECORD_H */
