#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fuzz.sh - builds the libFuzzer build in build-fuzz/ (clang, -DDOBJ_FUZZ=ON) and runs each
# harness of tests/fuzz for SECONDS (default 60), one after the other, on a copy of its corpus
# (build-fuzz/corpus/<name>; the checked-in corpus is not touched). A crash leaves its input
# in build-fuzz/crashes/<name>/. Exits non-zero if any harness crashed.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# Needs no PostgreSQL. Add an input that found a bug to tests/fuzz/corpus/<name>/ (README).
set -euo pipefail

usage() {
	echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS...]" >&2
	exit 2
}

secs=60
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
[[ $secs -gt 0 ]] || usage

cd "$(dirname "$0")/.."
bash scripts/deps.sh
root=$PWD
build=$root/build-fuzz

CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOBJ_FUZZ=ON \
	-DDOBJ_BUILD_TESTS=OFF -DDOBJ_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_all

harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
	for d in tests/fuzz/corpus/*/; do
		harnesses+=("$(basename "$d")")
	done
fi

failed=()
for h in "${harnesses[@]}"; do
	bin=$build/tests/fuzz/fuzz_$h
	[[ -x $bin ]] || {
		echo "fuzz.sh: no harness $h" >&2
		exit 2
	}
	corpus=$build/corpus/$h
	crashes=$build/crashes/$h
	mkdir -p "$corpus" "$crashes"
	cp -n tests/fuzz/corpus/"$h"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz.sh: $h for ${secs}s" >&2
	log=$build/fuzz-$h.log
	if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 \
		"$corpus" >"$log" 2>&1; then
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" |
			sed "s/^/fuzz.sh: $h: /" >&2 || true
	else
		echo "fuzz.sh: $h CRASHED; input in $crashes/, log in $log:" >&2
		grep -E 'ERROR|SUMMARY|check failed|Test unit written' "$log" | head -20 >&2 || true
		failed+=("$h")
	fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
	echo "fuzz.sh: crashes in: ${failed[*]}" >&2
	exit 1
fi
echo "fuzz.sh: no crashes in ${harnesses[*]} (${secs}s each)" >&2
