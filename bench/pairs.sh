#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/pairs.sh - compare two dobjd builds, or one build with two sets of flags, on this
# machine with fresh-process pairs. Every measurement starts a new dobjd on one private
# PostgreSQL, warms its objects and measures one dobj-bench run; within a pair the two sides
# take turns going first, so that a drift of the machine hits both alike. Each side has a
# database of its own, migrated by its own binary (so B may carry a migration A lacks), and
# warms its objects once before the first pair. Two dobjd processes
# side by side, or one kept running, differ by several percent for reasons of their own
# (docs/performance.md, "Comparing two builds"). Prints a line a run, then a summary and one
# JSON line (the last line of stdout). Everything started here is stopped on exit.
#
#   bench/pairs.sh [options] A B   A, B: dobjd binaries (the same one twice to compare flags)
#     --a-args "FLAGS"   more dobjd flags for A, split at spaces (e.g. "--shards 4")
#     --b-args "FLAGS"   the same for B
#     --scenario S       echo, increment or get (default increment)
#     --objects K        objects, uniformly (default 10000)
#     --inflight N       calls in flight (default 64)
#     --pairs N          pairs of runs (default 8)
#     --secs S           seconds measured a run, after dobj-bench's second of warm-up (default 4)
#
# Environment: BUILD, the build directory of dobj-bench, relative to the repository's root
# (default build); PG_TCP=1 as in bench/run.sh.
set -euo pipefail
prog=bench/pairs.sh
# usage [STATUS]: the header's usage text, on stdout for --help (0), else on stderr (2)
usage() {
	local st=${1:-2}
	sed -n '/^#   bench\/pairs.sh/,/^# (default build)/p' "$0" | sed 's/^# \{0,1\}//' |
		if ((st)); then cat >&2; else cat; fi
	exit "$st"
}
a_args="" b_args="" scenario=increment objects=10000 INFLIGHT=64 npairs=8 secs=4
side=()
while (($#)); do
	case $1 in
	--a-args | --b-args | --scenario | --objects | --inflight | --pairs | --secs)
		(($# >= 2)) || usage
		case $1 in
		--a-args) a_args=$2 ;;
		--b-args) b_args=$2 ;;
		--scenario) scenario=$2 ;;
		--objects) objects=$2 ;;
		--inflight) INFLIGHT=$2 ;;
		--pairs) npairs=$2 ;;
		--secs) secs=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage 0 ;;
	-*) echo "$prog: unknown option $1" >&2 && usage ;;
	*) side+=("$1") && shift ;;
	esac
