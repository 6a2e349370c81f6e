// SPDX-License-Identifier: MIT
// client.c - placeholder until the client lands.
typedef int dobj_client_placeholder;
