#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check.sh PLUGIN PROTO_DIR PROTOBUF_DIR CLANG_FORMAT_FILE golden|rejects|update
#   golden:  alltypes.proto's .dobj.h/.dobj.c equal golden/*.expected byte for byte and are clang-format clean
#   rejects: bad_*.proto make protoc fail with the error their first line expects
#   update:  rewrite golden/ from the current generator (review the diff before committing)
set -euo pipefail
plugin=$1 proto_dir=$2 pb_dir=$3 style=$4 mode=$5
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # gen FILE.proto: run protoc with the plugin into $tmp, stderr into $tmp/err
	protoc --plugin=protoc-gen-dobj="$plugin" -I"$here" -I"$proto_dir" -I"$pb_dir" \
		--dobj_out="$tmp" "$here/$1" 2>"$tmp/err"
}

case $mode in
golden | update)
	gen alltypes.proto || { cat "$tmp/err"; exit 1; }
	for f in alltypes.dobj.h alltypes.dobj.c; do
		if [ "$mode" = update ]; then
			cp "$tmp/$f" "$here/golden/$f.expected"
			echo "updated tests/codegen/golden/$f.expected"
			continue
		fi
		diff -u "$here/golden/$f.expected" "$tmp/$f" || {
			echo "$f differs from tests/codegen/golden/$f.expected;" \
				"after an intended change: cmake --build build --target codegen-golden-update"
			exit 1
		}
		if command -v clang-format >/dev/null; then
			clang-format --style="file:$style" --dry-run --Werror "$tmp/$f"
		fi
	done
	;;
rejects)
	for p in "$here"/bad_*.proto; do
		name=$(basename "$p")
		want=$(sed -n 's|^// expect: ||p' "$p")
		if gen "$name"; then
			echo "$name: protoc succeeded; expected: $want"
			exit 1
		fi
		grep -qF -- "$want" "$tmp/err" || {
			echo "$name: expected \"$want\" in:"
			cat "$tmp/err"
			exit 1
		}
		echo "$name: rejected: $(cat "$tmp/err")"
	done
	;;
*)
	echo "check.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
