// SPDX-License-Identifier: MIT
// counter_cli.c - placeholder until the example lands.
int main(void) { return 1; }
