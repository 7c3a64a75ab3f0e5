#!/usr/bin/env bash
# Starts the example Backstage: kube-sim (the local Kubernetes API stand-in, seeded with a small
# demo cluster) on 127.0.0.1:7443, then the frontend on :3000 and the backend on :7007 (SQLite).
# Ctrl-C stops everything. KUBE_SIM_URL / KUBE_SIM_TOKEN point the app at another API server
# instead (then no kube-sim is started).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

if [ -z "${KUBE_SIM_URL:-}" ]; then
  setsid yarn kube-sim --tls --port 7443 --token kube-sim-dev-token --seed demo &
  pids+=($!)
  for _ in $(seq 1 60); do
    curl -skf -H 'Authorization: Bearer kube-sim-dev-token' https://127.0.0.1:7443/version >/dev/null && break
    sleep 0.5
  done
fi

setsid yarn start "$@" &
pids+=($!)
wait -n "${pids[@]}"
