// SPDX-License-Identifier: MIT
// fixture.c - placeholder until the fixtures land.
typedef int fixture_placeholder;
