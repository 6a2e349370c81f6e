#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh - dobj's standard benchmark suite on this machine: a private PostgreSQL and
# dobjd (RelWithDebInfo), dobj-bench against them, pgbench for PostgreSQL's own ceiling, then
# a table and one JSON line (last line of stdout). Everything started here is stopped on exit.
#
#   bench/run.sh            the suite: B0-B5, the pgbench ceiling, ratios, memory, the CPU
#                           each of B0-B3 costs per call in dobjd, PostgreSQL and dobj-bench,
#                           and B1's and B2's group commits (dobjd's /metrics) (~8 min)
#   bench/run.sh memory     the cache limit: 1,000,000 objects through --cache-objects 100000
#
# Environment: RUNS (5) runs per figure, SECS (10) seconds per run, BUILD (build/ if it is a
# RelWithDebInfo build, else build-bench/), PG_TCP=1 (PostgreSQL over TCP loopback rather than
# its unix socket). docs/performance.md explains the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-suite}
[[ $mode == suite || $mode == memory ]] || { echo "usage: bench/run.sh [memory]" >&2; exit 2; }
RUNS=${RUNS:-5}
SECS=${SECS:-10}
INFLIGHT=64

# --- build ---------------------------------------------------------------------------------
if [[ -z ${BUILD:-} ]]; then
	BUILD=build-bench
	if grep -qs '^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$' build/CMakeCache.txt &&
		! grep -qs '^DOBJ_SANITIZE:BOOL=ON$' build/CMakeCache.txt; then
		BUILD=build
	fi
fi
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
	cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
if grep -qs '^DOBJ_BUILD_TESTS:BOOL=OFF$' "$BUILD/CMakeCache.txt"; then
	echo "bench/run.sh: $BUILD/ is configured with -DDOBJ_BUILD_TESTS=OFF, but B5 needs" \
		"dobjd-test (a server with the test classes): reconfigure it with" \
		"-DDOBJ_BUILD_TESTS=ON, or set BUILD to another build directory" >&2
	exit 2
fi
echo "bench/run.sh: building dobjd, dobj-bench and dobjd-test in $BUILD/" >&2
cmake --build "$BUILD" -j2 --target dobjd dobj-bench dobjd-test >/dev/null
dobjd=$BUILD/server/dobjd
bench=$BUILD/tools/dobj-bench/dobj-bench
prog=bench/run.sh
commit_runs='^B[12]$'
# shellcheck source=bench/lib.sh
. bench/lib.sh
PGBIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $PGBIN/pgbench ]] || PGBIN=$(dirname "$(command -v pgbench)")

