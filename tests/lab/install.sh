#!/usr/bin/env bash
# Install the Debian packages the certfleet test lab needs (see tests/lab/README.md).
#
# Idempotent and fast on re-run: when every package is already installed, apt is not
# touched at all. Otherwise `apt-get update` runs once, then one
# `apt-get install -y --no-install-recommends` for the missing packages.
#
# Package maintainer scripts are prevented from starting system services (nginx on
# 0.0.0.0:80, named, haproxy, sshd on :22 would collide with the lab's own processes):
# a temporary /usr/sbin/policy-rc.d answering 101 is put in place if none exists.
set -euo pipefail

PACKAGES=(
  pebble          # ACME test CA (2.4.0 on Debian 12)
  bind9           # authoritative DNS for example.test (named, tsig-keygen)
  bind9-dnsutils  # dig, nsupdate
  pdns-server     # PowerDNS authoritative with HTTP API (pdns.test, acme-validation.test)
  pdns-backend-sqlite3
  sqlite3         # creates the PowerDNS database from its schema
  nginx-light     # the three web nodes
  apache2         # the Apache httpd node (apache1; mod_ssl, mod_http2)
  haproxy         # load balancer in front of the nodes
  openssh-server  # sshd for Ansible's ssh connection to the nodes
  openssh-client  # ssh, ssh-keygen, ssh-keyscan
  curl
  ca-certificates
  openssl
  iproute2        # ip: named only listens on addresses present on an interface
  rsync           # tests/sanity/run.sh copies the tree (not in the machine image)
  shellcheck      # ansible-test sanity's shellcheck test (skipped silently without it)
)

if [[ ${EUID} -ne 0 ]]; then
  echo "install.sh: must run as root (apt-get install)" >&2
  exit 1
fi

# Collect the packages that are not in state "install ok installed".
missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)
  if [[ ${status} != "install ok installed" ]]; then
    missing+=("${pkg}")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install.sh: all ${#PACKAGES[@]} lab packages already installed"
  exit 0
fi

echo "install.sh: installing: ${missing[*]}"

# Keep maintainer scripts from starting services while we install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e ${policy} ]]; then
  printf '#!/bin/sh\nexit 101\n' >"${policy}"
  chmod 0755 "${policy}"
  created_policy=1
fi
cleanup() {
  if [[ ${created_policy} -eq 1 ]]; then
    rm -f "${policy}"
  fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"

# Double-check: fail loudly if apt claimed success but a package is still missing.
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null || true)
  if [[ ${status} != "install ok installed" ]]; then
    echo "install.sh: package ${pkg} is still not installed" >&2
    exit 1
  fi
done
echo "install.sh: done"
