// SPDX-License-Identifier: MIT
// nngfix_test.c - libdobj's sendmsg: the C library's until a server turns the fix on, then
// EPIPE (a write to a connection whose peer is gone) comes back as ECONNRESET; other errors
// and successful writes are untouched. The listener it protects is tls_test's.

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <nng/nng.h>

#include "nngfix.h"

/* send_one sends one byte on fd and returns sendmsg's result, with errno in *err. */
static ssize_t
send_one(int fd, int *err)
{
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	errno = 0;
	n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	*err = errno;
	return n;
}

/* With an nng of 1.6 or later the fix stays off, and EPIPE stays EPIPE. */
Test(nngfix, epipe_becomes_econnreset_once_a_server_turns_it_on)
{
	int want = dobj__nngfix_needed(nng_version()) ? ECONNRESET : EPIPE;
	int sv[2], err;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(send_one(sv[0], &err), 1);
	close(sv[1]);
	cr_assert_eq(send_one(sv[0], &err), -1);
	cr_assert_eq(err, EPIPE, "before: %s", strerror(err));
	dobj__nngfix_init();
	cr_assert_eq(send_one(sv[0], &err), -1);
	cr_assert_eq(err, want, "after, nng %s: %s", nng_version(), strerror(err));
	close(sv[0]);
}

Test(nngfix, other_errors_and_writes_are_untouched)
{
	int sv[2], err;
	char got;

	dobj__nngfix_init();
	cr_assert_eq(send_one(-1, &err), -1);
	cr_assert_eq(err, EBADF, "%s", strerror(err));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(send_one(sv[0], &err), 1);
	cr_assert_eq(read(sv[1], &got, 1), 1);
	cr_assert_eq(got, 'x');
	close(sv[0]);
	close(sv[1]);
}

Test(nngfix, only_nng_before_1_6_needs_it)
{
	cr_assert(dobj__nngfix_needed("1.5.2"));
	cr_assert(dobj__nngfix_needed("0.9.0"));
	cr_assert(dobj__nngfix_needed("garbage"));
	cr_assert(dobj__nngfix_needed(NULL));
	cr_assert_not(dobj__nngfix_needed("1.6.0"));
	cr_assert_not(dobj__nngfix_needed("1.11.0"));
	cr_assert_not(dobj__nngfix_needed("2.0.0"));
}
