#!/usr/bin/env bash
# ssh for the fault suite (ansible_ssh_executable): a host that goes down during a run.
#   FAULTS_SSH_STATE      directory of the wrapper's state
#   FAULTS_SSH_FAIL_AT    the store host: from the Nth run of the order module on, every
#                         connection is refused (the host went down)
#   FAULTS_SSH_DOWN_HOST  a node: once $FAULTS_SSH_STATE/down exists (the suite creates it when
#                         the install starts), connections to this address are refused
set -u
state="${FAULTS_SSH_STATE:?}"
refuse() {
  echo "ssh: connect to host $1 port 22: Connection refused (fault suite: host down)" >&2
  exit 255
}
if [ -n "${FAULTS_SSH_DOWN_HOST:-}" ] && [ -e "$state/down" ]; then
  case " $* " in *" ${FAULTS_SSH_DOWN_HOST} "*) refuse "${FAULTS_SSH_DOWN_HOST}" ;; esac
fi
if [ -n "${FAULTS_SSH_FAIL_AT:-}" ]; then
  [ -e "$state/down" ] && refuse store1
  case "$*" in
    *chmod*) ;;
    *AnsiballZ_order.py*)
      n=$(($(cat "$state/count" 2>/dev/null || echo 0) + 1))
      echo "$n" >"$state/count"
      if [ "$n" -ge "${FAULTS_SSH_FAIL_AT}" ]; then
        touch "$state/down"
        refuse store1
      fi
      ;;
  esac
fi
exec ssh "$@"
