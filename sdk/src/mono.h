/* SPDX-License-Identifier: MIT */
/* mono.h - deadlines on CLOCK_MONOTONIC for pthread_cond_timedwait, for the client's and the
 * server's waits (their condition variables are made with that clock). Not installed. */
#ifndef DOBJ_SRC_MONO_H
#define DOBJ_SRC_MONO_H

#include <time.h>

/* dobj__mono_in_ms is the monotonic time ms milliseconds from now (ms >= 0). */
static inline struct timespec
dobj__mono_in_ms(int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif /* DOBJ_SRC_MONO_H */
