#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# deps.sh - installs the Debian packages that dobj's build, tests and tools need.
# Idempotent and silent when everything is there; runs `apt-get update` only when something
# is missing. Needs root (uses sudo when not root and sudo exists).
set -euo pipefail

PACKAGES=(
	cmake gcc make pkg-config
	libnng-dev
	libprotobuf-c-dev protobuf-c-compiler
	protobuf-compiler libprotobuf-dev libprotoc-dev
	libcriterion-dev
	libpq-dev libssl-dev
	openssl
	clang libclang-rt-dev clang-format git
	curl ca-certificates
)

installed() {
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
	installed "$p" || missing+=("$p")
done
# The server: PostgreSQL 15 (Debian 12's), or whatever `postgresql` is elsewhere.
pg_missing=0
if ! installed postgresql-15 && ! installed postgresql; then
	pg_missing=1
fi

if [[ ${#missing[@]} -eq 0 && $pg_missing -eq 0 ]]; then
	exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=(sudo)
	else
		echo "deps.sh: missing packages ${missing[*]}; run as root or install sudo" >&2
		exit 1
	fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing ${missing[*]}$([[ $pg_missing -eq 1 ]] && echo " postgresql")" >&2
"${SUDO[@]}" apt-get update -qq >&2
if [[ $pg_missing -eq 1 ]]; then
	if apt-cache show postgresql-15 >/dev/null 2>&1; then
		missing+=(postgresql-15)
	else
		missing+=(postgresql)
	fi
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
