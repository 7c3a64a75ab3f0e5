#!/usr/bin/env bash
# `yarn bench:web`: the pages a user waits for, timed in Chromium against the production build.
#  1. builds the app and the backend (scripts/start-prod.sh --build-only; BENCH_WEB_SKIP_BUILD=1 reuses it)
#  2. creates fresh PostgreSQL databases for the backend (prefix BENCH_WEB_PG_PREFIX) and seeds them
#     through the plugins' own stores: 10,000 runs of one entity (plugins/kubechart-backend/src/benchSeed.ts)
#     and 1,000,000 audit events with a valid chain (plugins/audit-log-backend/src/benchSeed.ts)
#  3. starts the production backend on BENCH_WEB_PORT (7107) with kube-sim on BENCH_WEB_KUBE_SIM_PORT (7543),
#     so it does not collide with `make start` or the browser tests
#  4. e2e/bench-web.ts: signs in as the browser tests do and times each page (p50/p95, target, ratio)
#  5. then the JS each KubeChart plugin adds to the app bundle (scripts/bench-web/bundle-size.mjs)
# The databases are dropped at the end unless BENCH_WEB_KEEP_DB=1. Not part of `make test`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

port=${BENCH_WEB_PORT:-7107}
sim_port=${BENCH_WEB_KUBE_SIM_PORT:-7543}
pg=${BENCH_WEB_PG:-postgresql://postgres@127.0.0.1:5432}
prefix=${BENCH_WEB_PG_PREFIX:-kubechart_bench_web_}
entity=${BENCH_WEB_ENTITY:-component:default/inventory-service}
runs=${BENCH_WEB_RUNS:-10000}
events=${BENCH_WEB_EVENTS:-1000000}
export BENCH_WEB_ENTITY=$entity BENCH_WEB_RUNS=$runs BENCH_WEB_EVENTS=$events

for p in "$port" "$sim_port"; do
  if curl -sk -o /dev/null "http://127.0.0.1:$p/" || curl -sk -o /dev/null "https://127.0.0.1:$p/"; then
    echo "bench:web: port $p is in use; set BENCH_WEB_PORT / BENCH_WEB_KUBE_SIM_PORT" >&2
    exit 1
  fi
done
scripts/ensure-postgres.sh

if [ "${BENCH_WEB_SKIP_BUILD:-}" != 1 ]; then
  started=$SECONDS
  scripts/start-prod.sh --build-only
  echo "bench:web: production build in $((SECONDS - started)) s"
fi

db_url() { node -e 'const u = new URL(process.argv[1]); u.pathname = "/" + process.argv[2]; console.log(u.toString())' "$pg" "$1"; }
psql_admin() { psql "$pg" -v ON_ERROR_STOP=1 -qAt "$@"; }
drop_databases() {
  for db in $(psql_admin -c "SELECT datname FROM pg_database WHERE starts_with(datname, '$prefix')"); do
    psql_admin -c "DROP DATABASE \"$db\" WITH (FORCE)"
  done
}
drop_databases
# Backstage names each plugin's database <prefix><plugin id>.
for plugin in kubechart audit-log; do psql_admin -c "CREATE DATABASE \"$prefix$plugin\""; done

transform=(node --require @backstage/cli/config/nodeTransform.cjs)
(cd plugins/kubechart-backend && KUBECHART_SEED_DB=$(db_url "${prefix}kubechart") \
  KUBECHART_SEED_ENTITY=$entity KUBECHART_SEED_RUNS=$runs "${transform[@]}" src/benchSeed.ts)
(cd plugins/audit-log-backend && AUDIT_SEED_DB=$(db_url "${prefix}audit-log") \
  AUDIT_SEED_EVENTS=$events "${transform[@]}" src/benchSeed.ts)

log=$(mktemp -t kubechart-bench-web-XXXX.log)
KUBECHART_PORT=$port KUBE_SIM_PORT=$sim_port KUBECHART_PROD_PG=$pg KUBECHART_PROD_PG_PREFIX=$prefix \
  KUBECHART_PROD_SKIP_BUILD=1 setsid scripts/start-prod.sh >"$log" 2>&1 &
stack=$!
finish() {
  kill -- -"$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  if [ "${BENCH_WEB_KEEP_DB:-}" != 1 ]; then drop_databases || true; fi
}
trap finish EXIT

deadline=$((SECONDS + 300))
until curl -sf "http://127.0.0.1:$port/.backstage/health/v1/readiness" >/dev/null &&
  curl -sf "http://127.0.0.1:$port/" | grep -q '<div id="root">'; do
  if [ $SECONDS -gt $deadline ] || ! kill -0 "$stack" 2>/dev/null; then
    echo "bench:web: the production backend did not come up; its log:" >&2
    tail -n 80 "$log" >&2
    exit 1
  fi
  sleep 2
done
echo "bench:web: production backend up on :$port (log $log)"

KUBECHART_APP_URL=http://localhost:$port KUBECHART_BACKEND_URL=http://localhost:$port node e2e/bench-web.ts
node scripts/bench-web/bundle-size.mjs
