#!/usr/bin/env bash
# Starts the example Backstage as a production Backstage runs: the frontend built once
# (`backstage-cli package build`, minified chunks) and served by the backend itself through
# @backstage/plugin-app-backend, on one port; the backend built into its production bundle
# (dist/bundle.tar.gz, the packages as they would be published) and run with NODE_ENV=production.
# kube-sim and the embedded defaults of `make start` (SQLite in memory, guest sign-in) stay.
#
# Environment (all optional):
#   KUBECHART_PORT=7007             the one port: the app and the API (http://localhost:$KUBECHART_PORT)
#   KUBE_SIM_PORT=7443              kube-sim's port (ignored when KUBE_SIM_URL names another API server)
#   KUBECHART_PROD_PG=postgresql://… PostgreSQL instead of SQLite in memory, one database per plugin
#   KUBECHART_PROD_PG_PREFIX=kubechart_prod_   prefix of those databases
#   KUBECHART_PROD_SKIP_BUILD=1     reuse the last build instead of building again
#   KUBECHART_PROD_DIR=packages/backend/dist/prod   where the backend bundle is unpacked
#   OTEL_EXPORTER_PROMETHEUS_PORT=9464  where the OpenTelemetry Prometheus exporter serves /metrics
# `scripts/start-prod.sh --build-only` builds and unpacks, and starts nothing. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

port=${KUBECHART_PORT:-7007}
sim_port=${KUBE_SIM_PORT:-7443}
prod_dir=${KUBECHART_PROD_DIR:-$root/packages/backend/dist/prod}
case "$prod_dir" in /*) ;; *) prod_dir=$root/$prod_dir ;; esac

if [ "${KUBECHART_PROD_SKIP_BUILD:-}" != 1 ] || [ ! -f "$prod_dir/packages/backend/package.json" ]; then
  echo "start-prod: building the app and the backend bundle (several minutes)"
  # The backend's build builds every workspace package it depends on, the app included (its
  # `app` dependency), then packs them into dist/bundle.tar.gz as a Docker image would get them.
  yarn workspace backend build
  rm -rf "$prod_dir"
  mkdir -p "$prod_dir"
  tar -xzf packages/backend/dist/bundle.tar.gz -C "$prod_dir"
  # The bundle's packages resolve their third-party dependencies from the checkout's
  # node_modules (installed and built for this Node already) and each other from the bundle:
  # node_modules here links every installed package except the workspace's own.
  node scripts/start-prod/link-node-modules.mjs "$root" "$prod_dir"
fi
if [ "${1:-}" = --build-only ]; then
  exit 0
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  # The backend shuts down gracefully (a few seconds): whoever stops this script sees it gone.
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if [ -z "${KUBE_SIM_URL:-}" ]; then
  export KUBE_SIM_URL=https://127.0.0.1:$sim_port
  setsid yarn kube-sim --tls --port "$sim_port" --token kube-sim-dev-token --seed demo &
  pids+=($!)
  for _ in $(seq 1 60); do
    curl -skf -H 'Authorization: Bearer kube-sim-dev-token' "$KUBE_SIM_URL/version" >/dev/null && break
    sleep 0.5
  done
fi

# The production overlay: one origin for the app and the API, the guest sign-in kept (the
# guest provider refuses to run under NODE_ENV=production unless told to), and optionally
# PostgreSQL. Written next to the bundle, not into the checkout.
overlay=$prod_dir/app-config.start-prod.yaml
{
  echo "app:"
  echo "  baseUrl: http://localhost:$port"
  echo "backend:"
  echo "  baseUrl: http://localhost:$port"
  echo "  listen:"
  echo "    port: $port"
  echo "  cors:"
  echo "    origin: http://localhost:$port"
  if [ -n "${KUBECHART_PROD_PG:-}" ]; then
    echo "  database:"
    echo "    client: pg"
    echo "    connection: '${KUBECHART_PROD_PG}'"
    echo "    prefix: '${KUBECHART_PROD_PG_PREFIX:-kubechart_prod_}'"
  fi
  echo "auth:"
  echo "  providers:"
  echo "    guest:"
  echo "      dangerouslyAllowOutsideDevelopment: true"
} >"$overlay"

# The backend reads its relative paths (catalog locations, chart directories) from
# packages/backend, as under `make start`.
cd "$root/packages/backend"
# OpenTelemetry is loaded first, as Backstage's tutorial has the production image do
# (`node --require ./instrumentation.js packages/backend`): the same file `make start` loads.
NODE_ENV=production setsid node --require "$root/packages/backend/src/instrumentation.js" \
  "$prod_dir/packages/backend" \
  --config "$root/app-config.yaml" --config "$overlay" &
pids+=($!)
echo "start-prod: http://localhost:$port (backend pid $!)"
wait -n "${pids[@]}"
