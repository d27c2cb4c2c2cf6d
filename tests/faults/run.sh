#!/usr/bin/env bash
# make faults: the fault suite on a lab of its own, in the network namespace cf-faults with
# LAB_DIR=/var/tmp/cf-faults, so the shared lab is never disturbed. Starts that lab (cached
# Pebble build, no Traefik), runs tests/faults/faults.py inside the namespace, tears it down.
#   FAULTS_KEEP=1      leave the namespace and its lab running afterwards
#   FAULTS_ONLY=a,b    run only the faults whose names contain a or b (after the first issue)
#   FAULTS_RESULTS=F   also write the table of figures to F (Markdown)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NS="${FAULTS_NETNS:-cf-faults}"
export LAB_DIR="${FAULTS_LAB_DIR:-/var/tmp/cf-faults}"
PY="${FAULTS_PYTHON:-${ROOT}/.venv/bin/python}"
[[ -x ${PY} ]] || PY=/work/main/.venv/bin/python
[[ ${EUID} -eq 0 ]] || { echo "faults: must run as root (network namespace, tmpfs)" >&2; exit 1; }

in_ns() { ip netns exec "${NS}" "$@"; }
teardown() {
  [[ ${FAULTS_KEEP:-0} == 1 ]] && return 0
  in_ns env LAB_DIR="${LAB_DIR}" LAB_TRAEFIK=0 bash "${ROOT}/tests/lab/lab.sh" down >/dev/null 2>&1 || true
  ip netns del "${NS}" 2>/dev/null || true
}

ip netns list | grep -qw "${NS}" || ip netns add "${NS}"
in_ns ip link set lo up
trap teardown EXIT
in_ns env LAB_DIR="${LAB_DIR}" LAB_TRAEFIK=0 bash "${ROOT}/tests/lab/lab.sh" up | tail -n 1
mkdir -p "${ROOT}/.build/collections/ansible_collections/certfleet"
ln -sfn "${ROOT}" "${ROOT}/.build/collections/ansible_collections/certfleet/acme"
in_ns env LAB_DIR="${LAB_DIR}" FAULTS_VENV_BIN="$(dirname "${PY}")" "${PY}" "${ROOT}/tests/faults/faults.py"
