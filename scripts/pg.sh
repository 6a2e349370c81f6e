#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pg.sh - a private PostgreSQL for development and tests; touches no system service.
#
#   scripts/pg.sh start DIR [PORT]   initdb DIR (once), start on 127.0.0.1:PORT (default: a free
#                                    port) and a unix socket in DIR; prints the DSN on stdout
#   scripts/pg.sh stop DIR           stop it (fast shutdown); nothing to do is not an error
#   scripts/pg.sh dsn DIR [--socket] print the DSN (TCP), or with --socket one that goes
#                                    through the unix socket in DIR (cheaper on one host)
#
# Layout: DIR/data (the cluster), DIR/log (server log), DIR/port. As root the server runs as
# the `postgres` user, so DIR is chowned to it and DIR's parents must be traversable.
# fsync stays on: durability is what dobj sells. PG_BIN overrides the binaries' directory.
set -euo pipefail

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: pg.sh start DIR [PORT] | stop DIR | dsn DIR [--socket]" >&2
	exit 2
}

find_bin() {
	if [[ -n "${PG_BIN:-}" ]]; then
		[[ -x "$PG_BIN/pg_ctl" ]] || die "PG_BIN=$PG_BIN has no pg_ctl"
		echo "$PG_BIN"
		return
	fi
	if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
		echo /usr/lib/postgresql/15/bin
		return
	fi
	local d
	while IFS= read -r d; do
		if [[ -x "$d/pg_ctl" ]]; then
			echo "$d"
			return
		fi
	done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
	if command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(command -v pg_ctl)"
		return
	fi
	die "no PostgreSQL server binaries found (install postgresql-15, or set PG_BIN)"
}

# as_pg runs a command as the user that owns the cluster (postgres when we are root).
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The password of the postgres role for TCP logins (kept in DIR/password, readable by this
# user only); clusters made before it existed have none and trust TCP logins.
dsn_for() {
	local pw=""
	[[ -f "$DIR/password" ]] && pw=":$(cat "$DIR/password")"
	echo "postgresql://postgres$pw@127.0.0.1:$1/postgres"
}

is_running() {
	[[ -f "$DIR/data/PG_VERSION" ]] && as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

# free_port prints a port in 20000-59999 on which nothing accepts connections right now.
free_port() {
	local i p
	for i in $(seq 1 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "could not find a free port"
}

prepare_dir() {
	mkdir -p "$DIR"
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || die "running as root needs the postgres user (install postgresql)"
		chown postgres: "$DIR"
		[[ -e "$DIR/log" ]] && chown postgres: "$DIR/log"
		runuser -u postgres -- test -w "$DIR" ||
			die "the postgres user cannot reach $DIR: make its parent directories traversable (chmod o+x)"
	fi
}

# Other users of the machine must not get in: TCP logins need the password, and the unix
# socket is the cluster owner's only (unix_socket_permissions 0700; root passes anyway).
init_cluster() {
	local pwfile="$DIR/.initdb-pw"
	[[ -f "$DIR/data/PG_VERSION" ]] && return
	(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/password")
	(umask 077 && cp "$DIR/password" "$pwfile")
	[[ $(id -u) -eq 0 ]] && chown postgres: "$pwfile"
	if ! (cd "$DIR" && as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust \
		--auth-host=scram-sha-256 --pwfile="$pwfile" --no-locale -E UTF8 >>"$DIR/log" 2>&1); then
		rm -f "$pwfile"
		die "initdb failed; see $DIR/log"
	fi
	rm -f "$pwfile"
}

# try_start starts the cluster on port $1; non-zero if it did not come up.
try_start() {
	local port=$1
	(cd "$DIR" && as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
		-o "-p $port -k '$DIR' -c unix_socket_permissions=0700 -c listen_addresses=127.0.0.1 -c fsync=on" \
		start) >>"$DIR/pg_ctl.out" 2>&1
}

cmd_start() {
	local port=${1:-} tries=1 i
	prepare_dir
	if is_running; then
		[[ -f "$DIR/port" ]] || die "a server runs in $DIR but $DIR/port is missing"
		dsn_for "$(cat "$DIR/port")"
		return
	fi
	init_cluster
	touch "$DIR/log" "$DIR/pg_ctl.out"
	[[ $(id -u) -eq 0 ]] && chown postgres: "$DIR/log" "$DIR/pg_ctl.out"
	if [[ -z "$port" ]]; then
		tries=5
		[[ -f "$DIR/port" ]] && port=$(cat "$DIR/port")
	fi
	for i in $(seq 1 "$tries"); do
		[[ -n "$port" ]] || port=$(free_port)
		if try_start "$port"; then
			echo "$port" >"$DIR/port"
			dsn_for "$port"
			return
		fi
		is_running && as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1
		port=""
		echo "pg.sh: start attempt $i failed" >>"$DIR/log"
	done
	tail -n 20 "$DIR/log" >&2 || true
	die "could not start PostgreSQL in $DIR; see $DIR/log"
}

cmd_stop() {
	[[ -d "$DIR" ]] || return 0
	if is_running; then
		(cd "$DIR" && as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop) \
			>>"$DIR/pg_ctl.out" 2>&1 || die "could not stop PostgreSQL in $DIR; see $DIR/log"
	fi
}

cmd_dsn() {
	[[ -f "$DIR/port" ]] || die "no PostgreSQL set up in $DIR (run pg.sh start $DIR)"
	if [[ ${1:-} == --socket ]]; then
		echo "postgresql://postgres@/postgres?host=$DIR&port=$(cat "$DIR/port")"
	else
		dsn_for "$(cat "$DIR/port")"
	fi
}

[[ $# -ge 2 ]] || usage
CMD=$1
DIR=$2
shift 2
case "$DIR" in
/*) ;;
*) DIR="$(pwd)/$DIR" ;;
esac
DIR=${DIR%/}
# pg_ctl hands its -o options to a shell: keep DIR to plain path characters
[[ "$DIR" =~ ^[A-Za-z0-9/._+,@=-]+$ ]] ||
	die "DIR may hold only letters, digits and / . _ + , @ = - (no spaces or shell characters): '$DIR'"
# The socket DIR/.s.PGSQL.PORT must fit in sun_path (108 bytes).
[[ ${#DIR} -le 90 ]] || die "DIR is too long for a unix socket path (over 90 bytes): $DIR"
BIN=$(find_bin)

case "$CMD" in
start)
	[[ $# -le 1 ]] || usage
	if [[ $# -eq 1 && ! "$1" =~ ^[0-9]+$ ]]; then
		die "PORT must be a number, not '$1'"
	fi
	cmd_start "${1:-}"
	;;
stop) cmd_stop ;;
dsn)
	[[ $# -eq 0 || ($# -eq 1 && $1 == --socket) ]] || usage
	cmd_dsn "${1:-}"
	;;
*) usage ;;
esac
