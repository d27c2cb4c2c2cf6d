#!/usr/bin/env bash
# Build Pebble (the ACME test CA) for the certfleet lab from its Go module, once, and cache the
# binary outside the repository. Debian's package is 2.4.0, which has no renewalInfo (ARI) and no
# profiles; the lab's main CAs run this build, Debian's stays as the "older CA" case.
#
#   build-pebble.sh             print the path of the cached binary, building it first if needed
#   build-pebble.sh --check     print the path if it is cached, exit 1 (without building) if not
#   build-pebble.sh --background    start the build in the background and return at once (make test
#                               does this first; a later foreground call waits on the build lock)
#
# Environment: PEBBLE_VERSION (default below), CERTFLEET_LAB_CACHE (default
# /var/cache/certfleet-lab; the binary goes to $CERTFLEET_LAB_CACHE/pebble-<version>/pebble),
# GO (default: go on PATH, else /usr/local/go/bin/go).
#
# Pebble's module has no replace directives, so `go install module/cmd/pebble@version` works
# (about 4 minutes on 2 cores; modules come from the Go module proxy).
set -euo pipefail

PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.3}"
MODULE=github.com/letsencrypt/pebble/v2
# shellcheck source=tests/lab/build-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/build-common.sh"
lab_build_setup pebble "${PEBBLE_VERSION}" Pebble -version

build_into() {
  CGO_ENABLED=0 GOBIN="$1" GOFLAGS="${GOFLAGS:-} -mod=mod" \
    "${GO}" install -trimpath -ldflags "-s -w" "${MODULE}/cmd/pebble@${PEBBLE_VERSION}"
}

lab_build_main "$@"
