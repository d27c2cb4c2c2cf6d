#!/usr/bin/env bash
# Documentation lint: antsibull-docs on the module, doc fragment and role entry-point docs, and
# antsibull-changelog on changelogs/ (every fragment and changelog.yaml). For `make test`:
#   bash tests/sanity/docs-lint.sh
# antsibull-docs needs the collection on a collections path (collection-link.sh).
set -euo pipefail
# shellcheck source=tests/sanity/collection-link.sh
. "$(dirname "$0")/collection-link.sh"
# The venv's ansible-doc, not another one on PATH.
bin="$(dirname "$(command -v antsibull-docs)")"
export PATH="$bin:$PATH"
status=0
echo "== antsibull-docs lint-collection-docs --plugin-docs"
(cd "$link" && antsibull-docs lint-collection-docs --plugin-docs .) || status=1
echo "== antsibull-changelog lint"
(cd "$root" && antsibull-changelog lint) || status=1
exit "$status"
