#!/usr/bin/env bash
# Installs the system packages a fresh Debian machine lacks to run and test nenufar, the npm
# package of the push peer the tests use, and the OpenAPI validator the contract test runs.
# Idempotent and quick when everything is there. Usage: ops/ensure-deps.sh [--browser] [--node]
#   --browser  Debian's Chromium and ChromeDriver, for browser tests
#   --node     npm ci, when the repository has a package.json
set -euo pipefail
cd "$(dirname "$0")/.."

browser=false node=false
for arg in "$@"; do
  case "$arg" in
    --browser) browser=true ;;
    --node) node=true ;;
    *) echo "ensure-deps: unknown option $arg (known: --browser, --node)" >&2; exit 2 ;;
  esac
done

# Debian packages to install, each named after the file that shows it is there.
missing=()
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql-15)
[[ -f /usr/share/postgresql/15/extension/postgis.control ]] || missing+=(postgresql-15-postgis-3)
# Node.js runs the push peer below. Only a machine without node gets Debian's, which may be older
# than the >=20 web-push-testing declares (npm ci only warns; not tried here).
{ command -v node && command -v npm; } >/dev/null || missing+=(nodejs npm)
# Python with venv runs the OpenAPI validator below (Debian's python3 needs python3-venv for it).
if ! command -v python3 >/dev/null; then
  missing+=(python3 python3-venv)
elif ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if $browser && [[ ! -x /usr/bin/chromium ]]; then missing+=(chromium chromium-driver); fi

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "ensure-deps: missing Debian packages; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "ensure-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real Web Push service the push tests deliver to (tests/api/push/peer.rs): web-push-testing,
# pinned by tools/push-peer/package-lock.json. npm ci empties node_modules first, so the copy of
# the lockfile left there says what is installed: a changed lockfile reinstalls, a same one costs a cmp.
peer=tools/push-peer
if ! cmp -s "$peer/package-lock.json" "$peer/node_modules/.installed-package-lock.json"; then
  echo "ensure-deps: npm ci in $peer"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$peer/package-lock.json" "$peer/node_modules/.installed-package-lock.json"
fi

# The OpenAPI 3.1 validator the contract test runs on mobile-api/openapi.json (tests/api/contract.rs):
# openapi-spec-validator from PyPI in a venv of its own, its whole dependency closure pinned by
# tools/openapi-validator/requirements.txt (--no-deps: nothing unpinned comes in). As for the push
# peer, a copy of the requirements left in the venv says what is installed.
validator=tools/openapi-validator
if ! cmp -s "$validator/requirements.txt" "$validator/.venv/.installed-requirements.txt"; then
  echo "ensure-deps: openapi-spec-validator in $validator/.venv"
  rm -rf "$validator/.venv"
  python3 -m venv "$validator/.venv"
  "$validator/.venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    -r "$validator/requirements.txt"
  cp "$validator/requirements.txt" "$validator/.venv/.installed-requirements.txt"
fi

if $node && [[ -f package.json ]]; then
  echo "ensure-deps: npm ci"
  npm ci --no-audit --no-fund
fi
