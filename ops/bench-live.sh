#!/usr/bin/env bash
# Runs the live-play benchmarks and prints their figures:
#   fanout       one hunt-wide event a second to 10,000 idle WebSocket clients of one node, beside
#                Redis pub/sub delivering the same-size message to 10,000 subscribers (benches/fanout;
#                the clients are a separate process, examples/fanout_clients.rs)
#   leaderboard  score update + rank lookup on a 100,000-member board in process, beside Redis
#                ZINCRBY + ZREVRANK over loopback (benches/leaderboard.rs)
#   replay_outage  issue 9 item 1: stuck subscribers replaying a long history while check-ins and
#                staff reads are timed (benches/replay_outage.rs; not in the default set)
# Benchmarks print numbers and assert nothing. On a shared machine check that it is quiet first
# (`uptime` load below 1, no one else's cargo, rustc or postgres in `ps aux --sort=-%cpu | head`),
# run 2-3 times and keep the median.
#
# Usage: ops/bench-live.sh [fanout|leaderboard|replay_outage ...]   (default: fanout leaderboard)
#
# Needs redis-server (installed with apt-get when missing and run as root). Raises the open-files
# soft limit to 20,000: the server and the load generator each hold 10,000 sockets, in separate
# processes. Builds in release (`cargo build --release --benches --bins --examples`); for the
# fan-out starts a throwaway PostgreSQL+PostGIS cluster (fsync off: it measures delivery latency,
# not commit durability) in a fresh directory under /tmp, and stops and removes it on exit. Each
# benchmark starts its own redis-server on a free port and kills it when done.
# Knobs passed through from the environment: NENUFAR_BENCH_FANOUT_CLIENTS, _EVENTS, _WARMUP,
# _MESSAGE_BYTES, _REDIS, NENUFAR_BENCH_POOL_SIZE, NENUFAR_BENCH_SERVER_BIN,
# NENUFAR_BENCH_LEADERBOARD_OPS, _MEMBERS, NENUFAR_BENCH_REDIS_SERVER,
# NENUFAR_BENCH_OUTAGE_SUBSCRIBERS, _HISTORY_MB, _REQUESTS (documented at the top of
# benches/fanout/main.rs, benches/leaderboard.rs and benches/replay_outage.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

benches=("$@")
((${#benches[@]})) || benches=(fanout leaderboard)
for b in "${benches[@]}"; do
  case "$b" in
    fanout | leaderboard | replay_outage) ;;
    *) echo "bench-live.sh: unknown benchmark $b (known: fanout, leaderboard, replay_outage)" >&2; exit 2 ;;
  esac
done

unset PGPORT PGSERVICE PGOPTIONS PGHOST PGDATABASE PGUSER

step "checking system dependencies"
ops/ensure-deps.sh
if ! command -v "${NENUFAR_BENCH_REDIS_SERVER:-redis-server}" >/dev/null; then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "bench-live.sh: redis-server is missing; as root run: apt-get install -y redis-server" >&2
    exit 1
  fi
  echo "bench-live.sh: installing redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
ulimit -n 20000 || {
  echo "bench-live.sh: cannot raise the open-files limit to 20000 (hard limit $(ulimit -Hn))" >&2
  exit 1
}

step "building in release"
cargo build --release --benches --bins --examples
nenufar="${CARGO_TARGET_DIR:-target}/release/nenufar"

step "machine"
echo "cores: $(nproc); $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1); $(date -u +%FT%TZ)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); open files limit: $(ulimit -n)"

dir=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  [[ -n $dir ]] || return 0
  "$nenufar" db stop --data-dir "$dir" >/dev/null ||
    echo "warning: could not stop the benchmark cluster in $dir" >&2
  rm -rf "$dir" || echo "warning: could not remove $dir" >&2
}
trap cleanup EXIT

for b in "${benches[@]}"; do
  if [[ ($b == fanout || $b == replay_outage) && -z $dir ]]; then
    step "starting a throwaway database cluster (fsync off)"
    # Short path under /tmp: the unix socket lives in it and must stay under 100 bytes.
    dir=$(mktemp -d /tmp/nfb-XXXXXX)
    if [[ $(id -u) -eq 0 ]]; then
      # As root, PostgreSQL runs as postgres, which must own and enter the directory.
      chown postgres:postgres "$dir"
      chmod 755 "$dir"
    fi
    admin_url=$("$nenufar" db start --data-dir "$dir" --throwaway)
    admin_url=${admin_url##*$'\n'} # the URL is the last line printed
    echo "cluster: $admin_url"
    export NENUFAR_BENCH_ADMIN_URL="$admin_url"
  fi
  step "benchmark $b"
  # `cargo bench` reuses the release build above and passes --bench to the binary.
  cargo bench --quiet --bench "$b"
done