# --- services ------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/dobj-bench-run.XXXXXX)
chmod 755 "$tmp"
pid="" bpid=""
cleanup() {
	[[ -n $bpid ]] && kill -TERM "$bpid" 2>/dev/null || true # memory mode's load
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
bench_services

# by_round NAME: NAME's calls/s over B0's of the same round, one per line. The rounds are
# interleaved, so each pair saw the same machine; the median of these is the paired ratio.
by_round() { paste <(col "$1" calls_per_s) <(col B0 calls_per_s) | awk '$2 > 0 {printf "%.3f\n", $1 / $2}'; }
round_json() { by_round "$1" | paste -sd, | sed 's/^/[/; s/$/]/'; }
round_median() { by_round "$1" | median | awk '{printf "%.3f", $1}'; }

# --- memory mode -----------------------------------------------------------------------------
if [[ $mode == memory ]]; then
	start_dobjd --cache-objects 100000
	rss0=$(rss_kb)
	echo "bench/run.sh: 100,000 objects (one increment each)" >&2
	"$bench" --url "$url" --scenario increment --sequential --objects 100000 --json >/dev/null
	rss100k=$(rss_kb)
	echo "bench/run.sh: 1,000,000 distinct objects through a cache of 100,000" >&2
	peak=$rss100k
	"$bench" --url "$url" --scenario increment --sequential --objects 1000000 --json \
		>"$tmp/mem.out" 2>/dev/null &
	bpid=$!
	while kill -0 "$bpid" 2>/dev/null; do
		r=$(rss_kb)
		((r > peak)) && peak=$r
		sleep 1
	done
	wait "$bpid"
	rss1m=$(rss_kb)
	line=$(tail -1 "$tmp/mem.out")
	live=$(q "SELECT count(*) FROM dobj_objects WHERE class = 'Counter'")
	printf '%-46s %10s\n' "dobjd RSS (MiB)" ""
	printf '%-46s %10.1f\n' "idle, after start" "$(awk -v k="$rss0" 'BEGIN {print k / 1024}')"
	printf '%-46s %10.1f\n' "after 100,000 objects" "$(awk -v k="$rss100k" 'BEGIN {print k / 1024}')"
	printf '%-46s %10.1f\n' "after 1,000,000 objects (cache 100,000)" "$(awk -v k="$rss1m" 'BEGIN {print k / 1024}')"
	printf '%-46s %10.1f\n' "peak during the 1,000,000" "$(awk -v k="$peak" 'BEGIN {print k / 1024}')"
	printf '%-46s %10s\n' "objects in PostgreSQL" "$live"
	printf '%-46s %10s\n' "increments/s (1,000,000 sequential)" "$(jnum calls_per_s <<<"$line")"
	printf '{"mode":"memory","cache_objects":100000,"rss_idle_kb":%s,"rss_100k_kb":%s,"rss_1m_kb":%s,"rss_peak_kb":%s,"per_object_bytes":%s,"objects_stored":%s,"errors":%s,"machine":%s}\n' \
		"$rss0" "$rss100k" "$rss1m" "$peak" "$(((rss100k - rss0) * 1024 / 100000))" "$live" \
		"$(jerrors <<<"$line")" "$(machine_json)"
	exit 0
fi

# --- B0-B3: interleaved rounds, so that drift in the machine's load hits every figure --------
start_dobjd
echo "bench/run.sh: warming 10,000 dobj.Echo and 10,000 Counter objects" >&2
"$bench" --url "$url" --scenario echo --sequential --objects 10000 >/dev/null 2>&1 || true
"$bench" --url "$url" --scenario increment --sequential --objects 10000 >/dev/null 2>&1
"$bench" --url "$url" --scenario increment --hot --count 1 --warmup 0 >/dev/null 2>&1
for r in $(seq 1 "$RUNS"); do
	echo "bench/run.sh: round $r of $RUNS" >&2
	run_bench B0 --scenario echo --objects 10000 --duration "$SECS"
	run_bench B1 --scenario increment --hot --duration "$SECS"
	run_bench B2 --scenario increment --objects 10000 --duration "$SECS"
	run_bench B3 --scenario get --objects 10000 --duration "$SECS"
done

# --- PostgreSQL's ceiling: 100-row upserts shaped like dobj_storage's rows --------------------
echo "bench/run.sh: pgbench, 100-row upsert transactions" >&2
q "CREATE TABLE pgb_storage (class text COLLATE \"C\", id bytea, key text COLLATE \"C\",
     value bytea, PRIMARY KEY (class, id, key))"
cat >"$tmp/upsert.sql" <<'EOF'
\set o random(0, 99)
INSERT INTO pgb_storage (class, id, key, value)
SELECT 'Counter', sha256(int8send(:o * 100 + i)), 'count', '\x0801'::bytea
FROM generate_series(0, 99) AS i
ON CONFLICT (class, id, key) DO UPDATE SET value = EXCLUDED.value;
EOF
for r in $(seq 1 "$RUNS"); do
	"$PGBIN/pgbench" -n -M prepared -c 8 -j 2 -T "$SECS" -f "$tmp/upsert.sql" "$dsn" \
		2>/dev/null | awk '/^tps = / {print $3}' >>"$tmp/pgb.tps"
	printf '  pgbench %10.0f transactions/s\n' "$(tail -1 "$tmp/pgb.tps")" >&2
done
pg_tps=$(median <"$tmp/pgb.tps")
pg_rows=$(awk -v t="$pg_tps" 'BEGIN {printf "%.0f", t * 100}')

