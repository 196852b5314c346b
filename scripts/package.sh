#!/usr/bin/env bash
# Builds the Lambda packages the stack deploys: target/lambda/{jobsender,worker}/bootstrap.zip,
# arm64 for provided.al2023, with cargo-lambda (pinned, from PyPI, which brings its own zig)
# into .emulator/lambda-venv and the aarch64 target added with rustup when missing. Prints each
# zip's size and sha256, and checks that the binaries need no newer glibc than Amazon Linux
# 2023's (2.34).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/versions.sh
. scripts/lib/versions.sh
say() { printf '==> %s\n' "$*" >&2; }

if ! .emulator/lambda-venv/bin/cargo-lambda lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  say "installing cargo-lambda $CARGO_LAMBDA_VERSION (PyPI) into .emulator/lambda-venv"
  python3 -m venv .emulator/lambda-venv
  .emulator/lambda-venv/bin/pip install -q "cargo-lambda==$CARGO_LAMBDA_VERSION"
fi
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  say "adding the aarch64-unknown-linux-gnu target (rustup)"
  rustup target add aarch64-unknown-linux-gnu
fi

say "building jobsender and worker for arm64 (release; the first build takes several minutes)"
# cargo-lambda finds zig through the PATH of its own virtualenv.
PATH="$ROOT/.emulator/lambda-venv/bin:$PATH" cargo-lambda lambda build --release --arm64 \
  --output-format zip --package jobsender --package worker

status=0
for name in jobsender worker; do
  zip="target/lambda/$name/bootstrap.zip"
  [ -f "$zip" ] || { say "$zip was not built"; exit 1; }
  glibc=$(python3 scripts/lib/elf_glibc.py "$zip")
  printf '%-10s %s  %8d bytes  sha256 %s  needs glibc %s\n' "$name" "$zip" "$(stat -c %s "$zip")" \
    "$(sha256sum "$zip" | cut -d' ' -f1)" "$glibc"
  if [ "$(printf '%s\n%s\n' "$glibc" "$AL2023_GLIBC" | sort -V | tail -n1)" != "$AL2023_GLIBC" ]; then
    say "$name needs glibc $glibc, newer than provided.al2023's $AL2023_GLIBC"
    status=1
  fi
done
exit $status
