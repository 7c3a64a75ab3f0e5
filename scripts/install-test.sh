#!/usr/bin/env bash
# The install test: does KubeChart install into a brand-new Backstage app the way the README says?
#
#  1. Copies this working tree to a temp dir (node_modules hard-linked), type-checks it, builds every
#     published package and packs it with `yarn pack` (prepack/postpack rewrite package.json to dist).
#  2. Creates a fresh app with @backstage/create-app at the version of our backstage.json release.
#  3. Follows the README's "Adding KubeChart to an existing Backstage instance" section step by step:
#     tarballs as `resolutions`, `yarn add` into packages/backend and packages/app, the backend lines,
#     the configuration, the example charts and templates; `config:check --strict` of that configuration.
#  4. `yarn tsc`, `yarn build:all`, then starts the built backend on :7107 against its own kube-sim
#     (:7543) and asserts: the kubechart, audit-log and kube-assistant routes answer, the five
#     kubechart:* actions are registered, the example chart template runs to the end, and `yarn why`
#     shows one copy of each @backstage/* package our packages depend on.
#  5. Loads the app the backend serves (its production build) in headless Chromium, signs in as the
#     guest and finds each family's screens, discovered from the installed tarballs: the home page
#     widgets, the entity's Deployment history with that run, the tenants page, the audit log with the
#     template's events, the assistant page (scripts/install-test/checkFrontend.mjs).
#
# Only the npm registry is used (the Yarn cache of this machine is reused). Ports: 7107, 7543.
# KEEP_INSTALL_TEST=1 leaves the temp dir behind; INSTALL_TEST_DIR=<dir> picks it;
# INSTALL_TEST_REF=<git ref> tests that commit instead of the working tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

# create-app 0.9.2 is the newest create-app on the registry; it makes a release 1.55.0 app, which the README's
# first step moves to our release (backstage.json) with versions:bump. RELEASE_DAY is that release's date:
# the release manifest is rebuilt from the registry's publish dates (see install-test/releaseManifest.js).
CREATE_APP_VERSION=0.9.2
RELEASE_DAY=2026-11-17
BACKEND_PORT=7107
KUBE_PORT=7543
KUBE_TOKEN=install-test-token
release=$(node -p "require('./backstage.json').version")

start=$SECONDS
step() { echo "install-test [$((SECONDS - start))s] $*"; }
fail() {
  echo "install-test: FAILED: $*" >&2
  exit 1
}

work=${INSTALL_TEST_DIR:-$(mktemp -d -t kubechart-install-test-XXXX)}
mkdir -p "$work"
pids=() # each one a session leader (setsid in a background job), so kill -- -pid stops all it started
cleanup() {
  for pid in "${pids[@]}"; do kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  if [ -z "${KEEP_INSTALL_TEST:-}" ]; then rm -rf "$work"; else echo "install-test: left in $work"; fi
}
trap cleanup EXIT

for port in $BACKEND_PORT $KUBE_PORT; do
  if curl -sk -o /dev/null "http://127.0.0.1:$port/" || curl -sk -o /dev/null "https://127.0.0.1:$port/"; then
    fail "port $port is already in use"
  fi
done

# Same Yarn cache for the fresh app as for this repository: a few minutes, not tens of minutes.
YARN_GLOBAL_FOLDER=$(yarn config get globalFolder)
export YARN_GLOBAL_FOLDER YARN_ENABLE_GLOBAL_CACHE=true
export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_PROGRESS_BARS=false

# ---- 1. build and pack every published package, in a copy of the working tree ----------------------
step "copying the working tree to $work/src"
src=$work/src
rm -rf "$src" && mkdir -p "$src"
if [ -n "${INSTALL_TEST_REF:-}" ]; then
  git archive "$INSTALL_TEST_REF" | tar -x -C "$src"
else
  # Tracked and untracked files, minus ignored ones; files deleted in the working tree are skipped.
  git ls-files -co --exclude-standard -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -x -C "$src"
fi
cp -a .yarn/install-state.gz "$src/.yarn/" 2>/dev/null || true
for d in node_modules packages/*/node_modules plugins/*/node_modules; do
  [ -d "$d" ] && cp -al "$d" "$src/$d"
