#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - the product on this machine, in one command: dependencies, build, a private
# PostgreSQL (unless DOBJ_DATABASE_URL names one), migrations, dobjd with the example classes,
# and a demo call. Then it keeps serving until Ctrl-C (or, with --once, stops at once).
#
#   scripts/run.sh [--once]
#
# Environment: DOBJ_DATABASE_URL (use this PostgreSQL), DOBJ_LISTEN (default
# tcp://127.0.0.1:7700), DOBJ_BUILD_DIR (use binaries already built there), DOBJ_PG_DIR (where
# the private PostgreSQL keeps its data; default .dobj/pg, kept between runs, or, as root in
# a checkout the postgres user cannot reach such as /root, /var/tmp/dobj-run-*/pg).
set -euo pipefail

once=0
case "${1:-}" in
--once) once=1 ;;
"") ;;
*)
	echo "usage: scripts/run.sh [--once]" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/.."
root=$(pwd)
listen=${DOBJ_LISTEN:-tcp://127.0.0.1:7700}
export DOBJ_LISTEN=$listen

bash scripts/deps.sh
build=${DOBJ_BUILD_DIR:-}
if [[ -z "$build" ]]; then
	build=$root/build
	echo "run.sh: building into $build" >&2
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j2 >/dev/null
fi
dobjd=$build/server/dobjd
cli=$build/examples/counter-cli

pgdir=""
dobjd_pid=""
interrupted=""
cleanup() {
	if [[ -n "$dobjd_pid" ]]; then
		# Ctrl-C reached dobjd too (same process group) and it is draining: a SIGTERM now
		# would be its second signal, which exits at once without the calls' replies. Give
		# it its drain timeout first (it may also be that only this script got the signal).
		if [[ -n "$interrupted" ]]; then
			for _ in $(seq 1 300); do
				kill -0 "$dobjd_pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		kill -TERM "$dobjd_pid" 2>/dev/null || true
		wait "$dobjd_pid" 2>/dev/null || true
	fi
	if [[ -n "$pgdir" ]]; then
		scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'interrupted=1; exit 130' INT
trap 'exit 143' TERM

if [[ -z "${DOBJ_DATABASE_URL:-}" ]]; then
	if [[ -n "${DOBJ_PG_DIR:-}" ]]; then
		pgdir=$DOBJ_PG_DIR # the caller's directory: its permissions are the caller's
	elif [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$root" 2>/dev/null; then
		# As root, the cluster runs as postgres, which cannot reach a checkout under a private
		# directory such as /root: keep the data in a directory of its own under /var/tmp.
		pgdir=/var/tmp/dobj-run-$(printf '%s' "$root" | md5sum | cut -c1-12)/pg
		mkdir -p "$(dirname "$pgdir")"
		# a name others can guess: use it only if it is root's own directory
		if [[ -L "$(dirname "$pgdir")" || ! -O "$(dirname "$pgdir")" ]]; then
			echo "run.sh: $(dirname "$pgdir") exists and is not root's own directory;" \
				"remove it, or set DOBJ_PG_DIR" >&2
			exit 1
		fi
		chmod 755 "$(dirname "$pgdir")"
	else
		pgdir=$root/.dobj/pg
		mkdir -p "$root/.dobj"
		chmod 755 "$root/.dobj" # ours: the postgres user must reach .dobj/pg when we are root
	fi
	DOBJ_DATABASE_URL=$(scripts/pg.sh start "$pgdir")
	shown=$(printf '%s' "$DOBJ_DATABASE_URL" | sed 's|//\([^:/@]*\):[^@/]*@|//\1:***@|')
	echo "run.sh: private PostgreSQL at $shown (data in $pgdir)" >&2
fi
export DOBJ_DATABASE_URL

"$dobjd" migrate
"$dobjd" serve &
dobjd_pid=$!

# Wait until dobjd answers (it connects to PostgreSQL and checks the schema first).
for _ in $(seq 1 100); do
	if "$cli" --url "$listen" --timeout-ms 500 get demo >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$dobjd_pid" 2>/dev/null; then
		echo "run.sh: dobjd exited during start-up" >&2
		exit 1
	fi
	sleep 0.2
done

echo "run.sh: demo: counter-cli increment demo 1" >&2
"$cli" --url "$listen" increment demo 1

if [[ $once -eq 1 ]]; then
	exit 0
fi
cat >&2 <<EOT
run.sh: dobjd is serving $listen. Try, in another shell:
    $cli --url $listen increment demo 5
    $cli --url $listen get demo
Ctrl-C stops dobjd (and the private PostgreSQL; its data stays in ${pgdir:-your database}).
EOT
wait "$dobjd_pid"
