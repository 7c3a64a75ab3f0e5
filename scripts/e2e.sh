#!/usr/bin/env bash
# Browser tests: starts the example Backstage exactly as `make start` does (kube-sim included),
# waits until the frontend and the backend answer, then runs e2e/suite.test.ts with Node's test runner
# (playwright-core driving Debian's Chromium, headless). Screenshots go to e2e-screenshots/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. scripts/env.sh

for f in e2e/*.e2e.ts; do
  if ! grep -q "'./$(basename "$f")'" e2e/suite.test.ts; then
    echo "e2e: $f is not imported by e2e/suite.test.ts, so it would never run." >&2
    exit 1
  fi
done

for port in 3000 7007 7443; do
  if curl -sk -o /dev/null "http://127.0.0.1:$port/" || curl -sk -o /dev/null "https://127.0.0.1:$port/"; then
    echo "e2e: port $port is already in use; stop the running instance first." >&2
    exit 1
  fi
done

log=$(mktemp -t kubechart-e2e-XXXX.log)
setsid scripts/start.sh >"$log" 2>&1 &
stack=$!
stop_stack() { kill -- -"$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; }
trap stop_stack EXIT

deadline=$((SECONDS + 300))
until curl -sf http://127.0.0.1:7007/.backstage/health/v1/readiness >/dev/null &&
  curl -sf -o /dev/null http://127.0.0.1:3000/; do
  if [ $SECONDS -gt $deadline ] || ! kill -0 "$stack" 2>/dev/null; then
    echo "e2e: the example Backstage did not come up within 5 minutes; its log:" >&2
    tail -n 80 "$log" >&2
    exit 1
  fi
  sleep 2
done
echo "e2e: Backstage is up after ${SECONDS}s"

status=0
# e2e/suite.test.ts imports every *.e2e.ts file in the order they must run.
node --test e2e/suite.test.ts || status=$?
if [ $status -ne 0 ]; then
  echo "e2e: failed; the last lines of the Backstage log:" >&2
  tail -n 60 "$log" >&2
fi
exit $status
