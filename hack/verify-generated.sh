#!/usr/bin/env bash
# Fails when the generated files in the checkout differ from what 'make generate' makes now.
# Generates into a scratch copy, so uncommitted work in the checkout is neither needed nor touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$root"
git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$scratch" 2>/dev/null || true
mkdir -p "$scratch/bin" && ln -s "$root/bin/controller-gen" "$scratch/bin/controller-gen"
make -s -C "$scratch" generate >/dev/null
if ! diff -ru --exclude=bin "$root/api" "$scratch/api" || ! diff -ru "$root/config" "$scratch/config"; then
	echo "verify: generated files are stale; run 'make generate'" >&2
	exit 1
fi