done
((${#side[@]} == 2)) || usage
[[ $scenario == echo || $scenario == increment || $scenario == get ]] || usage
for n in "$objects" "$INFLIGHT" "$npairs" "$secs"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$prog: not a positive whole number: $n" >&2 && exit 2; }
done
for b in "${side[@]}"; do
	[[ -x $b ]] || { echo "$prog: not an executable: $b" >&2 && exit 2; }
done
side=("$(realpath "${side[0]}")" "$(realpath "${side[1]}")")
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
bench=$BUILD/tools/dobj-bench/dobj-bench
if [[ ! -x $bench ]]; then
	echo "$prog: no $bench: build it first (cmake --build $BUILD --target dobj-bench)," \
		"or set BUILD" >&2
	exit 2
fi
commit_runs='^$' # the group commits of durable runs only
[[ $scenario == increment ]] && commit_runs='^[AB]$'
# shellcheck source=bench/lib.sh
. bench/lib.sh

tmp=$(mktemp -d /tmp/dobj-bench-pairs.XXXXXX)
chmod 755 "$tmp"
pid=""
cleanup() {
	[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	scripts/pg.sh stop "$tmp/pg" >/dev/null 2>&1 || true
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
dobjd=${side[0]}
bench_services
# a database for each side, migrated by that side's dobjd
declare -A side_dsn
for n in A B; do
	q "CREATE DATABASE dobj_pairs_${n,}"
	side_dsn[$n]=$(sed -E "s#/postgres(\?|$)#/dobj_pairs_${n,}\1#" <<<"$dsn")
	bin=${side[0]}
	[[ $n == B ]] && bin=${side[1]}
	"$bin" migrate --database-url "${side_dsn[$n]}" >/dev/null
done

# measure NAME BIN FLAGS [warm]: a fresh dobjd on NAME's database, its objects warmed (each
# once, in order), then one measured run; with "warm", the warming only
measure() {
	local flags
	read -r -a flags <<<"$3"
	dobjd=$2 dsn=${side_dsn[$1]}
	start_dobjd "${flags[@]}"
	if ! "$bench" --url "$url" --scenario "$scenario" --sequential --objects "$objects" \
		>"$tmp/warm.out" 2>&1; then
		echo "$prog: warming $1's objects failed:" >&2
		tail -5 "$tmp/warm.out" "$tmp/dobjd.log" >&2
		exit 1
	fi
	[[ ${4:-} == warm ]] || run_bench "$1" --scenario "$scenario" --objects "$objects" --duration "$secs"
	stop_dobjd
}

echo "$prog: $npairs pairs of $secs s, $scenario over $objects objects, $INFLIGHT in flight" >&2
echo "  A: ${side[0]} $a_args" >&2
echo "  B: ${side[1]} $b_args" >&2
# Each side's first dobjd creates its objects; no measured run should be that one.
measure A "${side[0]}" "$a_args" warm
measure B "${side[1]}" "$b_args" warm
for ((i = 1; i <= npairs; i++)); do
	if ((i % 2)); then
		measure A "${side[0]}" "$a_args"
		measure B "${side[1]}" "$b_args"
	else
		measure B "${side[1]}" "$b_args"
		measure A "${side[0]}" "$a_args"
	fi
done

# --- report ----------------------------------------------------------------------------------
errors_report A B # why calls failed, if any did
# by_pair: B's calls/s over A's of the same pair, one per line
by_pair() { paste <(col B calls_per_s) <(col A calls_per_s) | awk '$2 > 0 {printf "%.3f\n", $1 / $2}'; }
b_over_a=$(by_pair | median | awk '{printf "%.3f", $1}')
b_faster=$(by_pair | awk '$1 > 1 {n++} END {print n + 0}')

# row LABEL FORMAT A-VALUES B-VALUES: a line of the table, each side's values (space-separated)
# through FORMAT, joined by " / "
row() {
	# shellcheck disable=SC2086 # each side's values are split on purpose
	printf '%-34s %16s %16s\n' "$1" "$(fmt "$2" $3)" "$(fmt "$2" $4)"
}
fmt() {
	local f=$1 out="" v
	shift
	for v in "$@"; do out+=${out:+ / }$(awk -v f="$f" -v v="$v" 'BEGIN {if (v == "null") printf "-"; else printf f, v}'); done
	echo "$out"
}
printf '\n%-34s %16s %16s\n' "medians of $npairs runs" A B
row "calls/s" %.0f "$(col A calls_per_s | median)" "$(col B calls_per_s | median)"
row "p50 / p99 ms" %.2f "$(col A p50_ms | median) $(col A p99_ms | median)" \
	"$(col B p50_ms | median) $(col B p99_ms | median)"
read -r ad ap ab ai ao _ <<<"$(cpu_med A)"
read -r bd bp bb bi bo _ <<<"$(cpu_med B)"
row "CPU us/call: dobjd" %.1f "$ad" "$bd"
row "CPU us/call: PostgreSQL" %.1f "$ap" "$bp"
row "CPU us/call: dobj-bench" %.1f "$ab" "$bb"
row "idle % / outside load %" %.1f "$ai $ao" "$bi $bo"
if [[ $scenario == increment ]]; then
	row "transactions/s" %.0f "$(tx_med A 1)" "$(tx_med B 1)"
	row "turns per transaction" %.1f "$(tx_med A 2)" "$(tx_med B 2)"
fi
row "errors" %d "$(errs A)" "$(errs B)"
printf '%-34s %s (pair by pair: %s)\n' "B / A, median of the pairs" "$b_over_a" \
	"$(by_pair | paste -sd' ')"
printf '%-34s %s of %s\n' "B faster" "$b_faster" "$npairs"

side_json() { # NAME BINARY ARGS
	printf '{"dobjd":"%s","args":"%s","summary":%s,"cpu_us_per_call":%s,"group_commit":%s}' \
		"$2" "$3" "$(fig_json "$1")" "$(cpu_obj "$1")" "$(tx_obj "$1")"
}
printf '{"a":%s,"b":%s,"b_over_a":{"median":%s,"by_pair":[%s],"b_faster":%s,"pairs":%s},"scenario":"%s","objects":%s,"inflight":%s,"secs":%s,"machine":%s}\n' \
	"$(side_json A "${side[0]}" "$a_args")" "$(side_json B "${side[1]}" "$b_args")" \
	"$b_over_a" "$(by_pair | paste -sd,)" "$b_faster" "$npairs" "$scenario" "$objects" \
	"$INFLIGHT" "$secs" "$(machine_json)"
