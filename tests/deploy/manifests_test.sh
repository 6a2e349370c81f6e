#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# manifests_test.sh - deploy/ checked offline (no cluster, no Docker):
#   1. `kubectl kustomize` renders deploy/k8s/base and every overlay;
#   2. validate.js checks every rendered object against Kubernetes' schema (the npm package
#      kubernetes-models, generated from Kubernetes' OpenAPI spec), dobjd's policy (one
#      replica, probes, hardening, migrate init container), and that container args, DOBJ_*
#      names (manifests, ConfigMaps, deploy/Dockerfile) are what the built `dobjd --help`
#      lists, and that deploy/README.md documents every flag;
#   3. the broken fixture tests/deploy/bad must FAIL, naming each of its faults.
# The npm packages (versions pinned in tests/deploy/package.json) are installed under
# BUILD_DIR/deploy-test on first use. Without kubectl, node or npm the test is skipped
# (exit 77). Usage (ctest runs it): manifests_test.sh BUILD_DIR
set -euo pipefail

build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/deploy
work=$build/deploy-test
dobjd=$build/server/dobjd

skip() {
	echo "SKIP: $*"
	exit 77
}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

command -v kubectl >/dev/null || skip "kubectl (with kustomize) is not installed"
command -v node >/dev/null && command -v npm >/dev/null ||
	skip "node and npm are not installed (the schema check runs on node; apt-get install nodejs npm)"
[[ -x $dobjd ]] || fail "no dobjd at $dobjd (build first)"

mkdir -p "$work"
if ! cmp -s "$here/package.json" "$work/package.json" || [[ ! -d $work/node_modules/kubernetes-models ]]; then
	cp "$here/package.json" "$work/package.json"
	echo "installing the schema checker with npm into $work" >&2
	(cd "$work" && npm install --no-audit --no-fund --no-package-lock --loglevel=error) ||
		fail "npm install of kubernetes-models failed (the npm registry must be reachable)"
fi
export NODE_PATH=$work/node_modules

"$dobjd" --help >"$work/dobjd-help.txt"

rendered=()
for dir in base overlays/dev overlays/prod; do
	out=$work/rendered-${dir//\//-}.yaml
	kubectl kustomize "$root/deploy/k8s/$dir" >"$out" || fail "kubectl kustomize deploy/k8s/$dir failed"
	echo "ok - kubectl kustomize deploy/k8s/$dir ($(grep -c '^kind:' "$out") objects)"
	rendered+=("$out")
done
# Every overlay directory must be in the list above.
for k in "$root"/deploy/k8s/overlays/*/kustomization.yaml; do
	name=$(basename "$(dirname "$k")")
	[[ -f $work/rendered-overlays-$name.yaml ]] || fail "overlay $name is not rendered by this test"
done

node "$here/validate.js" --help-file "$work/dobjd-help.txt" --dockerfile "$root/deploy/Dockerfile" \
	--readme "$root/deploy/README.md" "${rendered[@]}" || fail "deploy/ does not validate"
echo "ok - every rendered object, the Dockerfile and deploy/README.md validate"

# The checks must bite: the broken fixture fails, and for each of its faults.
kubectl kustomize "$here/bad" >"$work/rendered-bad.yaml"
if node "$here/validate.js" --help-file "$work/dobjd-help.txt" "$work/rendered-bad.yaml" >"$work/bad.out" 2>&1; then
	cat "$work/bad.out" >&2
	fail "the broken fixture tests/deploy/bad passed validation"
fi
for want in "replicas must be integer" "must have required property name" \
	"httpGet must have required property port" "no Kubernetes schema for apiVersion v1, kind Servce" \
	"flag --no-such-flag is not one" "DOBJ_NO_SUCH_SETTING is not one" "no init container running"; do
	grep -qF -- "$want" "$work/bad.out" || {
		cat "$work/bad.out" >&2
		fail "the broken fixture's fault \"$want\" was not reported"
	}
done
echo "ok - the broken fixture is rejected, each fault named"
