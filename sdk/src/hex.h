/* SPDX-License-Identifier: MIT */
/* hex.h - libdobj's internal hex digit decoder, shared by ids (id.c) and the FSM record's JSON
 * \u escapes (server/fsm_record.c). Not installed. */
#ifndef DOBJ_SRC_HEX_H
#define DOBJ_SRC_HEX_H

/* dobj__hex_digit returns the value of a hex digit (either case), or -1. */
int dobj__hex_digit(int c);

#endif /* DOBJ_SRC_HEX_H */