# --- B4: cold activation of 100,000 objects of 10 keys ---------------------------------------
stop_dobjd
echo "bench/run.sh: B4, inserting 100,000 Counter objects of 10 keys with SQL" >&2
q "DELETE FROM dobj_storage WHERE class = 'Counter'; DELETE FROM dobj_objects WHERE class = 'Counter'"
q "CREATE TEMP TABLE ids AS
     SELECT sha256(convert_to('Counter', 'UTF8') || '\\x00'::bytea ||
                   convert_to('bench-' || i, 'UTF8')) AS id
     FROM generate_series(0, 99999) AS i;
   INSERT INTO dobj_objects (class, id) SELECT 'Counter', id FROM ids;
   INSERT INTO dobj_storage (class, id, key, value)
     SELECT 'Counter', id, 'count', '\\x082a'::bytea FROM ids;   -- CounterSchema{count: 42}
   INSERT INTO dobj_storage (class, id, key, value)
     SELECT 'Counter', id, 'k' || k, sha256(id || int4send(k)) || sha256(int4send(k) || id)
     FROM ids, generate_series(1, 9) AS k"
q "VACUUM ANALYZE dobj_objects"
q "VACUUM ANALYZE dobj_storage"
for r in $(seq 1 "$RUNS"); do
	start_dobjd --cache-objects 200000
	rss_before=$(rss_kb)
	run_bench B4 --scenario get --sequential --objects 100000
	echo "$rss_before $(rss_kb)" >>"$tmp/rss"
	stop_dobjd
done
read -r rss_before rss_after <<<"$(tail -1 "$tmp/rss")"
per_obj=$(((rss_after - rss_before) * 1024 / 100000))

# --- B5: alarms (bench/alarms.sh, on the same PostgreSQL, its own database) ------------------
echo "bench/run.sh: B5, bench/alarms.sh" >&2
DOBJ_DATABASE_URL=$dsn bench/alarms.sh "$BUILD" >"$tmp/alarms.out" 2>"$tmp/alarms.err" || true
cat "$tmp/alarms.err" >&2 # its warnings: a late burst, a stepped wall clock
b5=$(tail -1 "$tmp/alarms.out")
[[ $b5 == "{"* ]] || { cat "$tmp/alarms.out" >&2; b5=null; }

# --- report ----------------------------------------------------------------------------------
load_end=$(loadavg)
b0=$(col B0 calls_per_s | median)
echo
printf '%-44s %10s %21s %8s %8s %7s %7s\n' "figure (median of $RUNS runs, ${SECS} s each)" \
	"calls/s" "range" "p50 ms" "p99 ms" "errors" "vs B0"
row() { # NAME LABEL
	local m lo hi p50 p99 e
	read -r m lo hi p50 p99 e <<<"$(summary "$1")"
	printf '%-44s %10.0f %10.0f-%-10.0f %8.3f %8.3f %7s %7s\n' "$2" "$m" "$lo" "$hi" "$p50" \
		"$p99" "$e" "$(ratio "$m" "$b0")"
}
row B0 "B0 echo (no storage), 10,000 objects"
row B1 "B1 durable increments, one hot object"
row B2 "B2 durable increments, 10,000 objects"
row B3 "B3 reads of cached objects, 10,000"
row B4 "B4 cold activations, 100,000 x 10 keys"
printf '%-44s %10.0f transactions/s, %.0f rows/s\n' "PostgreSQL: pgbench 100-row upserts" \
	"$pg_tps" "$pg_rows"
printf '%-44s %10s\n' "B2 / PostgreSQL rows/s" "$(ratio "$(col B2 calls_per_s | median)" "$pg_rows")"
for f in B1 B2 B3; do
	printf '%-44s %s (median %s)\n' "$f / B0 round by round" "$(by_round "$f" | paste -sd' ')" \
		"$(round_median "$f")"
done
printf '%-44s %8s %8s %8s %8s %8s %8s %8s\n' "CPU per call, us (median of runs)" "dobjd" \
	"Postgres" "bench" "total" "idle %" "others %" "steal %"
for f in B0 B1 B2 B3; do
	read -r cd cp cb ci co cs <<<"$(cpu_med "$f")"
	printf '%-44s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f\n' "  $f" "$cd" "$cp" "$cb" \
		"$(awk -v a="$cd" -v b="$cp" -v c="$cb" 'BEGIN {print a + b + c}')" "$ci" "$co" "$cs"
done
printf '%-44s %16s %22s\n' "group commit, dobjd's metrics (median of runs)" \
	"transactions/s" "turns per transaction"
for f in B1 B2; do
	printf '%-44s %16s %22s\n' "  $f" "$(tx_med "$f" 1)" "$(tx_med "$f" 2)"
