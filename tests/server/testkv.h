/* SPDX-License-Identifier: MIT */
/* testkv.h - the TestKV class (tests only): method "run" executes a dobj.test.Script. */
#ifndef DOBJ_TEST_TESTKV_H
#define DOBJ_TEST_TESTKV_H

#include <dobj/object.h>

extern const dobj_class testkv_class;

#endif /* DOBJ_TEST_TESTKV_H */
