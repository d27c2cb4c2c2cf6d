#!/usr/bin/env bash
# certbot --manual-cleanup-hook: the token file is removed from every web node.
# shellcheck disable=SC2029  # the paths are meant to expand here, on the client side
set -euo pipefail
# shellcheck source=bench/certbot/hook-lib.sh
. "$(dirname "$0")/hook-lib.sh"
for node in $BENCH_NODES; do
  address=${node%%=*} prefix=${node#*=}
  ssh "${bench_ssh_opts[@]}" "$address" "rm -f '$prefix/www/.well-known/acme-challenge/$CERTBOT_TOKEN'"
done
