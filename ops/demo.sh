#!/usr/bin/env bash
# README line 1: the Paris demo hunt, served on http://127.0.0.1:8080 (NENUFAR_BIND to change).
# The binary starts (or reuses) its embedded PostgreSQL cluster, migrates, loads fixtures/paris,
# and prints the URLs and demo credentials. Extra arguments go to `nenufar demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

ops/ensure-deps.sh
exec cargo run --release --bin nenufar -- demo "$@"
