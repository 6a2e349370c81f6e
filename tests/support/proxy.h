/* SPDX-License-Identifier: MIT */
/*
 * proxy.h - a TCP relay between dobjd and PostgreSQL, for tests that need the network to fail
 * under a live connection: fx_proxy_cut closes every connection relayed so far, on both sides,
 * while the server may still be running what it was sent. New connections are relayed as
 * before. One thread relays all of them with blocking writes: meant for a test's small
 * traffic, not for bulk transfers in both directions at once.
 */
#ifndef DOBJ_TEST_PROXY_H
#define DOBJ_TEST_PROXY_H

#include <stddef.h>

typedef struct fx_proxy fx_proxy;

/* fx_proxy_start relays a free loopback port to the server of dsn (a URI or key=value string;
 * TCP or a unix socket directory) and writes into out the same dsn through the relay, as a
 * key=value string (keywords appended to it override its own). Fails the test on any error. */
fx_proxy *fx_proxy_start(const char *dsn, char *out, size_t outlen);

/* fx_proxy_cut closes the connections relayed so far; it returns how many it closed. */
int fx_proxy_cut(fx_proxy *p);

/* fx_proxy_freeze stops relaying and accepting, leaving every connection open: a server that
 * answers TCP but nothing else. It returns how many connections it froze. */
int fx_proxy_freeze(fx_proxy *p);

void fx_proxy_stop(fx_proxy *p);

#endif /* DOBJ_TEST_PROXY_H */
