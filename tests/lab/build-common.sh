# shellcheck shell=bash
# Shared by build-pebble.sh and build-traefik.sh (sourced): the cache, --check, --background,
# the build lock and the move into place. The caller sets TOOL (script name for messages),
# LABEL ("Traefik v3.6.12"), CACHE_DIR and BIN, defines `cached` (does BIN exist and run?) and
# `build_into WORK` (leave the new binary at WORK/$(basename BIN)), then calls
# `lab_build_main "$@"`.

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
