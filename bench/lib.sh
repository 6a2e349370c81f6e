# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2154 # prog, tmp, dobjd, bench, INFLIGHT, commit_runs: the caller's
# bench/lib.sh - what bench/run.sh and bench/pairs.sh share: a private PostgreSQL, starting and
# stopping dobjd, dobj-bench runs with the CPU they cost and dobjd's group commits around them,
# and small statistics over the runs' JSON lines. Sourced, not run. The caller sets prog (its
# name, for messages), tmp (a scratch directory), dobjd and bench (the binaries), INFLIGHT,
# and commit_runs (a regular expression: the run names whose group commits are read).

# bench_services: start a private PostgreSQL in $tmp/pg (dsn, pg_transport, q) and migrate it
# with $dobjd; pick dobjd's ports (url, hport). The caller's EXIT trap stops what it started.
bench_services() {
	echo "$prog: starting PostgreSQL in $tmp/pg" >&2
	scripts/pg.sh start "$tmp/pg" >/dev/null
	# PostgreSQL shares this host with dobjd, so they talk over its unix socket, as a
	# co-located deployment would. PG_TCP=1 goes through TCP loopback instead (B2 measured
	# ~10% lower).
	if [[ ${PG_TCP:-0} == 1 ]]; then
		pg_transport=tcp
		dsn=$(scripts/pg.sh dsn "$tmp/pg")
	else
		pg_transport=unix
		dsn=$(scripts/pg.sh dsn "$tmp/pg" --socket)
	fi
	"$dobjd" migrate --database-url "$dsn" >/dev/null
	# below the ephemeral range (32768 and up), where no client socket takes it meanwhile
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 12000))
		if ! (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
			! (echo >"/dev/tcp/127.0.0.1/$((port + 1))") 2>/dev/null; then
			break
		fi
	done
	url=tcp://127.0.0.1:$port
	hport=$((port + 1)) # dobjd's /metrics, read around each run (commit_mark)
}
q() { psql -qAtX "$dsn" -c "$1"; }

# start_dobjd [FLAGS...]: start dobjd and wait until it answers.
start_dobjd() {
	"$dobjd" --listen "$url" --http-listen "http://127.0.0.1:$hport" --database-url "$dsn" \
		--log-level warn "$@" >>"$tmp/dobjd.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		if "$bench" --url "$url" --class Counter --method get --hot --count 1 \
			--warmup 0 --timeout-ms 300 --json 2>/dev/null | tail -1 | grep -q '"errors":{}'; then
			return
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "$prog: dobjd did not start; its log:" >&2
	cat "$tmp/dobjd.log" >&2
	exit 1
}
stop_dobjd() {
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }

# --- helpers over dobj-bench's JSON line -----------------------------------------------------
# jnum KEY: the number KEY in the JSON on stdin.
jnum() { grep -o "\"$1\":[-0-9.e+]*" | head -1 | cut -d: -f2; }
# jerrors: the number of failed calls in the JSON on stdin.
jerrors() { grep -o '"errors":{[^}]*}' | grep -o ':[0-9]*' | tr -d : | awk '{s += $1} END {print s + 0}'; }
# median/min/max of numbers, one per line, on stdin
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
minimum() { sort -g | head -1; }
maximum() { sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "null"}'; }

# --- CPU accounting: where each figure's CPU goes ---------------------------------------------
hz=$(getconf CLK_TCK)
# proc_ticks PID...: clock ticks these processes have run, all threads, user and system (a
# process gone meanwhile counts 0; mawk would stop at a file it cannot open)
proc_ticks() {
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
		awk '{sub(/.*\) /, ""); t += $12 + $13} END {print t + 0}'
}
# pg_ticks: PostgreSQL's clock ticks: the postmaster, with the children it has reaped (a
# backend that exited), and every child still running
pg_ticks() {
	local pm reaped
	pm=$(head -1 "$tmp/pg/data/postmaster.pid")
	reaped=$(awk '{sub(/.*\) /, ""); print $14 + $15}' "/proc/$pm/stat" 2>/dev/null || echo 0)
	echo $(($(proc_ticks "$pm" $(pgrep -P "$pm" || true)) + ${reaped:-0}))
}
# Without CONFIG_IRQ_TIME_ACCOUNTING the kernel charges the interrupts a process happens to
# be running under, loopback traffic included, to that process too (/proc/PID/stat), while
# /proc/stat counts them as irq and softirq: "busy" below must then count them as well, less
# the softirq threads' own share, which is mostly this suite's loopback traffic.
irq_in_tasks=1
for cfg in /proc/config.gz "/boot/config-$(uname -r)"; do
	if [[ -r $cfg ]]; then
		# grep reads all of it: with -q it would stop at the match, and pipefail would
		# take zcat's SIGPIPE for "no match"
		if zcat -f "$cfg" 2>/dev/null | grep '^CONFIG_IRQ_TIME_ACCOUNTING=y' >/dev/null; then
			irq_in_tasks=0
		fi
		break
	fi
