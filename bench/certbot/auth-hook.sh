#!/usr/bin/env bash
# certbot --manual-auth-hook: the http-01 key authorization on every web node over ssh (the load
# balancer sends the CA's validation requests to any node, so every node must serve the token).
# shellcheck disable=SC2029  # the paths are meant to expand here, on the client side
set -euo pipefail
# shellcheck source=bench/certbot/hook-lib.sh
. "$(dirname "$0")/hook-lib.sh"
for node in $BENCH_NODES; do
  address=${node%%=*} prefix=${node#*=}
  printf '%s' "$CERTBOT_VALIDATION" | ssh "${bench_ssh_opts[@]}" "$address" \
    "mkdir -p '$prefix/www/.well-known/acme-challenge' && cat > '$prefix/www/.well-known/acme-challenge/$CERTBOT_TOKEN'"
done
