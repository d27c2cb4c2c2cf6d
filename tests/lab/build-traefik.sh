#!/usr/bin/env bash
# Build Traefik v3 for the certfleet lab from its Go module, once, and cache the binary outside
# the repository. Debian has no Traefik package.
#
#   build-traefik.sh            print the path of the cached binary, building it first if needed
#   build-traefik.sh --check    print the path if it is cached, exit 1 (without building) if not
#   build-traefik.sh --background   start the build in the background and return at once (make test
#                               does this first, so the build overlaps sanity and unit tests; a later
#                               foreground call waits for it on the build lock)
#
# Environment: TRAEFIK_VERSION (default below), CERTFLEET_LAB_CACHE (default
# /var/cache/certfleet-lab; the binary goes to $CERTFLEET_LAB_CACHE/traefik-<version>/traefik),
# GO (default: go on PATH, else /usr/local/go/bin/go).
#
# Why not `go install github.com/traefik/traefik/v3/cmd/traefik@version`: Go refuses to install
# a module whose go.mod has replace directives, and Traefik's has. So the module source is
# downloaded (go mod download -json), copied to a writable directory and built there with
# `go build ./cmd/traefik`. Two pieces are missing from the module zip and are stood in for:
#   - (v3.7 and later) pkg/config/dynamic/ext is a nested module (its own go.mod, so not in the zip) that the main
#     go.mod replaces by the local directory; upstream it holds two empty extension structs
#     (ext.HTTP, ext.Router), which we write again.
#   - the web UI assets (webui/static, built with Node upstream) are absent; the dashboard is not
#     used by the lab, so an index.html placeholder is embedded instead.
# Needs the Go toolchain the module asks for (go.mod `go` line) and the Go module proxy.
set -euo pipefail

# v3.6.12: builds here in about 16 minutes on 2 cores (most of it compiling; modules come from
# the Go module proxy). v3.7.x could not be built on the reference machine: the proxy answered
# "403 Forbidden: This module version is not available" for two of its dependencies
# (github.com/go-acme/lego/v5@v5.4.1, github.com/containous/go-http-auth@v0.4.1-0.20260804094822-b975dcaa8c48).
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
MODULE=github.com/traefik/traefik/v3
# shellcheck source=tests/lab/build-common.sh
. "$(dirname "${BASH_SOURCE[0]}")/build-common.sh"
lab_build_setup traefik "${TRAEFIK_VERSION}" Traefik version

build_into() {
  local work=$1 src ext
  src=$("${GO}" mod download -json "${MODULE}@${TRAEFIK_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -n ${src} && -d ${src} ]] || die "go mod download ${MODULE}@${TRAEFIK_VERSION} gave no source directory"
  cp -r "${src}" "${work}/src"
  chmod -R u+w "${work}/src"
  cd "${work}/src"

  ext=pkg/config/dynamic/ext
  if [[ ! -f ${ext}/go.mod ]]; then
    mkdir -p "${ext}"
    printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"${ext}/go.mod"
    cat >"${ext}/ext.go" <<'EOF'
// Package ext: stand-in for Traefik's nested dynamic-config extension module (not in the module zip).
package ext

// HTTP is a dynamic.HTTP extension.
type HTTP struct{}

// Router is a dynamic.Router extension.
type Router struct{}
EOF
  fi
  if [[ -d webui && ! -e webui/static/index.html ]]; then
    mkdir -p webui/static
    printf '<!doctype html><title>Traefik</title><p>Web UI not built (certfleet lab build).</p>\n' \
      >webui/static/index.html
  fi

  CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=mod" "${GO}" build -trimpath -ldflags "-s -w \
    -X ${MODULE}/pkg/version.Version=${TRAEFIK_VERSION#v} \
    -X ${MODULE}/pkg/version.Codename=certfleet-lab \
    -X ${MODULE}/pkg/version.BuildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -o "${work}/traefik" ./cmd/traefik
}

lab_build_main "$@"
