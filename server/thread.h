/* SPDX-License-Identifier: MIT */
/* thread.h - naming the server's threads, so that top -H, perf and /proc tell them apart. */
#ifndef DOBJ_SERVER_THREAD_H
#define DOBJ_SERVER_THREAD_H

/* dobj__thread_name names the calling thread (at most 15 bytes are kept; Linux only, a no-op
 * elsewhere). */
void dobj__thread_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* dobj__thread_latency_critical asks the scheduler to run the calling thread soon after it
 * wakes: the normal policy (under --sched batch a woken thread waits for the running one to
 * block or use up its slice), and where the kernel takes it (Linux 6.12 and later), a slice
 * of slice_us microseconds, which lets the thread preempt a busy one as soon as it wakes.
 * For a thread on a serial path that every call waits on, such as the commit thread. Best
 * effort: 0, or an errno value if the kernel refused the slice (the thread then has the
 * normal policy if that at least was allowed, and runs as before otherwise). */
int dobj__thread_latency_critical(unsigned slice_us);

#endif /* DOBJ_SERVER_THREAD_H */
