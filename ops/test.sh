#!/usr/bin/env bash
# README line 2: runs every test against a throwaway PostgreSQL+PostGIS cluster made for this run.
# Tests clone their databases from the migrated template `nenufar_template`, reached through
# NENUFAR_TEST_ADMIN_URL. Extra arguments go to cargo nextest (or cargo test), e.g. a filter.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# psql would read these; the URLs below say everything else.
unset PGPORT PGSERVICE PGOPTIONS

step "checking system dependencies"
ops/ensure-deps.sh
mkdir -p artifacts # screenshots and other outputs of tests

step "checking that the pure core depends on no IO crate"
ops/check-core-deps.sh

# The `test-clock` feature lets tests set the clock of the `nenufar serve` processes they start
# (NENUFAR_TEST_CLOCK_FILE); only this test build has it, never a release build or the demo.
features=(--features nenufar/test-clock)

step "building binaries and tests"
cargo build --quiet --bins --tests "${features[@]}"
nenufar="${CARGO_TARGET_DIR:-target}/debug/nenufar"

step "starting a throwaway database cluster"
# Short path under /tmp: the unix socket lives in it and must stay under 100 bytes.
dir=$(mktemp -d /tmp/nft-XXXXXX)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  "$nenufar" db stop --data-dir "$dir" >/dev/null 2>&1 ||
    echo "warning: could not stop the test cluster in $dir" >&2
  rm -rf "$dir" || echo "warning: could not remove $dir" >&2
}
trap cleanup EXIT
if [[ $(id -u) -eq 0 ]]; then
  # As root, PostgreSQL runs as postgres, which must own and enter the directory.
  chown postgres:postgres "$dir"
  chmod 755 "$dir"
fi
admin_url=$("$nenufar" db start --data-dir "$dir" --throwaway)
admin_url=${admin_url##*$'\n'} # the URL is the last line printed
echo "cluster: $admin_url"

step "creating and migrating the template database"
psql "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "create database nenufar_template"
template_url="postgresql:///nenufar_template?user=postgres&host=$dir"
NENUFAR_DATABASE_URL="$template_url" "$nenufar" migrate

step "running the tests"
export NENUFAR_TEST_ADMIN_URL="$admin_url" NENUFAR_TEST_TEMPLATE=nenufar_template
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-targets --no-fail-fast "${features[@]}" "$@" || status=$?
else
  echo "cargo-nextest not found: using cargo test"
  cargo test --workspace --all-targets --no-fail-fast "${features[@]}" "$@" || status=$?
fi
exit "$status"
