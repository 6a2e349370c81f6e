#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_pairs.sh - bench/pairs.sh, the tool docs/performance.md compares builds with, on one
# short pair: dobjd against itself with other flags. It starts its own PostgreSQL (scripts/pg.sh)
# and must report both sides' runs without errors, their CPU and group commits, and the ratio.
# Usage (ctest runs it): bench_pairs.sh BUILD_DIR
set -euo pipefail

build=$(cd "$1" && pwd -P) # pairs.sh reports the binaries by their real path
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp /tmp/dobj-bench-pairs-test.XXXXXX)
trap 'rm -f "$out"' EXIT
fail() {
	echo "FAIL: $*" >&2
	cat "$out" >&2
	exit 1
}

BUILD=$build "$root/bench/pairs.sh" --pairs 1 --secs 1 --inflight 8 --objects 200 \
	--b-args "--shards 1" "$build/server/dobjd" "$build/server/dobjd" >"$out" 2>&1 ||
	fail "bench/pairs.sh exited with $?"
json=$(tail -1 "$out")
num='[0-9]+(\.[0-9]+)?'
grep -Fq "\"a\":{\"dobjd\":\"$build/server/dobjd\",\"args\":\"\"," <<<"$json" ||
	fail "A is not the dobjd given, without flags"
grep -Fq "\"b\":{\"dobjd\":\"$build/server/dobjd\",\"args\":\"--shards 1\"," <<<"$json" ||
	fail "B is not the dobjd given, with its flags"
[[ $(grep -Eo '"errors":[0-9]+' <<<"$json" | sort -u) == '"errors":0' ]] ||
	fail "a run had errors, or none was reported"
[[ $(grep -Eo "\"calls_per_s\":$num" <<<"$json" | wc -l) == 2 ]] || fail "not two runs' rates"
[[ $(grep -Eo "\"calls_per_s\":$num" <<<"$json" | awk -F: '$2 > 0 {n++} END {print n + 0}') == 2 ]] ||
	fail "a run made no calls"
# every run of increments commits, so both sides have transactions of at least one turn
[[ $(grep -Eo "\"turns_per_transaction\":$num" <<<"$json" |
	awk -F: '$2 >= 1 {n++} END {print n + 0}') == 2 ]] || fail "group commits not read"
[[ $(grep -Eo "\"postgres\":$num" <<<"$json" | awk -F: '$2 > 0 {n++} END {print n + 0}') == 2 ]] ||
	fail "PostgreSQL's CPU not measured"
grep -Eq "\"b_over_a\":\{\"median\":$num,\"by_pair\":\[$num\],\"b_faster\":[01],\"pairs\":1\}" \
	<<<"$json" || fail "no ratio of the pair"
grep -q '^B / A, median of the pairs' "$out" || fail "no summary table"
echo "ok: bench/pairs.sh"
