#!/usr/bin/env bash
# Documentation lint: antsibull-docs on the module, doc fragment and role entry-point docs, and
# antsibull-changelog on changelogs/ (every fragment and changelog.yaml). For `make test`:
#   bash tests/sanity/docs-lint.sh
# antsibull-docs needs the collection on a collections path; the link is the one the unit tests
# and the Makefile use (.build/collections/ansible_collections/certfleet/acme).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
collections="$root/.build/collections"
link="$collections/ansible_collections/certfleet/acme"
if [[ ! -e "$link" ]]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$root" "$link"
fi
export ANSIBLE_COLLECTIONS_PATH="$collections"
# The venv's ansible-doc, not another one on PATH.
bin="$(dirname "$(command -v antsibull-docs)")"
export PATH="$bin:$PATH"
status=0
echo "== antsibull-docs lint-collection-docs --plugin-docs"
(cd "$link" && antsibull-docs lint-collection-docs --plugin-docs .) || status=1
echo "== antsibull-changelog lint"
(cd "$root" && antsibull-changelog lint) || status=1
exit "$status"
