/* SPDX-License-Identifier: MIT */
/* proto2_class.h - the Prefs class of proto2.proto (tests). */
#ifndef DOBJ_TEST_PROTO2_CLASS_H
#define DOBJ_TEST_PROTO2_CLASS_H

#include "proto2.dobj.h"

extern const p2_prefs_handlers proto2_prefs;

#endif /* DOBJ_TEST_PROTO2_CLASS_H */
