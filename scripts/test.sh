#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test.sh - the one test command (README, CI): dependencies, a private PostgreSQL, then build
# and ctest twice: build/ (RelWithDebInfo) and build-asan/ (ASan + UBSan).
#
#   scripts/test.sh [--quick]     --quick: only the normal build
#
# DOBJ_TEST_DATABASE_URL set: use that server instead of starting one. Ends with the line
# "N passed, N failed" over both runs (a build that fails counts as one failure) and exits
# non-zero if anything failed.
set -euo pipefail

usage() {
	echo "usage: scripts/test.sh [--quick]" >&2
	exit 2
}

quick=0
for arg in "$@"; do
	case "$arg" in
	--quick) quick=1 ;;
	*) usage ;;
	esac
done

cd "$(dirname "$0")/.."
bash scripts/deps.sh

PGDIR=""
cleanup() {
	if [[ -n "$PGDIR" ]]; then
		scripts/pg.sh stop "$PGDIR/pg" >/dev/null 2>&1 || true
		rm -rf "$PGDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z "${DOBJ_TEST_DATABASE_URL:-}" ]]; then
	PGDIR=$(mktemp -d /tmp/dobj-test.XXXXXX)
	chmod 755 "$PGDIR" # the postgres user must reach $PGDIR/pg when we are root
	DOBJ_TEST_DATABASE_URL=$(scripts/pg.sh start "$PGDIR/pg")
	echo "test.sh: private PostgreSQL at $DOBJ_TEST_DATABASE_URL" >&2
fi
export DOBJ_TEST_DATABASE_URL

passed=0
failed=0

# run_suite DIR CMAKE-ARGS...: configure, build and ctest one build tree; adds to the counts.
run_suite() {
	local dir=$1 log p f total
	shift
	echo "==== $dir: configure and build" >&2
	if ! cmake -S . -B "$dir" "$@" >&2 || ! cmake --build "$dir" -j2 >&2; then
		echo "==== $dir: BUILD FAILED" >&2
		failed=$((failed + 1))
		return
	fi
	echo "==== $dir: ctest" >&2
	log="$dir/ctest.out"
	(cd "$dir" && ctest --output-on-failure -j2) 2>&1 | tee "$log" >&2 || true
	# "100% tests passed, 0 tests failed out of 12"
	if read -r f total < <(sed -nE 's/.* tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log"); then
		p=$((total - f))
	elif grep -q "No tests were found" "$log"; then
		p=0 f=0
	else
		echo "==== $dir: ctest did not report results" >&2
		p=0 f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOBJ_SANITIZE=OFF
if [[ $quick -eq 0 ]]; then
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DDOBJ_SANITIZE=ON
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
