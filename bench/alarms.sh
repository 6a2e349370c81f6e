#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/alarms.sh - how late alarms start: one alarm at a time (20 runs), and 10,000 alarms due
# at the same instant. The lag of a run is the server clock when its handler starts minus the
# alarm's due time, recorded by the TestKV class of dobjd-test (key alarm_lag_ms).
#
#   bench/alarms.sh [BUILD_DIR]     (default build/; run scripts/test.sh or the README set-up
#                                    first so that BUILD_DIR/tests/dobjd-test exists)
#
# Uses DOBJ_DATABASE_URL's server if set, else a private PostgreSQL. Prints a table and, last,
# one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dobjd=$build/tests/dobjd-test
[[ -x $dobjd ]] || { echo "bench/alarms.sh: $dobjd not built" >&2; exit 2; }

pgdir="" pid="" db=""
log=$(mktemp /tmp/dobj-bench-alarms-log.XXXXXX)
cleanup() {
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	# on failure too: a database left on the caller's server would pile up
	[[ -n $db ]] && psql -q "$base" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	[[ -n $pgdir ]] && { scripts/pg.sh stop "$pgdir/pg" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
	rm -f "$log"
	return 0
}
trap cleanup EXIT
if [[ -z ${DOBJ_DATABASE_URL:-} ]]; then
	pgdir=$(mktemp -d /tmp/dobj-bench-alarms.XXXXXX)
	chmod 755 "$pgdir"
	base=$(scripts/pg.sh start "$pgdir/pg")
else
	base=$DOBJ_DATABASE_URL
fi
psql -q "$base" -c "CREATE DATABASE dobj_bench_alarms_$$" >/dev/null
db=dobj_bench_alarms_$$
query=""
[[ $base == *\?* ]] && query="?${base#*\?}" # e.g. host=/dir for a unix socket
dsn=${base%%\?*}
dsn=${dsn%/*}/$db$query
q() { psql -qAt "$dsn" -c "$1"; }

"$dobjd" migrate --database-url "$dsn" >/dev/null
DOBJ_HTTP_LISTEN= "$dobjd" --listen tcp://127.0.0.1:0 --database-url "$dsn" 2>"$log" &
pid=$!
for _ in $(seq 1 100); do
	[[ $(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND application_name = 'dobjd'") -ge 2 ]] && break
	sleep 0.1
done

# insert_alarms PREFIX N DELAY_MS: N alarms of TestKV objects PREFIX-0.. due DELAY_MS from now.
insert_alarms() {
	q "INSERT INTO dobj_alarms (class, id, due_ms)
	   SELECT 'TestKV', sha256(convert_to('TestKV', 'UTF8') || '\\x00'::bytea || convert_to('$1-' || i, 'UTF8')),
	          (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3
	   FROM generate_series(0, $2 - 1) AS i;
	   NOTIFY dobj_alarms;"
}
wait_fired() {
	for _ in $(seq 1 1200); do
		[[ $(q "SELECT count(*) FROM dobj_alarms") == 0 ]] && return
		sleep 0.05
	done
	echo "bench/alarms.sh: alarms did not fire within 60 s" >&2
	exit 1
}
lag_stats() { # prefix -> "p50 p99 max count"
	q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v))::int,
	          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY v))::int, max(v), count(*)
	   FROM (SELECT convert_from(value, 'UTF8')::bigint AS v FROM dobj_storage
	         WHERE class = 'TestKV' AND key = 'alarm_lag_ms' AND id IN
	           (SELECT sha256(convert_to('TestKV', 'UTF8') || '\\x00'::bytea ||
	                          convert_to('$1-' || i, 'UTF8')) FROM generate_series(0, $2 - 1) i)) s" |
		tr '|' ' '
}

for i in $(seq 0 19); do
	insert_alarms "one$i" 1 300
	wait_fired
done
# the 20 single alarms: gather their lags under one prefix-free query
single=$(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v))::int,
                   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY v))::int, max(v), count(*)
            FROM (SELECT convert_from(value, 'UTF8')::bigint AS v FROM dobj_storage
                  WHERE class = 'TestKV' AND key = 'alarm_lag_ms') s" | tr '|' ' ')
read -r s50 s99 smax scount <<<"$single"

# wall clock minus time since boot: it moves only when the wall clock is stepped (NTP, or a
# virtual machine paused and resumed), which makes every lag below look that much longer
clock_step() { awk -v now="$(date +%s.%N)" '{printf "%.0f", (now - $1) * 1000}' /proc/uptime; }
step0=$(clock_step)
start=$(date +%s%N)
insert_alarms many 10000 3000
wait_fired
end=$(date +%s%N)
step=$(($(clock_step) - step0))
read -r m50 m99 mmax mcount <<<"$(lag_stats many 10000)"
if ((step > 500 || step < -500)); then
	echo "bench/alarms.sh: the wall clock moved ${step} ms against the time since boot during the burst; its lags include that" >&2
fi
if ((m99 > 1000)); then
	echo "bench/alarms.sh: the burst was late (p99 ${m99} ms); the last lines of dobjd's log:" >&2
	tail -20 "$log" >&2
fi

printf '%-34s %8s %8s %8s %8s\n' "alarm lag (ms)" p50 p99 max runs
printf '%-34s %8s %8s %8s %8s\n' "one alarm at a time" "$s50" "$s99" "$smax" "$scount"
printf '%-34s %8s %8s %8s %8s\n' "10,000 due at the same instant" "$m50" "$m99" "$mmax" "$mcount"
echo "(10,000 alarms: all fired $(( (end - start) / 1000000 - 3000 )) ms after their due time)"
printf '{"one_alarm_p50_ms":%s,"one_alarm_p99_ms":%s,"burst_10000_p50_ms":%s,"burst_10000_p99_ms":%s,"burst_10000_max_ms":%s,"burst_10000_fired":%s}\n' \
	"$s50" "$s99" "$m50" "$m99" "$mmax" "$mcount"