done
# Outside load: what other processes and the hypervisor took of the machine during a run. It
# moves B2 most (its commits are one serial path through PostgreSQL; see docs/performance.md).
for f in B0 B2; do
	printf '%-44s %s\n' "$f outside load by round, % of the machine" \
		"$(awk '{printf "%s%.0f", (NR > 1 ? " " : ""), $5 + $6}' "$tmp/$f.cpu")"
done
outside_max=$(cat "$tmp"/B[0-4].cpu | awk '{o = $5 + $6; if (o > m) m = o} END {printf "%.1f", m}')
if awk -v m="$outside_max" 'BEGIN {exit !(m >= 10)}'; then
	echo "bench/run.sh: other work took up to ${outside_max}% of the machine during a run: these" \
		"figures, B2 above all, are not those of a quiet machine" >&2
fi
# If a durable increment cost B0's CPU plus PostgreSQL's share alone, and the cores were as
# busy, B2/B0 would be this: a bound by CPU alone (B2 does not follow PostgreSQL's CPU per
# row: docs/performance.md, session 8).
read -r b0d b0p b0b _ <<<"$(cpu_med B0)"
read -r _ b2p _ _ <<<"$(cpu_med B2)"
b2_bound=$(awk -v d="$b0d" -v p="$b0p" -v b="$b0b" -v q="$b2p" \
	'BEGIN {t = d + p + b; if (t + q > 0) printf "%.3f", t / (t + q); else print "null"}')
printf '%-44s %10s\n' "B2/B0 with only PostgreSQL's CPU added to B0" "$b2_bound"
printf '%-44s %10.1f MiB (%.1f before activating), %s bytes per object\n' \
	"dobjd RSS with 100,000 live objects" "$(awk -v k="$rss_after" 'BEGIN {print k / 1024}')" \
	"$(awk -v k="$rss_before" 'BEGIN {print k / 1024}')" "$per_obj"
if [[ $b5 != null ]]; then
	sed -n '1,4p' "$tmp/alarms.out" | sed 's/^/B5 /'
fi
printf '%-44s %s at the start, %s at the end (%s cores)\n' "load average, 1 minute" \
	"$load_start" "$load_end" "$(nproc)"
for f in B0 B1 B2 B3 B4; do
	e=$(firsterr "$f")
	if [[ -n $e ]]; then
		echo "$f errors: $e"
	fi
done
errors_report B0 B1 B2 B3 B4
b2=$(col B2 calls_per_s | median)
cpu_json() { printf '"%s":%s' "$1" "$(cpu_obj "$1")"; }
tx_json() { printf '"%s":%s' "$1" "$(tx_obj "$1")"; }
cpu="{$(cpu_json B0),$(cpu_json B1),$(cpu_json B2),$(cpu_json B3),\"B2_B0_pg_bound\":$b2_bound,\"outside_max_pct\":$outside_max}"
printf '{"B0":%s,"B1":%s,"B2":%s,"B3":%s,"B4":%s,"B5":%s,"pgbench":{"tps":%s,"rows_per_s":%s},"ratios":{"B1_B0":%s,"B2_B0":%s,"B3_B0":%s,"B2_pg_rows":%s},"ratios_by_round":{"B1_B0":%s,"B2_B0":%s,"B3_B0":%s,"median":{"B1_B0":%s,"B2_B0":%s,"B3_B0":%s}},"memory":{"live_objects":100000,"keys_per_object":10,"rss_before_kb":%s,"rss_after_kb":%s,"per_object_bytes":%s},"cpu_us_per_call":%s,"group_commit":{%s,%s},"inflight":%s,"runs":%s,"secs":%s,"machine":%s}\n' \
	"$(fig_json B0)" "$(fig_json B1)" "$(fig_json B2)" "$(fig_json B3)" "$(fig_json B4)" "$b5" \
	"$pg_tps" "$pg_rows" "$(ratio "$(col B1 calls_per_s | median)" "$b0")" "$(ratio "$b2" "$b0")" \
	"$(ratio "$(col B3 calls_per_s | median)" "$b0")" "$(ratio "$b2" "$pg_rows")" \
	"$(round_json B1)" "$(round_json B2)" "$(round_json B3)" "$(round_median B1)" \
	"$(round_median B2)" "$(round_median B3)" \
	"$rss_before" "$rss_after" "$per_obj" "$cpu" "$(tx_json B1)" "$(tx_json B2)" "$INFLIGHT" "$RUNS" "$SECS" "$(machine_json)"
