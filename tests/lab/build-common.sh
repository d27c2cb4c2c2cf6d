# shellcheck shell=bash
# Shared by build-pebble.sh and build-traefik.sh (sourced): the cache, --check, --background,
# the build lock and the move into place. The caller calls `lab_build_setup NAME VERSION LABEL
# VERSION_FLAG` (e.g. `traefik v3.6.12 Traefik version`: the binary is
# $CERTFLEET_LAB_CACHE/NAME-VERSION/NAME and runs with VERSION_FLAG when it works), defines
# `build_into WORK` (leave the new binary at WORK/NAME), then calls `lab_build_main "$@"`.

lab_build_setup() {
  TOOL="build-$1.sh"
  LABEL="$3 $2"
  CACHE_DIR="${CERTFLEET_LAB_CACHE:-/var/cache/certfleet-lab}/$1-$2"
  BIN="${CACHE_DIR}/$1"
  VERSION_FLAG=$4
}

# Is the binary there, and does it run?
cached() { [[ -x ${BIN} ]] && "${BIN}" "${VERSION_FLAG}" >/dev/null 2>&1; }

say() { printf '%s: %s\n' "${TOOL}" "$*" >&2; }
die() {
  printf '%s: ERROR: %s\n' "${TOOL}" "$*" >&2
  exit 1
}

lab_build_main() {
  local work started name
  if cached; then
    echo "${BIN}"
    exit 0
  fi
  [[ ${1:-} == --check ]] && exit 1
  if [[ ${1:-} == --background ]]; then
    mkdir -p "${CACHE_DIR}"
    nohup "$0" >"${CACHE_DIR}/build.log" 2>&1 </dev/null &
    say "building ${LABEL} in the background (log: ${CACHE_DIR}/build.log)"
    exit 0
  fi

  GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
  [[ -x ${GO} ]] || die "no Go toolchain (looked for go on PATH and /usr/local/go/bin/go)"

  mkdir -p "${CACHE_DIR}"
  # One build at a time (two `lab.sh up` at once would otherwise both build).
  exec 9>"${CACHE_DIR}/.build.lock"
  flock 9
  if cached; then
    echo "${BIN}"
    exit 0
  fi

  work=$(mktemp -d "${CACHE_DIR}/.build.XXXXXX")
  # shellcheck disable=SC2064 # expand now: work is local
  trap "chmod -R u+w '${work}' 2>/dev/null; rm -rf '${work}'" EXIT
  say "building ${LABEL} with $("${GO}" version) (one time; cached in ${CACHE_DIR})"
  started=${SECONDS}
  name=$(basename "${BIN}")
  (build_into "${work}")
  [[ -x ${work}/${name} ]] || die "the build left no ${name} binary"
  mv -f "${work}/${name}" "${BIN}"
  cached || die "the built binary does not run"
  say "built ${BIN} in $((SECONDS - started))s"
  echo "${BIN}"
}