done
# sys_ticks: the machine's "idle busy steal" clock ticks: idle with I/O wait; what processes
# ran, counted as /proc/PID/stat counts it (see irq_in_tasks); stolen by the hypervisor
sys_ticks() {
	local ks=0
	((irq_in_tasks)) && ks=$(proc_ticks $(pgrep '^ksoftirqd/' || true))
	awk -v i="$irq_in_tasks" -v ks="$ks" \
		'/^cpu / {print $5 + $6, $2 + $3 + $4 + i * ($7 + $8) - ks, $9}' /proc/stat
}
# child_secs FILE: CPU seconds of this shell's finished children (dobj-bench runs) in FILE,
# the output of `times` run by this shell itself (in a subshell it would count the subshell's)
child_secs() {
	tail -1 "$1" | awk '{n = 0; for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); n += a[1] * 60 + a[2]}; print n}'
}
# cpu_mark FILE: "dobjd PostgreSQL children wall idle busy steal" now (FILE: see child_secs)
cpu_mark() { echo "$(proc_ticks "$pid") $(pg_ticks) $(child_secs "$1") $(date +%s.%N) $(sys_ticks)"; }

# commit_mark: "time transactions turns-sum turns-count" of dobjd's group commits now, from its
# /metrics (dobj_commits_total, dobj_commit_turns); "-" if it did not answer
commit_mark() {
	echo "$(date +%s.%N) $({ curl -sf --max-time 2 "http://127.0.0.1:$hport/metrics" || true; } |
		awk '$1 == "dobj_commits_total" {c = $2} $1 == "dobj_commit_turns_sum" {s = $2}
			$1 == "dobj_commit_turns_count" {n = $2}
			END {if (c == "" || n == "") print "-"; else printf "%.0f %.0f %.0f\n", c, s, n}')"
}

# run_errors NAME LINE LOG0: when the run whose JSON is LINE failed calls, keep what says why
# in $tmp/NAME.errors (printed by errors_report): dobj-bench's first message of each status, the
# start of its standard error, and the lines dobjd logged during the run (from line LOG0 + 1 of
# its log on).
run_errors() {
	local n
	n=$(jerrors <<<"$2")
	((n > 0)) || return 0
	{
		echo "$1, run $(wc -l <"$tmp/$1.json") ($(date +%T)): $n calls failed"
		{ grep '^error ' "$tmp/run.out" || true; head -5 "$tmp/run.err"; } | sed 's/^/  dobj-bench: /'
		tail -n +"$(($3 + 1))" "$tmp/dobjd.log" 2>/dev/null | head -20 | sed 's/^/  dobjd: /'
	} >>"$tmp/$1.errors"
}
# errors_report NAME...: what run_errors kept of these runs, on stdout
errors_report() {
	local f
	for f in "$@"; do
		[[ -s $tmp/$f.errors ]] && cat "$tmp/$f.errors"
	done
	return 0
}

# run_bench NAME ARGS...: one dobj-bench run; its JSON appended to $tmp/NAME.json and its CPU
# per call (us: dobjd, PostgreSQL, dobj-bench), then the machine's idle %, the % other
# processes used and the % the hypervisor stole (outside load), to $tmp/NAME.cpu; for B1 and
# B2 (names matching $commit_runs), its transactions a second and turns per transaction to $tmp/NAME.tx, over the whole run
# (dobj-bench's start and warm-up included, so the rate reads a few % low). The /metrics reads
# lie outside the CPU readings, which would count curl as dobj-bench.
run_bench() {
	local name=$1 line before after c0="" c1 log0 rc
	shift
	[[ $name =~ $commit_runs ]] && c0=$(commit_mark)
	times >"$tmp/times"
	before=$(cpu_mark "$tmp/times")
	log0=$(wc -l <"$tmp/dobjd.log" 2>/dev/null || echo 0)
	rc=0
	"$bench" --url "$url" --inflight "$INFLIGHT" --json "$@" >"$tmp/run.out" 2>"$tmp/run.err" || rc=$?
	if ((rc != 0 && rc != 2)); then # 2: it ran, and every call failed (the report says why)
		echo "$prog: dobj-bench failed in $name:" >&2
		cat "$tmp/run.err" >&2
		exit 1
	fi
	times >"$tmp/times"
	after=$(cpu_mark "$tmp/times")
	line=$(tail -1 "$tmp/run.out")
	echo "$line" >>"$tmp/$name.json"
	run_errors "$name" "$line" "$log0"
	# calls counts the measured window only: the CPU, read around the whole run, is spread
	# over the calls of the whole run at the measured rate (the warm-up second included)
	echo "$before $after $(jnum calls <<<"$line") $(jnum duration_s <<<"$line")" |
		awk -v hz="$hz" -v ncpu="$(nproc)" '{
		d = $8 - $1; p = $9 - $2; b = $10 - $3; wall = $11 - $4
		n = $15 * ($16 > 0 && wall > $16 ? wall / $16 : 1); n = n > 0 ? n : 1
		cap = wall > 0 ? wall * ncpu * hz / 100 : 1 # ticks in 1% of the machine
		other = ($13 - $6) - d - p - b * hz
		printf "%.1f %.1f %.1f %.1f %.1f %.1f\n", d / hz / n * 1e6, p / hz / n * 1e6,
			b / n * 1e6, ($12 - $5) / cap, (other > 0 ? other : 0) / cap, ($14 - $7) / cap
	}' >>"$tmp/$name.cpu"
	if [[ -n $c0 ]]; then
		c1=$(commit_mark)
		if [[ $c0 == *-* || $c1 == *-* ]]; then
			echo "$prog: dobjd's /metrics did not answer around this $name run:" \
				"its group-commit figures leave it out" >&2
		else
			echo "$c0 $c1" | awk '{w = $5 - $1; n = $8 - $4
				printf "%.0f %.1f\n", (w > 0 ? ($6 - $2) / w : 0), (n > 0 ? ($7 - $3) / n : 0)}' \
				>>"$tmp/$name.tx"
		fi
	fi
	printf '  %-3s %10.0f calls/s  p50 %7.3f ms  p99 %7.3f ms  errors %s\n' "$name" \
		"$(jnum calls_per_s <<<"$line")" "$(jnum p50_ms <<<"$line")" \
		"$(jnum p99_ms <<<"$line")" "$(jerrors <<<"$line")" >&2
}

