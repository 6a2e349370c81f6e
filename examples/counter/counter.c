// SPDX-License-Identifier: MIT
// counter.c - placeholder until the example lands.
typedef int counter_placeholder;
