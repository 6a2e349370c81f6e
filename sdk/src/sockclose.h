/* SPDX-License-Identifier: MIT */
/* sockclose.h - nng_close with a bound on its wait, for the client's and the server's sockets.
 * Not installed. */
#ifndef DOBJ_SRC_SOCKCLOSE_H
#define DOBJ_SRC_SOCKCLOSE_H

#include <stdbool.h>

#include <nng/nng.h>

/* dobj__sock_close closes sock and waits for the close to end, for wait_ms at most: true if it
 * did. nng before 1.8 can wait for good in nng_close when a message arrives on a connection of
 * the socket as it closes (nng issues 1543 and 1813: a pipe's receive left prepared and never
 * finished); past wait_ms the close is left to a thread of its own, which keeps the socket's
 * resources, and the caller goes on. */
bool dobj__sock_close(nng_socket sock, int wait_ms);

#endif /* DOBJ_SRC_SOCKCLOSE_H */
