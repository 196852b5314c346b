#!/usr/bin/env bash
# A real migration on the local emulator, from a fresh clone, by the real binaries
# (`jobsender run`, then `worker poll --until-empty`), verified object by object:
#
#   scripts/demo.sh           a versioned source bucket (300 small objects, three multipart
#                             objects, awkward keys, files the ignore list skips) copied to a
#                             bucket in ANOTHER account (JobType=PUT with the SecureString
#                             credentials: a real cross-account stream copy); then a new object
#                             reaches the worker through its S3 event notification
#   scripts/demo.sh gateway   the same data set in a gateway-like store (moto behind a proxy:
#                             base path /api/v1/s3, no multipart, no versions), copied into the
#                             emulator's S3 (JobType=GET, the store described in the SecureString)
#
# Ends with a verification table and `jobsender status`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCENARIO=${1:-accounts}
case "$SCENARIO" in accounts | gateway) ;; *)
  echo "usage: $0 [gateway]" >&2
  exit 2
  ;;
esac
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "local emulator"
scripts/emulator.sh up
eval "$(scripts/emulator.sh env)"

say "building jobsender and worker (first time: a few minutes)"
TARGET="$ROOT/target/e2e"
cargo build --quiet --workspace --bins --target-dir "$TARGET"
BIN="$TARGET/debug"

PROXY_PID=""
cleanup() {
  "$BIN/demo" cleanup || true
  [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null || true
}
if [ "$SCENARIO" = gateway ]; then
  say "a gateway-like store: moto behind a proxy (base path /api/v1/s3, no multipart, no versions)"
  URL_FILE=$(mktemp)
  "$BIN/demo" gateway-proxy >"$URL_FILE" &
  PROXY_PID=$!
  for _ in $(seq 1 50); do [ -s "$URL_FILE" ] && break; sleep 0.2; done
  GATEWAY_URL=$(cat "$URL_FILE")
  rm -f "$URL_FILE"
  [ -n "$GATEWAY_URL" ] || { echo "the gateway proxy did not start" >&2; exit 1; }
  echo "gateway: $GATEWAY_URL"
  say "provisioning: the data set in the gateway, a bucket in the emulator, queue + DLQ, ledger, SSM parameters"
  eval "$("$BIN/demo" setup gateway "$GATEWAY_URL")"
else
  say "provisioning: buckets in two accounts, queue + DLQ, ledger table, SSM parameters, sample data"
  eval "$("$BIN/demo" setup)"
fi
trap cleanup EXIT
export MaxThread=8 MaxParallelFile=8

say "jobsender run: diff the bucket pair, enqueue one job per object"
"$BIN/jobsender" run

say "worker poll --until-empty: copy every job"
"$BIN/worker" poll --until-empty --wait-seconds 2 --retry-delay-seconds 2

if [ "$SCENARIO" = accounts ]; then
  say "a new object: its S3 event notification flows through the queue to the worker"
  "$BIN/demo" event
  "$BIN/worker" poll --until-empty --wait-seconds 5 --retry-delay-seconds 2
fi

say "verification"
"$BIN/demo" verify

say "jobsender status"
"$BIN/jobsender" status
