#!/usr/bin/env bash
# Versions pinned for the scripts (sourced by test.sh and package.sh).
CARGO_LAMBDA_VERSION=1.9.2
# glibc of Amazon Linux 2023, the base of the provided.al2023 runtime
# (docs.aws.amazon.com/linux/al2023/ug/compare-with-al2.html: glibc 2.34).
AL2023_GLIBC=2.34
# The infra tests' linters (PyPI).
CFN_LINT_VERSION=1.58.0
AWS_SAM_CLI_VERSION=1.170.0
