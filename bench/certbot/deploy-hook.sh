#!/usr/bin/env bash
# certbot --deploy-hook (runs after each successful issuance or renewal, not when nothing is
# due): key and full chain to every web node over ssh, one connection per node.
# shellcheck disable=SC2029  # the paths are meant to expand here, on the client side
set -euo pipefail
# shellcheck source=bench/certbot/hook-lib.sh
. "$(dirname "$0")/hook-lib.sh"
name=$(basename "$RENEWED_LINEAGE")
for node in $BENCH_NODES; do
  address=${node%%=*} prefix=${node#*=}
  dest="$prefix/$BENCH_NODE_SUBDIR/$name"
  tar -C "$RENEWED_LINEAGE" -chf - privkey.pem fullchain.pem \
    | ssh "${bench_ssh_opts[@]}" "$address" "mkdir -p '$dest' && tar -C '$dest' -xf -"
done
