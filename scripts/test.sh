#!/usr/bin/env bash
# Every test of s3-migrate: formatting, lints, unit tests, emulator tests, infra tests.
# Installs and starts the local emulator itself (scripts/emulator.sh up); non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "local emulator"
scripts/emulator.sh up
eval "$(scripts/emulator.sh env)"

step "cargo-lambda (runtime API emulator of the Lambda packaging tests)"
CARGO_LAMBDA_VERSION=1.9.2
if ! .emulator/lambda-venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  python3 -m venv .emulator/lambda-venv
  .emulator/lambda-venv/bin/pip install -q "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
export CARGO_LAMBDA="$ROOT/.emulator/lambda-venv/bin/cargo-lambda"

step "cargo test --workspace (unit and emulator tests)"
cargo test --workspace --no-fail-fast

step "infra tests (CDK assertions, cdk-nag, cfn-lint)"
CFN_LINT_VERSION=1.58.0
if [ ! -x infra/.venv/bin/cfn-lint ] || ! infra/.venv/bin/cfn-lint --version 2>/dev/null | grep -q "$CFN_LINT_VERSION"; then
  python3 -m venv infra/.venv
  infra/.venv/bin/pip install -q "cfn-lint==$CFN_LINT_VERSION"
fi
(cd infra && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && CFN_LINT="$ROOT/infra/.venv/bin/cfn-lint" npm test)

step "all tests passed"