done
cd "$src"
step "type check (yarn tsc)"
yarn tsc >"$work/tsc.log" 2>&1 || { tail -n 40 "$work/tsc.log"; fail "yarn tsc"; }

published=()
for pj in plugins/*/package.json; do
  if [ "$(node -p "require('./$pj').private === true")" = false ]; then
    published+=("$(dirname "$pj")")
  fi
done
step "building ${#published[@]} packages (backstage-cli repo build)"
yarn backstage-cli repo build >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "repo build"; }

tarballs=$work/tarballs
mkdir -p "$tarballs"
for dir in "${published[@]}"; do
  (cd "$dir" && yarn pack --out "$tarballs/%s-%v.tgz" >"$work/pack-$(basename "$dir").log" 2>&1) ||
    { tail -n 30 "$work/pack-$(basename "$dir").log"; fail "yarn pack in $dir"; }
done
step "packed: $(ls "$tarballs" | tr '\n' ' ')"
node scripts/install-test/checkTarballs.js "$tarballs" || fail "the tarballs are not publishable"

# ---- 2. a fresh app from create-app of our release ---------------------------------------------------
app=$work/app
rm -rf "$app"
step "creating an app with @backstage/create-app@$CREATE_APP_VERSION"
(cd "$work" && BACKSTAGE_APP_NAME=kubechart-install-test npx --yes "@backstage/create-app@$CREATE_APP_VERSION" \
  --path "$app" --skip-install >"$work/create-app.log" 2>&1) || { tail -n 30 "$work/create-app.log"; fail "create-app"; }
[ -f "$app/backstage.json" ] || fail "create-app@$CREATE_APP_VERSION made no backstage.json"

# create-app seeds the new app's yarn.lock from the Backstage repository on GitHub; without it every caret
# range resolves to the newest release, and the lines of two releases meet (e.g. plugin-signals-backend
# 0.3.21 on backend-defaults 0.18.0 does not start). This repository's yarn.lock is a release-1.55.0 lock:
# it is the seed here.
if ! grep -q '@backstage/' "$app/yarn.lock"; then
  cp "$src/yarn.lock" "$app/yarn.lock"
fi

# ---- 3. the README's install steps -------------------------------------------------------------------
cd "$app"
step "README: move the app to Backstage $release (versions:bump)"
# versions:bump downloads the release manifest from outside the npm registry; here it is rebuilt from the
# registry and handed over through BACKSTAGE_MANIFEST_FILE, which versions:bump reads instead.
node "$src/scripts/install-test/releaseManifest.js" "$work/manifest.json" "$RELEASE_DAY" "$app" "$src/plugins" \
  >"$work/manifest.log" 2>&1 || { cat "$work/manifest.log"; fail "the release manifest of $release"; }
# The new app is not installed yet: the backstage-cli of this repository runs the bump in it.
BACKSTAGE_MANIFEST_FILE="$work/manifest.json" node "$src/node_modules/@backstage/cli/bin/backstage-cli" versions:bump --release "$release" --skip-install \
  >"$work/bump.log" 2>&1 || { tail -n 40 "$work/bump.log"; fail "versions:bump to $release"; }
app_release=$(node -p "require('$app/backstage.json').version")
[ "$app_release" = "$release" ] || fail "after versions:bump the app says Backstage $app_release, not $release"
step "README: the packages (tarballs as resolutions, then yarn add)"
node "$src/scripts/install-test/useTarballs.js" "$app/package.json" "$tarballs"
yarn --cwd packages/backend add \
  @kubechart/plugin-kubechart-backend@^0.1.0 \
  @kubechart/plugin-scaffolder-backend-module-kubechart@^0.1.0 \
  @kubechart/plugin-catalog-backend-module-kubechart@^0.1.0 \
  @kubechart/plugin-audit-log-backend@^0.1.0 \
  @kubechart/plugin-audit-log-node@^0.1.0 \
  @kubechart/plugin-assistant-backend@^0.1.0 >"$work/add-backend.log" 2>&1 ||
  { tail -n 40 "$work/add-backend.log"; fail "yarn add (backend)"; }
yarn --cwd packages/app add \
  @kubechart/plugin-kubechart@^0.1.0 \
  @kubechart/plugin-audit-log@^0.1.0 \
  @kubechart/plugin-assistant@^0.1.0 >"$work/add-app.log" 2>&1 ||
  { tail -n 40 "$work/add-app.log"; fail "yarn add (app)"; }

step "README: backend wiring, configuration, example charts and templates"
node "$src/scripts/install-test/wireBackend.js" packages/backend/src/index.ts
cp -r "$src/examples/charts" "$src/examples/templates" examples/
node "$src/scripts/install-test/configure.js" app-config.yaml
node "$src/scripts/install-test/annotateEntity.js" examples/entities.yaml
cat >app-config.install-test.yaml <<EOF
# Only for the install test: its own port, guest sign-in outside development.
app:
  baseUrl: http://localhost:$BACKEND_PORT
backend:
  baseUrl: http://localhost:$BACKEND_PORT
  listen:
    port: $BACKEND_PORT
  cors:
    origin: http://localhost:$BACKEND_PORT
auth:
  providers:
    guest:
      dangerouslyAllowOutsideDevelopment: true
EOF

step "config:check --strict: the README's configuration is valid against every installed plugin's schema"
KUBE_URL="https://127.0.0.1:$KUBE_PORT" KUBE_TOKEN="$KUBE_TOKEN" \
  yarn backstage-cli config:check --strict --config app-config.yaml --config app-config.install-test.yaml \
  >"$work/app-config-check.log" 2>&1 || { tail -n 40 "$work/app-config-check.log"; fail "config:check --strict in the new app"; }

step "yarn tsc"
yarn tsc >"$work/app-tsc.log" 2>&1 || { tail -n 40 "$work/app-tsc.log"; fail "tsc in the new app"; }
step "yarn build:all"
yarn build:all >"$work/app-build.log" 2>&1 || { tail -n 40 "$work/app-build.log"; fail "build in the new app"; }

step "yarn why: one copy of each @backstage/* package ours depend on"
node "$src/scripts/install-test/checkDuplicates.js" "$tarballs" || fail "duplicate @backstage/* copies"

# ---- 4. run it ---------------------------------------------------------------------------------------
step "starting kube-sim on :$KUBE_PORT and the new app's backend on :$BACKEND_PORT"
cd "$src"
setsid yarn kube-sim --tls --port "$KUBE_PORT" --token "$KUBE_TOKEN" --seed empty \
  --kubeconfig "$work/kube-sim/kubeconfig" >"$work/kube-sim.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 120))
until [ -s "$work/kube-sim/kubeconfig" ] && kubectl --kubeconfig "$work/kube-sim/kubeconfig" get --raw /readyz >/dev/null 2>&1; do
  [ $SECONDS -gt $deadline ] && { tail -n 30 "$work/kube-sim.log" >&2; fail "kube-sim did not start"; }
  sleep 1
done
step "README: the namespace the example deploys to exists (kubectl apply)"
kubectl --kubeconfig "$work/kube-sim/kubeconfig" apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: shop
EOF
# `yarn build:all` made the deployable bundle (dist/bundle.tar.gz); the backend runs from the workspace,
# with the installed tarballs' dist code, as `yarn start` runs it.
cd "$app/packages/backend"
KUBE_URL="https://127.0.0.1:$KUBE_PORT" KUBE_TOKEN="$KUBE_TOKEN" setsid yarn start \
  --config ../../app-config.yaml --config ../../app-config.install-test.yaml >"$work/backend.log" 2>&1 &
pids+=($!)
cd "$app"
deadline=$((SECONDS + 600))
until curl -sf "http://127.0.0.1:$BACKEND_PORT/.backstage/health/v1/readiness" >/dev/null; do
  if [ $SECONDS -gt $deadline ] || ! kill -0 "${pids[1]}" 2>/dev/null; then
    tail -n 60 "$work/backend.log" >&2
    fail "the new app's backend did not become ready"
  fi
  sleep 2
done
step "backend ready; checking the features"
node "$src/scripts/install-test/checkRunningApp.js" "http://127.0.0.1:$BACKEND_PORT" ||
  { tail -n 60 "$work/backend.log" >&2; fail "the installed features"; }
step "the installed app in a browser (the production build the backend serves)"
node "$src/scripts/install-test/checkFrontend.mjs" "http://localhost:$BACKEND_PORT" "$src" ||
  { tail -n 60 "$work/backend.log" >&2; fail "the installed screens"; }

step "passed in $((SECONDS - start))s"
