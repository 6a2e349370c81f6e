/* SPDX-License-Identifier: MIT */
/* thread.h - naming the server's threads, so that top -H, perf and /proc tell them apart. */
#ifndef DOBJ_SERVER_THREAD_H
#define DOBJ_SERVER_THREAD_H

/* dobj__thread_name names the calling thread (at most 15 bytes are kept; Linux only, a no-op
 * elsewhere). */
void dobj__thread_name(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DOBJ_SERVER_THREAD_H */
