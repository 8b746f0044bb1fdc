#!/usr/bin/env bash
# Runs the performance benchmarks and prints their figures (see BENCHMARKS.md). Benchmarks print
# numbers and assert nothing; on a shared machine run them 2-3 times and keep the median.
#
# Usage: ops/bench.sh [lookup|checkin_http|checkin_live|index_rebuild|push ...]
#   (default: lookup checkin_http index_rebuild, in that order). checkin_live is checkin_http with
#   NENUFAR_BENCH_SOCKETS (default 2,000) WebSocket clients subscribed to the hunt during the load.
#   checkin_http and checkin_live each measure twice in one invocation: the server with the limits
#   layer in place (NENUFAR_LIMITS=load-test, every limit raised out of the load's way) and without
#   it (NENUFAR_LIMITS=off, a switch for benchmarks only), and print the ratio of the two rates
#   (NENUFAR_BENCH_LIMITS=load-test,off by default; one profile alone measures once). Every
#   benchmark prints the limits profile it ran.
#
# Builds in release (`cargo build --release --benches --bins`), starts a durable PostgreSQL+PostGIS
# cluster of its own (fsync on: the HTTP check-in benchmark measures durable commits) in a fresh
# directory under /tmp, runs each benchmark against it, and stops and removes the cluster on exit.
# Each benchmark makes and drops its own database; they find the cluster through
# NENUFAR_BENCH_ADMIN_URL (the URL of its `postgres` database), set here.
# Knobs passed through from the environment: NENUFAR_BENCH_LOOKUP_FIXES, NENUFAR_BENCH_SECONDS,
# NENUFAR_BENCH_WARMUP_SECONDS, NENUFAR_BENCH_CONNECTIONS, NENUFAR_BENCH_POOL_SIZE,
# NENUFAR_BENCH_REBUILD_TARGETS, NENUFAR_BENCH_REPEAT, NENUFAR_BENCH_LIMITS,
# NENUFAR_BENCH_KEY_COLLISIONS, NENUFAR_BENCH_RADIUS_M (the find rate), NENUFAR_BENCH_PROFILE_SQL
# (each documented at the top of its benches/*.rs). NENUFAR_BENCH_PROFILE_SQL=stats also preloads
# pg_stat_statements in the cluster (a restart after it starts).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

benches=("$@")
((${#benches[@]})) || benches=(lookup checkin_http index_rebuild)
for b in "${benches[@]}"; do
  case "$b" in
    lookup | checkin_http | checkin_live | index_rebuild | push) ;;
    *) echo "bench.sh: unknown benchmark $b (known: lookup, checkin_http, checkin_live, index_rebuild, push)" >&2; exit 2 ;;
  esac
done

# psql and pgbench would read these; the URLs below say everything else.
unset PGPORT PGSERVICE PGOPTIONS PGHOST PGDATABASE PGUSER

step "checking system dependencies"
ops/ensure-deps.sh

step "building in release"
cargo build --release --benches --bins
nenufar="${CARGO_TARGET_DIR:-target}/release/nenufar"

# checkin_live holds 2,000 WebSocket clients in the benchmark and as many sockets in the server.
ulimit -n 20000 || echo "bench.sh: cannot raise the open-files limit (hard limit $(ulimit -Hn))" >&2
step "machine"
echo "cores: $(nproc); $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1); $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"

step "starting a durable database cluster (fsync on)"
# Short path under /tmp: the unix socket lives in it and must stay under 100 bytes.
dir=$(mktemp -d /tmp/nfb-XXXXXX)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  "$nenufar" db stop --data-dir "$dir" >/dev/null ||
    echo "warning: could not stop the benchmark cluster in $dir" >&2
  rm -rf "$dir" || echo "warning: could not remove $dir" >&2
}
trap cleanup EXIT
if [[ $(id -u) -eq 0 ]]; then
  # As root, PostgreSQL runs as postgres, which must own and enter the directory.
  chown postgres:postgres "$dir"
  chmod 755 "$dir"
fi
admin_url=$("$nenufar" db start --data-dir "$dir")
admin_url=${admin_url##*$'\n'} # the URL is the last line printed
echo "cluster: $admin_url ($(psql "$admin_url" -XAtc 'show fsync') fsync, synchronous_commit $(psql "$admin_url" -XAtc 'show synchronous_commit'))"
if [[ ${NENUFAR_BENCH_PROFILE_SQL:-} == stats ]]; then
  # The statement and function statistics of benches/checkin_http/pgstats.rs: a restart loads the
  # library, then its own settings exist.
  psql "$admin_url" -XAtqc "alter system set shared_preload_libraries = 'pg_stat_statements'"
  psql "$admin_url" -XAtqc "alter system set track_functions = 'pl'"
  "$nenufar" db stop --data-dir "$dir" >/dev/null
  admin_url=$("$nenufar" db start --data-dir "$dir")
  admin_url=${admin_url##*$'\n'}
  psql "$admin_url" -XAtqc "alter system set pg_stat_statements.track = 'all'"
  psql "$admin_url" -XAtqc "select pg_reload_conf()" >/dev/null
  echo "cluster restarted with $(psql "$admin_url" -XAtc 'show shared_preload_libraries') preloaded"
fi
export NENUFAR_BENCH_ADMIN_URL="$admin_url"

for b in "${benches[@]}"; do
  step "benchmark $b"
  # `cargo bench` reuses the release build above and passes --bench to the binary.
  if [[ $b == checkin_live ]]; then
    NENUFAR_BENCH_SOCKETS=${NENUFAR_BENCH_SOCKETS:-2000} cargo bench --quiet --bench checkin_http
  else
    cargo bench --quiet --bench "$b"
  fi
done
