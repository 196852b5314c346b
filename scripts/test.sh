#!/usr/bin/env bash
# Every test of s3-migrate: formatting, lints, unit tests, emulator tests, infra tests.
# Installs and starts the local emulator itself (scripts/emulator.sh up); non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

START=$(date +%s)
# Each step says how far into the run it starts (CI time is budgeted: see docs/development.md).
step() { printf '\n==> [%dm%02ds] %s\n' $((($(date +%s) - START) / 60)) $((($(date +%s) - START) % 60)) "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "local emulator"
scripts/emulator.sh up
eval "$(scripts/emulator.sh env)"

step "cargo-lambda (runtime API emulator of the Lambda packaging tests)"
. scripts/lib/versions.sh
if ! .emulator/lambda-venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  python3 -m venv .emulator/lambda-venv
  .emulator/lambda-venv/bin/pip install -q "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export CARGO_LAMBDA="$ROOT/.emulator/lambda-venv/bin/cargo-lambda"

step "Lambda packages: arm64 zips (scripts/package.sh), and qemu to run them"
bash scripts/package.sh
if ! command -v qemu-aarch64-static >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static libc6-arm64-cross >/dev/null
fi

step "cargo test --workspace (unit and emulator tests, and the arm64 packages under qemu)"
cargo test --workspace --no-fail-fast -- --include-ignored

step "infra tests (CDK assertions with the real packages, cdk-nag, cfn-lint, sam validate)"
if [ ! -x infra/.venv/bin/cfn-lint ] || ! infra/.venv/bin/cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  python3 -m venv infra/.venv
  infra/.venv/bin/pip install -q "cfn-lint==$CFN_LINT_VERSION"
fi
if ! infra/.sam-venv/bin/sam --version 2>/dev/null | grep -q "$AWS_SAM_CLI_VERSION"; then
  python3 -m venv infra/.sam-venv
  infra/.sam-venv/bin/pip install -q "aws-sam-cli==$AWS_SAM_CLI_VERSION"
fi
(cd infra && { [ -d node_modules ] || npm ci --no-audit --no-fund; } &&
  CFN_LINT="$ROOT/infra/.venv/bin/cfn-lint" SAM_CLI="$ROOT/infra/.sam-venv/bin/sam" S3M_REQUIRE_PACKAGES=1 npm test)

step "all tests passed"
