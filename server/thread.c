// SPDX-License-Identifier: MIT
// thread.c - thread names: dobj-shard-N, dobj-commit, dobj-alarms, dobj-http.

#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "thread.h"

void
dobj__thread_name(const char *fmt, ...)
{
	char name[16]; /* the kernel keeps 15 bytes and the NUL */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
#ifdef __linux__
	pthread_setname_np(pthread_self(), name);
#endif
}
