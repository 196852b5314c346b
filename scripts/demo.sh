#!/usr/bin/env bash
# A real migration on the local emulator, from a fresh clone:
#   a versioned source bucket (300 small objects, three multipart objects, awkward keys, files
#   the ignore list skips) is copied to a bucket in ANOTHER account (JobType=PUT with the
#   SecureString credentials: a real cross-account stream copy), by the real binaries:
#   `jobsender run`, then `worker poll --until-empty`; then a new object reaches the worker
#   through its S3 event notification. Ends with a verification table and `jobsender status`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "local emulator"
scripts/emulator.sh up
eval "$(scripts/emulator.sh env)"

say "building jobsender and worker (first time: a few minutes)"
TARGET="$ROOT/target/e2e"
cargo build --quiet --workspace --bins --target-dir "$TARGET"
BIN="$TARGET/debug"

say "provisioning: buckets in two accounts, queue + DLQ, ledger table, SSM parameters, sample data"
eval "$("$BIN/demo" setup)"
trap '"$BIN/demo" cleanup || true' EXIT
export MaxThread=8 MaxParallelFile=8

say "jobsender run: diff the bucket pair, enqueue one job per object"
"$BIN/jobsender" run

say "worker poll --until-empty: copy every job"
"$BIN/worker" poll --until-empty --wait-seconds 2 --retry-delay-seconds 2

say "a new object: its S3 event notification flows through the queue to the worker"
"$BIN/demo" event
"$BIN/worker" poll --until-empty --wait-seconds 5 --retry-delay-seconds 2

say "verification"
"$BIN/demo" verify

say "jobsender status"
"$BIN/jobsender" status