# cpu_col NAME N: column N of NAME's CPU records, one per line
cpu_col() { awk -v k="$2" '{print $k}' "$tmp/$1.cpu"; }
# cpu_med NAME: medians of NAME's CPU records: "dobjd pg bench idle others steal"
cpu_med() {
	echo "$(cpu_col "$1" 1 | median) $(cpu_col "$1" 2 | median) $(cpu_col "$1" 3 | median)" \
		"$(cpu_col "$1" 4 | median) $(cpu_col "$1" 5 | median) $(cpu_col "$1" 6 | median)"
}
# cpu_obj NAME: NAME's CPU medians as a JSON object
cpu_obj() {
	local d p b i o s
	read -r d p b i o s <<<"$(cpu_med "$1")"
	printf '{"dobjd":%s,"postgres":%s,"bench":%s,"idle_pct":%s,"others_pct":%s,"steal_pct":%s}' \
		"$d" "$p" "$b" "$i" "$o" "$s"
}
# tx_med NAME N: the median of column N of NAME's group-commit records, or null if it has none
tx_med() {
	if [[ -s $tmp/$1.tx ]]; then cut -d' ' -f"$2" "$tmp/$1.tx" | median; else echo null; fi
}
# tx_obj NAME: NAME's group-commit medians as a JSON object
tx_obj() {
	printf '{"transactions_per_s":%s,"turns_per_transaction":%s}' "$(tx_med "$1" 1)" \
		"$(tx_med "$1" 2)"
}
# col NAME KEY: the KEY of every run of NAME, one per line
col() { while read -r l; do jnum "$2" <<<"$l"; done <"$tmp/$1.json"; }
errs() { while read -r l; do jerrors <<<"$l"; done <"$tmp/$1.json" | awk '{s += $1} END {print s + 0}'; }
firsterr() { grep -o '"errors":{[^}]*}' "$tmp/$1.json" | grep -v '{}' | head -1 | cut -c10- || true; }

# summary NAME: "median min max p50 p99 errors" of NAME's runs
summary() {
	echo "$(col "$1" calls_per_s | median) $(col "$1" calls_per_s | minimum)" \
		"$(col "$1" calls_per_s | maximum) $(col "$1" p50_ms | median)" \
		"$(col "$1" p99_ms | median) $(errs "$1")"
}
# fig_json NAME: NAME's summary as a JSON object
fig_json() {
	local m lo hi p50 p99 e
	read -r m lo hi p50 p99 e <<<"$(summary "$1")"
	printf '{"calls_per_s":%s,"min":%s,"max":%s,"p50_ms":%s,"p99_ms":%s,"errors":%s,"runs":%s}' \
		"$m" "$lo" "$hi" "$p50" "$p99" "$e" "$(wc -l <"$tmp/$1.json")"
}

# the machine's 1-minute load average: other work on a shared machine moves every figure
loadavg() { cut -d' ' -f1 /proc/loadavg; }
load_start=$(loadavg)
load_end="" # read once when the figures are done, so that the table and the JSON agree
machine_json() {
	printf '{"nproc":%s,"mem_mb":%s,"kernel":"%s","pg_transport":"%s","loadavg_start":%s,"loadavg_end":%s}' \
		"$(nproc)" "$(awk '/^MemTotal:/ {printf "%d", $2 / 1024}' /proc/meminfo)" "$(uname -r)" \
		"$pg_transport" "$load_start" "${load_end:-$(loadavg)}"
}
