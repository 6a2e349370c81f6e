// SPDX-License-Identifier: MIT
// nngfix.c - keeps nng 1.5's listener accepting (nng issue #1518, fixed in 1.6.0). nng hands a
// connection's failure during its negotiation (the TLS handshake, the SP header) to the
// listener, which takes NNG_ECLOSED for its own close and never accepts again; and nng reports
// a write that fails with EPIPE as NNG_ECLOSED. A client that sends its TLS ClientHello and
// goes away (one closed at its deadline in the middle of a retry, a port scanner) makes one of
// dobjd's handshake writes fail so: dobjd then completes new connections' handshakes but never
// serves them, and their calls get no reply.
//
// libdobj therefore defines sendmsg(2), which nng uses for every TCP and IPC write: the C
// library's, except that in a server (dobj__nngfix_init) running an nng older than 1.6, EPIPE
// is reported as ECONNRESET, which is what happened (the peer reset the connection) and which
// nng's listener survives. In such a server every caller of sendmsg sees this; dobjd's other
// sockets (libpq's, the HTTP port's) use send(2). Other processes see the C library's sendmsg.

#define _GNU_SOURCE /* RTLD_NEXT */

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nng/nng.h>

#include "nngfix.h"

typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);

static atomic_bool nngfix_on;           /* map EPIPE to ECONNRESET */
static _Atomic(sendmsg_fn) nngfix_next; /* the sendmsg this one hides; NULL until looked up */

bool
dobj__nngfix_needed(const char *version)
{
	int major = 0, minor = 0;

	if (version == NULL || sscanf(version, "%d.%d", &major, &minor) != 2)
		return true; /* unknown: the mapping is harmless where nng is fixed */
	return major < 1 || (major == 1 && minor < 6);
}

void
dobj__nngfix_init(void)
{
	if (dobj__nngfix_needed(nng_version()))
		atomic_store(&nngfix_on, true);
}

/* nngfix_sendmsg_sys is sendmsg without the C library, should dlsym find none after ours. */
static ssize_t
nngfix_sendmsg_sys(int fd, const struct msghdr *msg, int flags)
{
	return (ssize_t)syscall(SYS_sendmsg, fd, msg, flags);
}

__attribute__((visibility("default"))) ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sendmsg_fn next = atomic_load_explicit(&nngfix_next, memory_order_acquire);
	ssize_t n;

	if (next == NULL) {
		void *sym = dlsym(RTLD_NEXT, "sendmsg");

		if (sym != NULL)
			memcpy(&next, &sym, sizeof(next)); /* ISO C has no cast from void * */
		else
			next = nngfix_sendmsg_sys;
		atomic_store_explicit(&nngfix_next, next, memory_order_release);
	}
	n = next(fd, msg, flags);
	if (n < 0 && errno == EPIPE && atomic_load_explicit(&nngfix_on, memory_order_relaxed))
		errno = ECONNRESET;
	return n;
}
