#!/usr/bin/env bash
# Builds the pinned tools from Go modules into a cache outside the checkout, keyed by tool,
# version and a hash of the module that builds it, and links them into bin/.
# Usage: hack/tools/install.sh [tool...]   (default: every tool)
set -euo pipefail

tools_dir=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$tools_dir/../.." && pwd)
cache=${VMSERVICE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vm-service/tools}
bin="$root/bin"
mkdir -p "$cache" "$bin"

# tool -> "module-dir|package|module-whose-version-names-the-build"
declare -A spec=(
	[controller-gen]=".|sigs.k8s.io/controller-tools/cmd/controller-gen|sigs.k8s.io/controller-tools"
	[ginkgo]=".|github.com/onsi/ginkgo/v2/ginkgo|github.com/onsi/ginkgo/v2"
	[govc]=".|./cmd/govc|github.com/vmware/govmomi"
	[etcd]="etcd|.|go.etcd.io/etcd/server/v3"
	[kube-apiserver]="kube-apiserver|.|k8s.io/kubernetes"
)
order=(controller-gen ginkgo govc etcd kube-apiserver)

# The kube-apiserver needs its version stamped in, or clients cannot parse what it reports.
ldflags_for() {
	local version=$1
	case $2 in
	kube-apiserver)
		local minor=${version#v1.}; minor=${minor%%.*}
		echo "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
		;;
	*) echo "-s -w" ;;
	esac
}

build() {
	local tool=$1 dir pkg mod
	IFS='|' read -r dir pkg mod <<<"${spec[$tool]}"
	local moddir="$tools_dir/$dir"
	local version hash key out
	version=$(cd "$moddir" && go list -m -f '{{.Version}}' "$mod")
	hash=$(cd "$moddir" && cat go.mod go.sum $(find . -maxdepth 3 -name '*.go' -not -path './etcd/*' -not -path './kube-apiserver/*' | sort) | sha256sum | cut -c1-10)
	key="$tool-$version-$hash"
	out="$cache/$key/$tool"
	if [[ ! -x $out ]]; then
		echo "tools: building $tool $version (cached afterwards in $cache/$key)"
		local start=$SECONDS tmp ticker status=0
		tmp=$(mktemp -d "$cache/.build-$tool.XXXXXX")
		( while sleep 30; do echo "tools:   still building $tool ($((SECONDS - start))s)"; done ) &
		ticker=$!
		(cd "$moddir" && CGO_ENABLED=0 go build -trimpath -ldflags "$(ldflags_for "$version" "$tool")" -o "$tmp/$tool" "$pkg") || status=$?
		kill "$ticker" 2>/dev/null || true
		if [[ $status -ne 0 ]]; then
			rm -rf "$tmp"
			echo "tools: building $tool failed (exit $status); the messages above say why" >&2
			exit "$status"
		fi
		mkdir -p "$cache/$key"
		mv "$tmp/$tool" "$out" && rmdir "$tmp"
		echo "tools: built $tool in $((SECONDS - start))s"
	fi
	ln -sfn "$out" "$bin/$tool"
}

for tool in "${@:-${order[@]}}"; do
	[[ -n ${spec[$tool]:-} ]] || { echo "tools: unknown tool $tool (known: ${order[*]})" >&2; exit 2; }
	build "$tool"
done
