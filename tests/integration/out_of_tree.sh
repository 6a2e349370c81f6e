#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# out_of_tree.sh - installs this build into a temporary prefix, builds examples/out-of-tree
# against that prefix only (warnings as errors), then calls its class Page both from its own
# server binary and as a plugin of the installed stock dobjd, on one fresh database.
# Usage (ctest runs it): out_of_tree.sh BUILD_DIR SANITIZE(ON|OFF)
set -euo pipefail

build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${DOBJ_TEST_DATABASE_URL:?DOBJ_TEST_DATABASE_URL is not set (run scripts/test.sh)}"
if [[ ${2:-OFF} == ON ]]; then
	# An instrumented libdobj needs the sanitizer runtime loaded first in every program that
	# uses it; the plain build runs this test.
	echo "out_of_tree: skipped in the sanitizer build"
	exit 77
fi

work=$(mktemp -d /tmp/dobj-oot.XXXXXX)
db=dobj_oot_$$_$RANDOM
pids=()
fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/*.log; do [[ -f $f ]] && { echo "== $f" >&2; tail -n 20 "$f" >&2; }; done
	exit 1
}
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	psql -q "$DOBJ_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+): no client port takes it
		if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	fail "no free port"
}

# 1. install, and build the example against the prefix alone
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 || fail "cmake --install failed"
cmake -S "$root/examples/out-of-tree" -B "$work/visits" -DCMAKE_PREFIX_PATH="$work/prefix" \
	-DCMAKE_C_FLAGS=-Werror >"$work/configure.log" 2>&1 || fail "configuring the example failed"
cmake --build "$work/visits" -j2 >"$work/build.log" 2>&1 || fail "building the example failed"
[[ -f $work/prefix/lib/pkgconfig/dobj.pc ]] || fail "dobj.pc was not installed"
PKG_CONFIG_PATH=$work/prefix/lib/pkgconfig pkg-config --cflags --libs dobj | grep -q -- -ldobj ||
	fail "pkg-config dobj does not give -ldobj"
echo "ok 1 - examples/out-of-tree builds against the installed prefix only"

psql -q "$DOBJ_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
base=${DOBJ_TEST_DATABASE_URL%%\?*}
export DOBJ_DATABASE_URL=${base%/*}/$db
export DOBJ_HTTP_LISTEN=
"$work/visits/visits-server" migrate >/dev/null || fail "visits-server migrate failed"

cli=$work/visits/visits-cli
wait_up() {
	for _ in $(seq 1 200); do
		"$cli" "$1" stats probe >/dev/null 2>&1 && return
		kill -0 "$2" 2>/dev/null || fail "server exited during start-up"
		sleep 0.1
	done
	fail "no answer from $1"
}

# 2. the class in its own server binary
url1=tcp://127.0.0.1:$(free_port)
"$work/visits/visits-server" --listen "$url1" >"$work/own.log" 2>&1 &
pids+=($!)
wait_up "$url1" "${pids[0]}"
[[ $("$cli" "$url1" hit home alice) == "1 alice" ]] || fail "hit on visits-server"
[[ $("$cli" "$url1" hit home bob) == "2 bob" ]] || fail "second hit on visits-server"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "visits-server did not stop cleanly"
echo "ok 2 - class Page answers from its own server binary"

# 3. the same class as a plugin of the installed stock dobjd, on the same database
url2=tcp://127.0.0.1:$(free_port)
"$work/prefix/bin/dobjd" --listen "$url2" --plugin "$work/visits/visits_plugin.so" >"$work/plugin.log" 2>&1 &
pids+=($!)
wait_up "$url2" "${pids[1]}"
[[ $("$cli" "$url2" stats home) == "2 bob" ]] || fail "stats through the plugin: $("$cli" "$url2" stats home)"
[[ $("$cli" "$url2" hit home carol) == "3 carol" ]] || fail "hit through the plugin"
out=$("$cli" "$url2" hit home "" 2>&1) && fail "an empty visitor was accepted"
[[ $out == "INVALID_ARGUMENT: Hit: visitor must not be empty" ]] || fail "empty visitor: $out"
kill -TERM "${pids[1]}"
wait "${pids[1]}" || fail "dobjd did not stop cleanly"
echo "ok 3 - class Page answers as a plugin of the stock dobjd"
echo "out_of_tree: all 3 checks passed"
