# shellcheck shell=bash disable=SC2034  # bench_ssh_opts is used by the hooks that source this
# Shared by the certbot hooks of the benchmark (sourced, not run). The driver exports:
#   BENCH_NODES        "ADDRESS=NODE_PREFIX ..." for every web node
#   BENCH_SSH_KEY      the lab's ssh client key
#   BENCH_CP_DIR       directory for ssh ControlMaster sockets (one master per node per run)
#   BENCH_NODE_SUBDIR  per-case directory below each node prefix (bench/cb)
# ssh multiplexes over one master connection per node, as Ansible's ControlPersist does.
bench_ssh_opts=(
  -i "$BENCH_SSH_KEY" -l root
  -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o ControlMaster=auto -o ControlPersist=60s -o "ControlPath=$BENCH_CP_DIR/%C"
)
