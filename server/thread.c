// SPDX-License-Identifier: MIT
// thread.c - thread names (dobj-shard-N, dobj-commit, dobj-alarms, dobj-http, dobj-readyz)
// and the scheduling of the threads that every call waits on.

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

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

#if defined(__linux__) && defined(SYS_sched_getattr) && defined(SYS_sched_setattr)
/* The first version of the kernel's struct sched_attr (Linux 3.14), which every later kernel
 * accepts; glibc had no wrapper before 2.41. */
struct sched_attr_v0 {
	uint32_t size;
	uint32_t policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime; /* SCHED_OTHER and SCHED_BATCH: the slice, in ns (Linux 6.12) */
	uint64_t deadline;
	uint64_t period;
};

int
dobj__thread_latency_critical(unsigned slice_us)
{
	struct sched_attr_v0 a = {0};
	struct sched_param sp = {0};
	int err, policy;

	/* read first: the thread keeps its nice value and flags */
	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) == 0) {
		/* A real-time or idle policy: dobjd's --sched replaces these where it may, so one
		 * still here was set from outside, and stays. */
		if (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH)
			return 0;
		a.size = sizeof(a);
		a.policy = SCHED_OTHER;
		a.runtime = (uint64_t)slice_us * 1000; /* older kernels ignore it for SCHED_OTHER */
		if (syscall(SYS_sched_setattr, 0, &a, 0) == 0)
			return 0;
	}
	err = errno;
	/* at least the policy, which keeps the nice value; the refusal is still reported */
	if (pthread_getschedparam(pthread_self(), &policy, &sp) == 0 && policy == SCHED_BATCH) {
		sp.sched_priority = 0;
		pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
	}
	return err;
}
#else
int
dobj__thread_latency_critical(unsigned slice_us)
{
	(void)slice_us;
	return 0;
}
#endif
