#!/usr/bin/env bash
# Fails if the pure core (crates/core, `nenufar-core`) depends, directly or not, on a crate that
# does IO (the OS's randomness included: `getrandom`), runs tasks, talks to a database, logs or
# describes the HTTP API. Cargo builds the core from its own dependency list only, so what is not
# in its tree cannot be reached from its code.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='tokio|axum|hyper|tower|reqwest|diesel|diesel-async|postgis_diesel|deadpool|tracing|tracing-subscriber|utoipa|metrics|mio|socket2|getrandom'
# Normal and build dependencies of the core, with every feature the workspace may turn on.
tree=$(cargo tree --offline -p nenufar-core -e normal,build --prefix none --format '{p}' 2>/dev/null ||
  cargo tree -p nenufar-core -e normal,build --prefix none --format '{p}')
bad=$(printf '%s\n' "$tree" | awk '{print $1}' | grep -Ex "($forbidden)" | sort -u || true)
if [[ -n "$bad" ]]; then
  echo "check-core-deps: the pure core depends on: $(echo "$bad" | tr '\n' ' ')" >&2
  echo "check-core-deps: path to each: cargo tree -p nenufar-core -i <crate>" >&2
  exit 1
fi
echo "check-core-deps: nenufar-core depends on no IO, randomness, runtime, database, logging or OpenAPI crate ($(printf '%s\n' "$tree" | awk '{print $1}' | sort -u | wc -l) crates)"
