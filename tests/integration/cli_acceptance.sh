#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cli_acceptance.sh - the core issue's acceptance checks, as a user would run them: the stock
# dobjd and counter-cli processes against a fresh database on DOBJ_TEST_DATABASE_URL.
#   1. increment x 5 twice prints 5 then 10; after a dobjd restart, get x prints 10
#   2. 16 concurrent counter-cli loops x 40 increments of one object give 640
#   3. kill -9 of dobjd under load: after a restart the count is at least every value that
#      was acknowledged
#   4. scripts/run.sh --once (the README's run command) works on its own database
# Usage (ctest runs it): cli_acceptance.sh BUILD_DIR
set -euo pipefail

build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
dobjd=$build/server/dobjd
cli=$build/examples/counter-cli
: "${DOBJ_TEST_DATABASE_URL:?DOBJ_TEST_DATABASE_URL is not set (run scripts/test.sh)}"
# No HTTP endpoint (it would take the default port 9700, which parallel tests share).
export DOBJ_HTTP_LISTEN=

work=$(mktemp -d /tmp/dobj-accept.XXXXXX)
db=dobj_accept_$$_$RANDOM
pid=""
fail() {
	echo "FAIL: $*" >&2
	[[ -f $work/dobjd.log ]] && tail -n 20 "$work/dobjd.log" >&2
	exit 1
}
cleanup() {
	[[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
	jobs -p | xargs -r kill -KILL 2>/dev/null || true
	psql -q "$DOBJ_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	psql -q "$DOBJ_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS ${db}_run WITH (FORCE)" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# with_db NAME: the test server's DSN with the database replaced
with_db() {
	local base=${DOBJ_TEST_DATABASE_URL%%\?*}
	echo "${base%/*}/$1"
}

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

start_dobjd() {
	"$dobjd" serve --listen "$url" --database-url "$dsn" >>"$work/dobjd.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		"$cli" --url "$url" --timeout-ms 300 get probe >/dev/null 2>&1 && return
		kill -0 "$pid" 2>/dev/null || fail "dobjd exited during start-up"
		sleep 0.1
	done
	fail "dobjd did not answer within 20 s"
}

stop_dobjd() {
	kill -TERM "$pid"
	wait "$pid" || fail "dobjd exited with $? on SIGTERM"
	pid=""
}

psql -q "$DOBJ_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
dsn=$(with_db "$db")

# 0. dobjd refuses an unmigrated database and bad flags, saying what to do
if "$dobjd" serve --listen "tcp://127.0.0.1:$(free_port)" --database-url "$dsn" 2>"$work/refuse.log"; then
	fail "dobjd served a database without its schema"
fi
grep -q 'run `dobjd migrate`' "$work/refuse.log" || fail "no hint to run dobjd migrate: $(cat "$work/refuse.log")"
set +e
"$dobjd" --shards abc --database-url "$dsn" 2>"$work/flag.log"
rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q -- '--shards' "$work/flag.log" || fail "bad --shards: exit $rc, $(cat "$work/flag.log")"
echo "ok 0 - dobjd refuses an unmigrated database and a bad flag value"
"$dobjd" migrate --database-url "$dsn" >/dev/null
url=tcp://127.0.0.1:$(free_port)
start_dobjd

# 1. increments print the new count, and the count survives a restart
[[ $("$cli" --url "$url" increment x 5) == 5 ]] || fail "first increment did not print 5"
[[ $("$cli" --url "$url" increment x 5) == 10 ]] || fail "second increment did not print 10"
stop_dobjd
start_dobjd
[[ $("$cli" --url "$url" get x) == 10 ]] || fail "get x after restart did not print 10"
echo "ok 1 - increment 5 twice prints 5 then 10; 10 after a restart"

# 2. 16 concurrent loops x 40 increments of one object
for i in $(seq 1 16); do
	(for _ in $(seq 1 40); do "$cli" --url "$url" increment hot 1 >/dev/null || exit 1; done) &
done
wait_ok=0
for job in $(jobs -p); do
	[[ $job == "$pid" ]] && continue
	wait "$job" || wait_ok=1
done
[[ $wait_ok -eq 0 ]] || fail "an increment loop failed"
got=$("$cli" --url "$url" get hot)
[[ $got == 640 ]] || fail "16 x 40 increments gave $got, not 640"
echo "ok 2 - 16 concurrent loops x 40 increments give 640"

# 3. kill -9 under load: every acknowledged value survives
for i in $(seq 1 8); do
	(while v=$("$cli" --url "$url" --timeout-ms 3000 increment k9 1 2>/dev/null); do
		echo "$v" >>"$work/acked.$i"
	done) &
done
for _ in $(seq 1 100); do
	[[ $(cat "$work"/acked.* 2>/dev/null | wc -l) -ge 200 ]] && break
	sleep 0.05
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
pid=""
for job in $(jobs -p); do wait "$job" 2>/dev/null || true; done
max=$(cat "$work"/acked.* | sort -n | tail -n 1)
[[ -n "$max" ]] || fail "no increment was acknowledged before the kill"
start_dobjd
got=$("$cli" --url "$url" get k9)
[[ $got -ge $max ]] || fail "after kill -9 the count is $got, below the acknowledged $max"
echo "ok 3 - after kill -9 under load the count $got >= every acknowledged value (max $max)"

# 3b. the seed's order flow through order-cli, error texts exact
ocli=$build/examples/order-cli
[[ $("$ocli" --url "$url" init order-123) == pending ]] || fail "order init"
err=$("$ocli" --url "$url" send order-123 deliver 2>&1 >/dev/null) && fail "deliver on a pending order succeeded"
[[ $err == 'FAILED_PRECONDITION: Invalid transition: state "pending" does not handle event "deliver". Valid events: [pay, cancel]' ]] ||
	fail "invalid transition text: $err"
[[ $("$ocli" --url "$url" send order-123 pay) == paid ]] || fail "pay"
[[ $("$ocli" --url "$url" send order-123 ship TRACK-456) == shipped ]] || fail "ship"
[[ $("$ocli" --url "$url" send order-123 deliver) == delivered ]] || fail "deliver"
err=$("$ocli" --url "$url" send order-123 deliver 2>&1 >/dev/null) && fail "deliver twice succeeded"
[[ $err == 'FAILED_PRECONDITION: No transitions defined for state "delivered". Cannot handle event "deliver".' ]] ||
	fail "terminal state text: $err"
[[ $("$ocli" --url "$url" state order-123) == delivered ]] || fail "state"
echo "ok 3b - the seed's order flow through order-cli, with its error texts"
stop_dobjd

# 4. the README's run command, on its own database and port
psql -q "$DOBJ_TEST_DATABASE_URL" -c "CREATE DATABASE ${db}_run" >/dev/null
out=$(DOBJ_BUILD_DIR=$build DOBJ_DATABASE_URL=$(with_db "${db}_run") \
	DOBJ_LISTEN=tcp://127.0.0.1:$(free_port) "$root/scripts/run.sh" --once 2>"$work/run.log") ||
	{ cat "$work/run.log" >&2; fail "scripts/run.sh --once failed"; }
[[ $(echo "$out" | tail -n 1) == 1 ]] || fail "scripts/run.sh demo printed: $out"
echo "ok 4 - scripts/run.sh --once serves and answers the demo call"
echo "cli_acceptance: all 6 checks passed"
