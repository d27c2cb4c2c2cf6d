#!/usr/bin/env bash
# ansible-lint with the production profile and the collection's .ansible-lint (every skip there
# says why). For `make sanity` / `make test`:
#   bash tests/sanity/lint.sh
# ansible-lint resolves certfleet.acme.* through the collections path (collection-link.sh).
set -euo pipefail
# shellcheck source=tests/sanity/collection-link.sh
. "$(dirname "$0")/collection-link.sh"
cd "$root"
echo "== ansible-lint --profile production"
exec ansible-lint --profile production --offline --nocolor "$@"
