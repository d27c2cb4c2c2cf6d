#!/usr/bin/env bash
# ssh for the store host of the role_store_unreachable test (ansible_ssh_executable). It counts
# the runs of the order module on the store host; from run CERTFLEET_TEST_FAIL_AT on, the store
# host is unreachable (every later connection is refused, as a host that went down).
set -u
state="${CERTFLEET_TEST_SSH_STATE:?}"
refuse() {
  echo "ssh: connect to host store1 port 22: Connection refused (certfleet test: store host down)" >&2
  exit 255
}
[ -e "$state/down" ] && refuse
case "$*" in
  *chmod*) ;;
  *AnsiballZ_order.py*)
    n=$(( $(cat "$state/count" 2>/dev/null || echo 0) + 1 ))
    echo "$n" >"$state/count"
    if [ -n "${CERTFLEET_TEST_FAIL_AT:-}" ] && [ "$n" -ge "${CERTFLEET_TEST_FAIL_AT}" ]; then
      touch "$state/down"
      refuse
    fi
    ;;
esac
exec ssh "$@"
