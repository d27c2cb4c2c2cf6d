# shellcheck shell=bash
# Sourced by the lint scripts: $root is the tree, and it is linked as
# ansible_collections/certfleet/acme on ANSIBLE_COLLECTIONS_PATH (the link the unit tests and the
# Makefile use: .build/collections/ansible_collections/certfleet/acme).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
collections="$root/.build/collections"
link="$collections/ansible_collections/certfleet/acme"
if [[ ! -e "$link" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$root" "$link"
fi
export ANSIBLE_COLLECTIONS_PATH="$collections"
