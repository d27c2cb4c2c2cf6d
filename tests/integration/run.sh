#!/usr/bin/env bash
# Run integration targets against the lab: tests/integration/run.sh [target ...]
# Each target (tests/integration/targets/<name>/) is a role run on the store host (localhost) with
# the lab inventory; targets whose aliases contain "disabled" are skipped.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export ANSIBLE_ROLES_PATH="$here/targets"
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$root/tests/ansible.cfg}"
# A lab with another LAB_DIR (e.g. one in a network namespace of its own): its inventory, and
# its lab-vars.yml as extra vars (they override the committed file the playbooks load).
lab_dir="${LAB_DIR:-/var/tmp/certfleet-lab}"
inventory="$root/tests/lab/inventory.yml"; lab_args=()
if [ "${lab_dir%/}" != /var/tmp/certfleet-lab ]; then
  inventory="$lab_dir/inventory.yml"; lab_args=(-e "@$lab_dir/lab-vars.yml")
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in "$here"/targets/*/; do
    name="$(basename "$dir")"
    case "$name" in setup_*) continue ;; esac
    if [ -f "$dir/aliases" ] && grep -qx 'disabled' "$dir/aliases"; then continue; fi
    targets+=("$name")
  done
fi
# Targets whose aliases say needs_traefik run last, after a full `lab.sh up` (which waits for the
# Traefik build that `make test` started in the background), so that build overlaps the others.
ordered=(); later=()
for target in "${targets[@]}"; do
  if grep -qx 'needs_traefik' "$here/targets/$target/aliases" 2>/dev/null; then later+=("$target"); else ordered+=("$target"); fi
done
passed=0; failed=0; failures=()
for target in "${ordered[@]}" ${later[@]+"${later[@]}"}; do
  if [ ${#later[@]} -gt 0 ] && [ "$target" = "${later[0]}" ] && [ -z "${traefik_up:-}" ]; then
    echo "=== starting Traefik (waits for its build if it is still running)"
    LAB_DIR="$lab_dir" bash "$root/tests/lab/lab.sh" up
    traefik_up=1
  fi
  echo "=== integration target: $target"
  if ansible-playbook -i "$inventory" "$here/target.yml" -e "certfleet_test_target=$target" ${lab_args[@]+"${lab_args[@]}"}; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failures+=("$target")
  fi
done
echo "integration: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] || { echo "failed targets: ${failures[*]}"; exit 1; }
