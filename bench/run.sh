#!/usr/bin/env bash
# certfleet.acme benchmark (make bench): certfleet vs community.crypto vs certbot vs the ACME
# protocol floor on the lab, for BENCH_SIZES certificates, BENCH_REPEATS times each.
#
#   bash bench/run.sh            the matrix: sizes "1 50 500" x nodes "3 20", 1 repeat (BENCH_SIZES, BENCH_NODES, BENCH_REPEATS)
#   bash bench/run.sh --quick    BENCH_QUICK=1: sizes "1 5" on 3 nodes, role and floors only
#
# Other settings (environment): BENCH_CASES (default "role role-files community.crypto certbot
# floor"), BENCH_PEER_SIZES / BENCH_PEER_NODES (where the peers and role-files run, "50" / 3),
# BENCH_PROFILE=0|1 (a profiled role run per cell), BENCH_FORKS (25), BENCH_RUN_TIMEOUT (s per
# run), BENCH_PYTHON (Python for the peers' venv, default python3). See bench/driver.py.
# The lab needs max(BENCH_NODES) nodes: LAB_NODES=20 (in a network namespace of its own, see
# tests/lab/README.md).
# Needs the lab up (make lab-up) and certfleet's venv and collection link (make deps).
# Writes bench/results.md; exits non-zero if any case fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/bench/.work"
peers="$work/venv-peers"
lab_dir="${LAB_DIR:-/var/tmp/certfleet-lab}"

for arg in "$@"; do
  case "$arg" in
    --quick) export BENCH_QUICK=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

# certfleet's side: the project venv and the collection link that `make deps` sets up.
if [[ ! -x "$root/.venv/bin/ansible-playbook" || ! -e "$root/.build/collections/ansible_collections/certfleet/acme" ]]; then
  echo "bench/run.sh: certfleet's venv or collection link is missing: run 'make bench' (or 'make deps')" >&2
  exit 1
fi
if ! bash "$root/tests/lab/lab.sh" status >/dev/null 2>&1; then
  bash "$root/tests/lab/lab.sh" status >&2 || true
  echo "bench/run.sh: the lab is not (fully) up: run 'make lab-up' (make bench does)" >&2
  exit 1
fi

# The peers' own venv, set up once and again only when bench/requirements-peers.txt changes.
mkdir -p "$work"
if ! cmp -s "$root/bench/requirements-peers.txt" "$peers/.installed" 2>/dev/null; then
  python="${BENCH_PYTHON:-python3}"
  "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "bench/run.sh: $python is older than 3.11 (set BENCH_PYTHON)" >&2; exit 1; }
  echo "bench/run.sh: installing the peers into $peers"
  rm -rf "$peers"
  "$python" -m venv "$peers"
  "$peers/bin/pip" install -q --upgrade pip
  "$peers/bin/pip" install -q -r "$root/bench/requirements-peers.txt"
  cp "$root/bench/requirements-peers.txt" "$peers/.installed"
fi

export LAB_DIR="$lab_dir"
exec "$root/.venv/bin/python" "$root/bench/driver.py"
