#!/usr/bin/env bash
# certfleet test lab: Pebble x4, BIND9, PowerDNS, LAB_NODES nginx web nodes (3 by default), an
# Apache httpd node, HAProxy, Traefik, sshd.
#
#   lab.sh up                 generate missing material, (re)write configs, start what is not
#                             running, wait (bounded) until every service answers
#   lab.sh down               stop everything this lab started (pid files); never fails when idle
#   lab.sh status             one line per service: pid and whether it answers (exit 3 if not all)
#   lab.sh restart            down + up
#   lab.sh reset-node-certs   put the placeholder certificate back on every node, empty the
#                             nodes' .well-known/acme-challenge/ and reload nginx / Apache
#   lab.sh lb-cmd 'CMD'       send one command to HAProxy's admin socket, print the answer
#                             (e.g. 'show stat', 'set server web_http/web2 state maint')
#
# State lives in LAB_DIR (default /var/tmp/certfleet-lab). Generated material (lab CA, keys,
# TSIG secret, EAB key, ssh keys) is generated only when missing. Config files are rewritten
# on every `up`; a running service whose config changed is restarted (nginx, Apache, HAProxy,
# named, sshd: reloaded), a running service that answers and whose config did not change is left alone, so `up` twice
# is safe. All addresses are loopback. See README.md beside this script.
set -euo pipefail

LAB_DIR="${LAB_DIR:-/var/tmp/certfleet-lab}"
case ${LAB_DIR} in
  /*) ;;
  *) LAB_DIR="$(pwd)/${LAB_DIR}" ;;
esac
LAB_DIR="${LAB_DIR%/}"
DEFAULT_LAB_DIR=/var/tmp/certfleet-lab
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WAIT_SECONDS="${LAB_WAIT_SECONDS:-30}"

# ---------------------------------------------------------------------------------------------
# Topology (keep in sync with README.md, inventory.yml and lab-vars.yml)
# ---------------------------------------------------------------------------------------------
DNS_IP=127.0.0.5
LB_IP=127.0.0.10
ZONE=example.test
TSIG_NAME=certfleet-lab
TSIG_ALG=hmac-sha256
# Key only lab.sh uses, to put lab records into the running (dynamic) example.test zone.
TSIG_ADMIN_NAME=certfleet-lab-admin
# PowerDNS (authoritative, sqlite3 backend, HTTP API) serving a second zone and a validation
# zone that example.test delegates _acme-challenge names to by CNAME. BIND forwards both.
PDNS_IP=127.0.0.6
PDNS_API_PORT=8081
PDNS_ZONE=pdns.test
VALIDATION_ZONE=acme-validation.test
DELEGATED_NAME=delegated # _acme-challenge.delegated.example.test CNAME delegated.acme-validation.test.
EAB_KID=lab-kid
# Web nodes: LAB_NODES=K (1..99, default 3) nginx nodes web1..webK. webN listens on 127.0.0.1N
# (the digits of N after "127.0.0.1"): web1-web9 on 127.0.0.11-.19, web10-web99 on
# 127.0.0.110-.199, so no node ever takes Traefik's 127.0.0.20 or another lab address. `up`
# records K in $LAB_DIR/lab-nodes; later commands without LAB_NODES use that number.
LAB_NODES_FILE="${LAB_DIR}/lab-nodes"
if [[ -z ${LAB_NODES:-} && -s ${LAB_NODES_FILE} ]]; then LAB_NODES=$(<"${LAB_NODES_FILE}"); fi
LAB_NODES="${LAB_NODES:-3}"
[[ ${LAB_NODES} =~ ^[1-9][0-9]?$ ]] || {
  printf 'lab.sh: ERROR: LAB_NODES must be a number from 1 to 99, not %s\n' "${LAB_NODES}" >&2
  exit 2
}
NODES=()
for ((_n = 1; _n <= LAB_NODES; _n++)); do NODES+=("web${_n}"); done
PEBBLES=(pebble pebble-short pebble-eab pebble-old)
# pebble and pebble-short run the current Pebble (built once from its Go module by
# build-pebble.sh, cached outside the repository: renewalInfo, profiles); pebble-eab and
# pebble-old run Debian's 2.4.0 (pebble-old: the case of an older CA without ARI or profiles).
PEBBLES_BUILT=(pebble pebble-short)
# Alternate roots (PEBBLE_ALTERNATE_ROOTS) on the main CA: each order offers 1 + this many
# chains; save_pebble_roots saves every root and intermediate.
PEBBLE_MAIN_ALTERNATE_ROOTS=1
# Apache httpd node apache1 (Debian's apache2, mpm_event, mod_ssl, mod_http2) on 127.0.0.30, an
# address no nginx node takes; HAProxy sends http-01 requests for APACHE_ZONE and the names under
# it there, every other name round robin to the nginx nodes. LAB_APACHE=0 leaves it out.
APACHE_NODE=apache1
APACHE_IP=127.0.0.30
APACHE_ZONE=apache.example.test
APACHE_BIN=/usr/sbin/apache2
APACHE_MODULES=/usr/lib/apache2/modules
if [[ ${LAB_APACHE:-1} == 0 ]]; then APACHE_NODE=""; fi
# Start order; `down` stops in reverse order.
SERVICES=(named pdns pebble pebble-short pebble-eab pebble-old "${NODES[@]}" ${APACHE_NODE:+"${APACHE_NODE}"} haproxy traefik sshd)
# Traefik (built once from its Go module by build-traefik.sh, cached outside the repository) on
# its own address; LAB_TRAEFIK=0 leaves it out (no Go toolchain or module proxy).
TRAEFIK_IP=127.0.0.20
if [[ ${LAB_TRAEFIK:-1} == 0 ]]; then
  _services=()
  for _svc in "${SERVICES[@]}"; do [[ ${_svc} == traefik ]] || _services+=("${_svc}"); done
  SERVICES=("${_services[@]}")
fi
# Port of each node's plain-text HTTP/2 (h2c, prior knowledge) listener: HAProxy and Traefik
# terminate TLS and speak h2c to the nodes, the way gRPC back-ends are reached.
H2C_PORT=8080

CA_DIR="${LAB_DIR}/ca"
PEBBLE_DIR="${LAB_DIR}/pebble"
BIND_DIR="${LAB_DIR}/bind"
PDNS_DIR="${LAB_DIR}/pdns"
HAPROXY_DIR="${LAB_DIR}/haproxy"
TRAEFIK_DIR="${LAB_DIR}/traefik"
SSH_DIR="${LAB_DIR}/ssh"
PLACEHOLDER_DIR="${LAB_DIR}/placeholder"
NODES_DIR="${LAB_DIR}/nodes"

# Services whose configuration (or served files) changed during this run: restart/reload them.
declare -A CHANGED=()
# Pids stopped by this run (`down` waits briefly until they are reaped, so `ps` is clean).
STOPPED_PIDS=()

# web1 -> 127.0.0.11, web12 -> 127.0.0.112; the Apache node -> APACHE_IP.
node_ip() { if [[ $1 == "${APACHE_NODE:-"-"}" ]]; then echo "${APACHE_IP}"; else echo "127.0.0.1${1#web}"; fi; }
node_prefix() { echo "${NODES_DIR}/$1"; }
# Every web node: the nginx ones and, unless LAB_APACHE=0, the Apache one.
all_nodes() { printf '%s\n' "${NODES[@]}" ${APACHE_NODE:+"${APACHE_NODE}"}; }
# The addresses sshd listens on (one per node).
ssh_ips() {
  local node
  for node in $(all_nodes); do node_ip "${node}"; done
}
# apache2 with this node's own configuration (ServerRoot = the node's prefix).
apache_lab() { "${APACHE_BIN}" -d "$(node_prefix "${APACHE_NODE}")" -f conf/httpd.conf "$@"; }

pebble_port() {
  case $1 in
    pebble) echo 14000 ;;
    pebble-short) echo 14002 ;;
    pebble-eab) echo 14004 ;;
    pebble-old) echo 14006 ;;
  esac
}
pebble_mgmt_port() { echo $(($(pebble_port "$1") + 1000)); }
pebble_built() { [[ " ${PEBBLES_BUILT[*]} " == *" $1 "* ]]; }
pebble_alternate_roots() { if [[ $1 == pebble ]]; then echo "${PEBBLE_MAIN_ALTERNATE_ROOTS}"; else echo 0; fi; }

say() { printf 'lab.sh: %s\n' "$*"; }
die() {
  printf 'lab.sh: ERROR: %s\n' "$*" >&2
  exit 1
}

# Our curl: never use a proxy, short timeouts (everything is local).
lcurl() { curl --noproxy '*' --connect-timeout 2 --max-time 3 "$@"; }

# ---------------------------------------------------------------------------------------------
# Per-service facts: pid file, log file, expected process name (/proc/PID/comm)
# ---------------------------------------------------------------------------------------------
svc_pidfile() {
  case $1 in
    pebble*) echo "${PEBBLE_DIR}/$1.pid" ;;
    named) echo "${BIND_DIR}/named.pid" ;;
    pdns) echo "${PDNS_DIR}/pdns_server.lab.pid" ;;
    # The pid start_bg records (Apache's own PidFile, run/httpd.pid, holds the same number).
    "${APACHE_NODE:-"-"}") echo "$(node_prefix "$1")/run/lab.pid" ;;
    web*) echo "$(node_prefix "$1")/run/nginx.pid" ;;
    haproxy) echo "${HAPROXY_DIR}/haproxy.pid" ;;
    traefik) echo "${TRAEFIK_DIR}/traefik.pid" ;;
    sshd) echo "${SSH_DIR}/sshd.pid" ;;
  esac
}
svc_log() {
  case $1 in
    pebble*) echo "${PEBBLE_DIR}/$1.log" ;;
    named) echo "${BIND_DIR}/named.log" ;;
    pdns) echo "${PDNS_DIR}/pdns.log" ;;
    web* | "${APACHE_NODE:-"-"}") echo "$(node_prefix "$1")/logs/error.log" ;;
    haproxy) echo "${HAPROXY_DIR}/haproxy.log" ;;
    traefik) echo "${TRAEFIK_DIR}/traefik.log" ;;
    sshd) echo "${SSH_DIR}/sshd.log" ;;
  esac
}
svc_comm() {
  case $1 in
    pebble*) echo pebble ;;
    "${APACHE_NODE:-"-"}") echo apache2 ;;
    web*) echo nginx ;;
    pdns) echo pdns_server ;;
    *) echo "$1" ;;
  esac
}
svc_where() {
  case $1 in
    pebble*) echo "https://127.0.0.1:$(pebble_port "$1")/dir (mgmt :$(pebble_mgmt_port "$1"))" ;;
    named) echo "${DNS_IP}:53 udp+tcp, zone ${ZONE} (forwards ${PDNS_ZONE}, ${VALIDATION_ZONE})" ;;
    pdns) echo "${PDNS_IP}:53 udp+tcp, zones ${PDNS_ZONE} ${VALIDATION_ZONE}; API http://${PDNS_IP}:${PDNS_API_PORT}" ;;
    "${APACHE_NODE:-"-"}") echo "$(node_ip "$1"):80, :443 (Apache httpd, VirtualHosts in conf.d/)" ;;
    web*) echo "$(node_ip "$1"):80, :443" ;;
    haproxy) echo "${LB_IP}:80 (http), :443 (TLS, certs/, h2 -> nodes' h2c :${H2C_PORT})" ;;
    traefik) echo "${TRAEFIK_IP}:80 (-> https), :443 (TLS, dynamic/, h2 -> nodes' h2c :${H2C_PORT})" ;;
    sshd) echo "$(node_ip web1)-$(node_ip "${NODES[-1]}")${APACHE_NODE:+", ${APACHE_IP}"}:22 ($(ssh_ips | wc -l) node addresses)" ;;
  esac
}

# Print the pid of a service if its pid file names a live (non-zombie) process of the expected
# program; return 1 otherwise. Guards against stale pid files and recycled pids.
svc_pid() {
  local pidfile comm pid state
  pidfile=$(svc_pidfile "$1")
  comm=$(svc_comm "$1")
  [[ -s ${pidfile} ]] || return 1
  pid=$(<"${pidfile}")
  pid=${pid//[^0-9]/}
  [[ -n ${pid} && -r /proc/${pid}/comm ]] || return 1
  [[ $(<"/proc/${pid}/comm") == "${comm}" ]] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/${pid}/status" 2>/dev/null || true)
  [[ -n ${state} && ${state} != Z ]] || return 1
  echo "${pid}"
}

# Does the service answer? Quiet; returns 0/1.
check_service() {
  local svc=$1 ip out
  case ${svc} in
    pebble*)
      lcurl -fsS --cacert "${CA_DIR}/lab-ca.pem" "https://127.0.0.1:$(pebble_port "${svc}")/dir" 2>/dev/null |
        grep -q '"newAccount"'
      ;;
    named)
      out=$(dig @"${DNS_IP}" "${ZONE}" SOA +short +time=1 +tries=1 2>/dev/null || true)
      [[ ${out} == "ns1.${ZONE}."* ]]
      ;;
    pdns)
      out=$(dig @"${PDNS_IP}" "${PDNS_ZONE}" SOA +short +time=1 +tries=1 2>/dev/null || true)
      [[ ${out} == "ns1.${PDNS_ZONE}."* ]] &&
        lcurl -fsS -H "X-API-Key: $(pdns_api_key)" \
          "http://${PDNS_IP}:${PDNS_API_PORT}/api/v1/servers/localhost/zones" 2>/dev/null |
        grep -q "\"${VALIDATION_ZONE}.\""
      ;;
    "${APACHE_NODE:-"-"}" | web*)
      ip=$(node_ip "${svc}")
      [[ $(lcurl -s -o /dev/null -w '%{http_code}' "http://${ip}/" 2>/dev/null || true) == 301 ]] &&
        [[ $(lcurl -sk --resolve "${ZONE}:443:${ip}" "https://${ZONE}/" 2>/dev/null || true) == "${svc}" ]]
      ;;
    haproxy)
      [[ -S ${HAPROXY_DIR}/admin.sock ]] &&
        [[ $(lcurl -s -o /dev/null -w '%{http_code}' "http://${LB_IP}/" 2>/dev/null || true) == 301 ]] &&
        [[ $(lcurl -sk --resolve "${ZONE}:443:${LB_IP}" "https://${ZONE}/" 2>/dev/null || true) == web[0-9]* ]]
      ;;
    traefik)
      [[ $(lcurl -sk --resolve "${ZONE}:443:${TRAEFIK_IP}" "https://${ZONE}/" 2>/dev/null || true) == web[0-9]* ]]
      ;;
    sshd)
      # A real key-based root login on each node address (what Ansible needs).
      for ip in $(ssh_ips); do
        timeout 5 ssh -F /dev/null -i "${SSH_DIR}/id_ed25519" -o BatchMode=yes -o ConnectTimeout=2 \
          -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
          "root@${ip}" true </dev/null >/dev/null 2>&1 || return 1
      done
      ;;
    *) return 1 ;;
  esac
}

# Print why a service failed, the tail of its log, and exit non-zero.
fail_service() {
  local svc=$1 reason=$2 log
  log=$(svc_log "${svc}")
  printf 'lab.sh: ERROR: service %s failed: %s\n' "${svc}" "${reason}" >&2
  if [[ -f ${log} ]]; then
    printf -- '----- last 30 lines of %s -----\n' "${log}" >&2
    tail -n 30 "${log}" >&2 || true
    printf -- '-----\n' >&2
  else
    printf 'lab.sh: (no log file %s)\n' "${log}" >&2
  fi
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

# Write stdin to PATH with MODE only if the content differs. Returns 0 if the file changed
# (use in `if`), 1 if it was already identical.
install_content() {
  local path=$1 mode=${2:-0644} tmp
  tmp=$(mktemp "${path}.tmp.XXXXXX")
  cat >"${tmp}"
  chmod "${mode}" "${tmp}"
  if [[ -f ${path} ]] && cmp -s "${tmp}" "${path}"; then
    rm -f "${tmp}"
    return 1
  fi
  mv -f "${tmp}" "${path}"
  return 0
}

# Run a long-lived foreground program in the background, detached (own session), output
# appended to LOG, and record its pid. `setsid` execs the program, so $! is its pid.
start_bg() {
  local pidfile=$1 log=$2
  shift 2
  setsid "$@" </dev/null >>"${log}" 2>&1 &
  echo $! >"${pidfile}"
}

# Stop one service: TERM (and, for sshd, TERM its per-connection children), wait up to 10 s,
# then KILL. Removes the pid file. Quiet if the service is not running.
stop_service() {
  local svc=$1 pid pidfile children i
  pidfile=$(svc_pidfile "${svc}")
  if ! pid=$(svc_pid "${svc}"); then
    rm -f "${pidfile}"
    return 1
  fi
  children=""
  if [[ ${svc} == sshd ]]; then
    # Per-connection sshd processes (e.g. Ansible ControlPersist sessions) outlive the listener.
    children=$(ps -o pid= --ppid "${pid}" 2>/dev/null || true)
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  for child in ${children}; do kill -TERM "${child}" 2>/dev/null || true; done
  for ((i = 0; i < 100; i++)); do
    svc_pid "${svc}" >/dev/null || break
    sleep 0.1
  done
  if svc_pid "${svc}" >/dev/null; then
    say "${svc} (pid ${pid}) did not stop on TERM, sending KILL"
    kill -KILL "${pid}" 2>/dev/null || true
    for child in ${children}; do kill -KILL "${child}" 2>/dev/null || true; done
    sleep 0.2
  fi
  rm -f "${pidfile}"
  STOPPED_PIDS+=("${pid}")
  return 0
}

require_tools() {
  local tool missing=()
  for tool in ip pebble named named-checkconf tsig-keygen dig nsupdate pdns_server pdnsutil sqlite3 \
    nginx haproxy sshd ssh ssh-keygen curl openssl setsid; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
  done
  if [[ -n ${APACHE_NODE} && ! -x ${APACHE_BIN} ]]; then missing+=("${APACHE_BIN}"); fi
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing programs: ${missing[*]} (run: bash ${SCRIPT_DIR}/install.sh)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Generated material (only when missing)
# ---------------------------------------------------------------------------------------------

new_ec_key() { # PATH: EC P-256 private key, mode 0600
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# Lab CA + certificate for Pebble's own HTTPS listeners (localhost, 127.0.0.1).
gen_ca() {
  local ext
  mkdir -p "${CA_DIR}"
  if [[ ! -s ${CA_DIR}/lab-ca.key || ! -s ${CA_DIR}/lab-ca.pem ]]; then
    say "generating lab CA in ${CA_DIR}"
    new_ec_key "${CA_DIR}/lab-ca.key"
    ext=$(mktemp)
    cat >"${ext}" <<'EOF'
[v3]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
    openssl req -new -key "${CA_DIR}/lab-ca.key" -subj "/O=certfleet lab/CN=certfleet lab CA" \
      -out "${CA_DIR}/lab-ca.csr"
    openssl x509 -req -in "${CA_DIR}/lab-ca.csr" -signkey "${CA_DIR}/lab-ca.key" -sha256 \
      -days 3650 -set_serial "0x$(openssl rand -hex 16)" -extfile "${ext}" -extensions v3 \
      -out "${CA_DIR}/lab-ca.pem" 2>/dev/null
    rm -f "${ext}" "${CA_DIR}/lab-ca.csr" "${CA_DIR}/pebble-server.pem"
  fi
  if [[ ! -s ${CA_DIR}/pebble-server.key || ! -s ${CA_DIR}/pebble-server.pem ]]; then
    say "generating Pebble listener certificate (localhost, 127.0.0.1)"
    new_ec_key "${CA_DIR}/pebble-server.key"
    ext=$(mktemp)
    cat >"${ext}" <<'EOF'
[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    openssl req -new -key "${CA_DIR}/pebble-server.key" -subj "/O=certfleet lab/CN=localhost" \
      -out "${CA_DIR}/pebble-server.csr"
    openssl x509 -req -in "${CA_DIR}/pebble-server.csr" -CA "${CA_DIR}/lab-ca.pem" \
      -CAkey "${CA_DIR}/lab-ca.key" -sha256 -days 3650 -set_serial "0x$(openssl rand -hex 16)" \
      -extfile "${ext}" -extensions v3 -out "${CA_DIR}/pebble-server.pem" 2>/dev/null
    rm -f "${ext}" "${CA_DIR}/pebble-server.csr"
    for p in "${PEBBLES[@]}"; do CHANGED[${p}]=1; done
  fi
}

# Self-signed placeholder for the nodes' example.test files, so nginx starts before any ACME run.
gen_placeholder() {
  local ext
  mkdir -p "${PLACEHOLDER_DIR}"
  if [[ -s ${PLACEHOLDER_DIR}/privkey.pem && -s ${PLACEHOLDER_DIR}/fullchain.pem ]]; then
    return 0
  fi
  say "generating self-signed placeholder certificate for ${ZONE}"
  new_ec_key "${PLACEHOLDER_DIR}/privkey.pem"
  ext=$(mktemp)
  cat >"${ext}" <<EOF
[v3]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:${ZONE}, DNS:www.${ZONE}
subjectKeyIdentifier = hash
EOF
  openssl req -new -key "${PLACEHOLDER_DIR}/privkey.pem" -subj "/CN=${ZONE}" \
    -out "${PLACEHOLDER_DIR}/placeholder.csr"
  openssl x509 -req -in "${PLACEHOLDER_DIR}/placeholder.csr" -signkey "${PLACEHOLDER_DIR}/privkey.pem" \
    -sha256 -days 3650 -set_serial "0x$(openssl rand -hex 16)" -extfile "${ext}" -extensions v3 \
    -out "${PLACEHOLDER_DIR}/fullchain.pem" 2>/dev/null
  rm -f "${ext}" "${PLACEHOLDER_DIR}/placeholder.csr"
}

# Copy the placeholder into a node's tls/example.test/ (replacing whatever is there).
install_placeholder() {
  local dir
  dir="$(node_prefix "$1")/tls/${ZONE}"
  rm -rf "${dir}"
  mkdir -p "${dir}"
  chmod 0755 "${dir}"
  install -m 0644 "${PLACEHOLDER_DIR}/fullchain.pem" "${dir}/fullchain.pem"
  install -m 0600 "${PLACEHOLDER_DIR}/privkey.pem" "${dir}/privkey.pem"
}

gen_secrets() {
  mkdir -p "${BIND_DIR}" "${PEBBLE_DIR}"
  if [[ ! -s ${BIND_DIR}/tsig.key ]]; then
    say "generating TSIG key ${TSIG_NAME} (${TSIG_ALG})"
    (umask 077 && tsig-keygen -a "${TSIG_ALG}" "${TSIG_NAME}" >"${BIND_DIR}/tsig.key")
  fi
  if [[ ! -s ${BIND_DIR}/admin.key ]]; then
    say "generating TSIG key ${TSIG_ADMIN_NAME} (lab records only)"
    (umask 077 && tsig-keygen -a "${TSIG_ALG}" "${TSIG_ADMIN_NAME}" >"${BIND_DIR}/admin.key")
  fi
  mkdir -p "${PDNS_DIR}"
  if [[ ! -s ${PDNS_DIR}/api.key ]]; then
    say "generating PowerDNS API key"
    (umask 077 && openssl rand -hex 24 >"${PDNS_DIR}/api.key")
  fi
  if [[ ! -s ${PEBBLE_DIR}/eab-hmac.key ]]; then
    say "generating EAB HMAC key for kid ${EAB_KID}"
    # 48 random bytes -> exactly 64 base64url characters, no padding needed.
    (umask 077 && openssl rand 48 | base64 -w0 | tr '+/' '-_' >"${PEBBLE_DIR}/eab-hmac.key")
  fi
}

tsig_secret() { sed -n 's/^[[:space:]]*secret "\(.*\)";.*/\1/p' "${BIND_DIR}/tsig.key"; }
eab_hmac_key() { tr -d '\n' <"${PEBBLE_DIR}/eab-hmac.key"; }
pdns_api_key() { tr -d '\n' <"${PDNS_DIR}/api.key" 2>/dev/null || true; }

gen_ssh_keys() {
  mkdir -p "${SSH_DIR}"
  if [[ ! -s ${SSH_DIR}/ssh_host_ed25519_key ]]; then
    say "generating sshd host key"
    ssh-keygen -q -t ed25519 -N '' -C "certfleet-lab-host" -f "${SSH_DIR}/ssh_host_ed25519_key"
  fi
  if [[ ! -s ${SSH_DIR}/id_ed25519 ]]; then
    say "generating ssh client key ${SSH_DIR}/id_ed25519"
    rm -f "${SSH_DIR}/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C "certfleet-lab-client" -f "${SSH_DIR}/id_ed25519"
  fi
  install_content "${SSH_DIR}/authorized_keys" 0600 <"${SSH_DIR}/id_ed25519.pub" || true
}

# ---------------------------------------------------------------------------------------------
# Configuration files (rewritten on every `up`; CHANGED marks services to restart/reload)
# ---------------------------------------------------------------------------------------------

# Profiles of the built Pebble (seconds). Pebble gives an order without a profile a random one
# of these (on purpose), so the short-lived instance has 60 s in all of them (20 s proved too short on a loaded 2-core machine): its renewal tests
# must not get a 6-day certificate at random.
pebble_profiles() {
  local classic=7776000 tlsserver=7776000 shortlived=518400
  [[ $1 == pebble-short ]] && classic=60 tlsserver=60 shortlived=60
  cat <<EOF
    "profiles": {
      "classic": {"description": "${classic} s", "validityPeriod": ${classic}},
      "tlsserver": {"description": "${tlsserver} s, TLS server only", "validityPeriod": ${tlsserver}},
      "shortlived": {"description": "${shortlived} s, IP addresses too", "validityPeriod": ${shortlived}}
    },
EOF
}

# The Pebble program of an instance: the built one (PEBBLE_BIN, set by cmd_up) or Debian's.
pebble_binary() {
  if pebble_built "$1"; then echo "${PEBBLE_BIN}"; else command -v pebble; fi
}

write_pebble_configs() {
  local p port mgmt extra profiles
  for p in "${PEBBLES[@]}"; do
    port=$(pebble_port "${p}")
    mgmt=$(pebble_mgmt_port "${p}")
    profiles=""
    if pebble_built "${p}"; then profiles=$(pebble_profiles "${p}"); fi
    case ${p} in
      pebble | pebble-old) extra='"externalAccountBindingRequired": false' ;;
      # The built Pebble ignores certificateValidityPeriod (its profiles set the validity).
      pebble-short) extra='"externalAccountBindingRequired": false' ;;
      pebble-eab) extra="\"externalAccountBindingRequired\": true,
    \"externalAccountMACKeys\": {
      \"${EAB_KID}\": \"$(eab_hmac_key)\"
    }" ;;
    esac
    if install_content "${PEBBLE_DIR}/${p}.json" 0600 <<EOF; then CHANGED[${p}]=1; fi
{
  "pebble": {
    "listenAddress": "127.0.0.1:${port}",
    "managementListenAddress": "127.0.0.1:${mgmt}",
    "certificate": "${CA_DIR}/pebble-server.pem",
    "privateKey": "${CA_DIR}/pebble-server.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
${profiles}
    ${extra}
  }
}
EOF
    # The program and its environment too: a switch of binary or of alternate roots restarts it.
    if printf '%s\n' "$(pebble_binary "${p}")" "PEBBLE_ALTERNATE_ROOTS=$(pebble_alternate_roots "${p}")" |
      install_content "${PEBBLE_DIR}/${p}.cmd" 0644; then CHANGED[${p}]=1; fi
  done
}

write_named_conf() {
  install_content "${BIND_DIR}/db.root-hints" 0644 <<EOF || true
; Generated by tests/lab/lab.sh: a root that does not exist, so recursion stays on this machine.
.                     3600000 IN NS a.root.lab.invalid.
a.root.lab.invalid.   3600000 IN A  127.0.0.254
EOF
  if install_content "${BIND_DIR}/named.conf" 0644 <<EOF; then CHANGED[named]=1; fi
// Generated by tests/lab/lab.sh: authoritative-only BIND for the certfleet lab.
include "${BIND_DIR}/tsig.key";
include "${BIND_DIR}/admin.key";

options {
    directory "${BIND_DIR}";
    pid-file none;                      // lab.sh keeps the pid file itself
    session-keyfile "${BIND_DIR}/session.key";
    managed-keys-directory "${BIND_DIR}";
    listen-on port 53 { ${DNS_IP}; };
    listen-on-v6 { none; };
    // Recursion only for the two forward zones below (PowerDNS), so that Pebble, which asks
    // this server, resolves their names and CNAMEs into them. The root hints name an unused
    // loopback address: any other recursion fails here and never leaves the machine.
    recursion yes;
    allow-recursion { 127.0.0.0/8; };
    max-cache-ttl 1;
    max-ncache-ttl 0;
    allow-query { 127.0.0.0/8; };
    allow-transfer { none; };
    dnssec-validation no;
    notify no;
};

controls { };                           // no rndc channel

zone "." {
    type hint;
    file "${BIND_DIR}/db.root-hints";
};

zone "${PDNS_ZONE}" {
    type forward;
    forward only;
    forwarders { ${PDNS_IP}; };
};

zone "${VALIDATION_ZONE}" {
    type forward;
    forward only;
    forwarders { ${PDNS_IP}; };
};

zone "${ZONE}" {
    type primary;
    file "${BIND_DIR}/db.${ZONE}";
    // Dynamic zone: the TSIG key may add/delete TXT records anywhere in the zone (dns-01).
    update-policy {
        grant ${TSIG_NAME} zonesub TXT;
        grant ${TSIG_ADMIN_NAME} zonesub ANY;   // lab.sh only (lab records, see ensure_lab_records)
    };
};
EOF
}

# Fresh zone file (and no journal): called only when named is (re)started, so every named
# start begins with the canonical records and no leftover TXT records.
write_zone() {
  rm -f "${BIND_DIR}/db.${ZONE}.jnl"
  cat >"${BIND_DIR}/db.${ZONE}" <<EOF
; Generated by tests/lab/lab.sh on named start. Dynamic zone: do not edit while named runs.
\$ORIGIN ${ZONE}.
\$TTL 60
@       IN SOA  ns1.${ZONE}. hostmaster.${ZONE}. ( $(date +%s) 60 30 600 5 )
@       IN NS   ns1.${ZONE}.
@       IN A    ${LB_IP}
ns1     IN A    ${DNS_IP}
www     IN A    ${LB_IP}
*       IN A    ${LB_IP}
_acme-challenge.${DELEGATED_NAME} IN CNAME ${DELEGATED_NAME}.${VALIDATION_ZONE}.
EOF
}

# Records that a running named must have although it started from an older zone file (the zone
# is dynamic, so its file is read only on start): added with the admin key when missing.
ensure_lab_records() {
  local name="_acme-challenge.${DELEGATED_NAME}.${ZONE}" want="${DELEGATED_NAME}.${VALIDATION_ZONE}."
  [[ $(dig @"${DNS_IP}" "${name}" CNAME +short +time=1 +tries=2 2>/dev/null || true) == "${want}" ]] && return 0
  nsupdate -k "${BIND_DIR}/admin.key" <<EOF || die "could not add ${name} CNAME ${want}"
server ${DNS_IP}
zone ${ZONE}
update add ${name} 60 CNAME ${want}
send
EOF
  say "named: added ${name} CNAME ${want}"
}

write_pdns_conf() {
  mkdir -p "${PDNS_DIR}"
  if install_content "${PDNS_DIR}/pdns.conf" 0600 <<EOF; then CHANGED[pdns]=1; fi
# Generated by tests/lab/lab.sh: PowerDNS authoritative for ${PDNS_ZONE} and ${VALIDATION_ZONE}.
launch=gsqlite3
gsqlite3-database=${PDNS_DIR}/pdns.sqlite3
local-address=${PDNS_IP}
local-port=53
socket-dir=${PDNS_DIR}
daemon=no
guardian=no
disable-syslog=yes
log-timestamp=yes
loglevel=4
api=yes
api-key=$(pdns_api_key)
webserver=yes
webserver-address=${PDNS_IP}
webserver-port=${PDNS_API_PORT}
webserver-allow-from=127.0.0.0/8
# New zones are seen at once (no zone cache); answers are still cached as usual.
zone-cache-refresh-interval=0
default-soa-content=ns1.@ hostmaster.@ 0 60 30 600 5
default-ttl=60
EOF
}

pdnsutil_lab() { pdnsutil --config-dir="${PDNS_DIR}" "$@"; }

# Database with the schema and the two zones: created when missing (zones too), else kept.
ensure_pdns_zones() {
  local db="${PDNS_DIR}/pdns.sqlite3" zones schema=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
  if [[ ! -s ${db} ]]; then
    say "pdns: creating ${db}"
    sqlite3 "${db}" <"${schema}"
  fi
  zones=$(pdnsutil_lab list-all-zones 2>/dev/null || true)
  if ! grep -qx "${PDNS_ZONE}" <<<"${zones}"; then
    pdnsutil_lab create-zone "${PDNS_ZONE}" "ns1.${PDNS_ZONE}" >/dev/null
    pdnsutil_lab add-record "${PDNS_ZONE}" ns1 A 60 "${PDNS_IP}" >/dev/null
    pdnsutil_lab add-record "${PDNS_ZONE}" @ A 60 "${LB_IP}" >/dev/null
    pdnsutil_lab add-record "${PDNS_ZONE}" '*' A 60 "${LB_IP}" >/dev/null
    say "pdns: created zone ${PDNS_ZONE}"
  fi
  if ! grep -qx "${VALIDATION_ZONE}" <<<"${zones}"; then
    pdnsutil_lab create-zone "${VALIDATION_ZONE}" "ns1.${VALIDATION_ZONE}" >/dev/null
    pdnsutil_lab add-record "${VALIDATION_ZONE}" ns1 A 60 "${PDNS_IP}" >/dev/null
    say "pdns: created zone ${VALIDATION_ZONE}"
  fi
}

write_node_conf() {
  local node=$1 ip prefix tls
  ip=$(node_ip "${node}")
  prefix=$(node_prefix "${node}")
  tls="${prefix}/tls/${ZONE}"
  mkdir -p "${prefix}"/{conf,conf.d,logs,run,tmp,tls} "${prefix}/www/.well-known/acme-challenge"
  chmod 0755 "${prefix}" "${prefix}/www" "${prefix}/www/.well-known" "${prefix}/www/.well-known/acme-challenge"
  if [[ ! -s ${tls}/fullchain.pem || ! -s ${tls}/privkey.pem ]]; then
    say "${node}: installing placeholder certificate"
    install_placeholder "${node}"
    CHANGED[${node}]=1
  fi
  if install_content "${prefix}/conf/nginx.conf" 0644 <<EOF; then CHANGED[${node}]=1; fi
# Generated by tests/lab/lab.sh: lab web node ${node} (${ip}).
# Rewritten on every \`lab.sh up\`: add server blocks in ${prefix}/conf.d/*.conf instead.
# Test:   nginx -p ${prefix} -c conf/nginx.conf -t
# Reload: nginx -p ${prefix} -c conf/nginx.conf -s reload
user root;
worker_processes 1;
pid ${prefix}/run/nginx.pid;
error_log ${prefix}/logs/error.log notice;

events {
    worker_connections 512;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${prefix}/logs/access.log;
    client_body_temp_path ${prefix}/tmp/client_body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
    server_tokens off;
    ssl_protocols TLSv1.2 TLSv1.3;

    # Port 80 (catch-all, any Host): ACME http-01 tokens from the web root; everything else
    # redirects to https, as in production.
    server {
        listen ${ip}:80 default_server;
        server_name ${ZONE} www.${ZONE};

        location ^~ /.well-known/acme-challenge/ {
            root ${prefix}/www;
            default_type text/plain;
        }
        location / {
            return 301 https://\$host\$request_uri;
        }
    }

    # Port 443 default server (no SNI / unknown name): same certificate files.
    server {
        listen ${ip}:443 ssl http2 default_server;
        server_name _;
        ssl_certificate ${tls}/fullchain.pem;
        ssl_certificate_key ${tls}/privkey.pem;
        add_header X-Lab-Node ${node} always;
        add_header X-Lab-Vhost default always;
        location / {
            default_type text/plain;
            return 200 "${node}\n";
        }
    }

    server {
        listen ${ip}:443 ssl http2;
        server_name ${ZONE} www.${ZONE};
        ssl_certificate ${tls}/fullchain.pem;
        ssl_certificate_key ${tls}/privkey.pem;
        add_header X-Lab-Node ${node} always;
        add_header X-Lab-Vhost ${ZONE} always;
        location / {
            default_type text/plain;
            return 200 "${node}\n";
        }
    }

    # Plain-text HTTP/2 (h2c, prior knowledge only) for the TLS-terminating proxies, HAProxy
    # and Traefik, as a gRPC back-end would be reached.
    server {
        listen ${ip}:${H2C_PORT} http2;
        server_name _;
        add_header X-Lab-Node ${node} always;
        location / {
            default_type text/plain;
            return 200 "${node}\n";
        }
    }

    # Extra server blocks added by tests.
    include ${prefix}/conf.d/*.conf;
}
EOF
}

# The Apache httpd node: Debian's apache2 binary and modules with a configuration of its own
# (ServerRoot = the node's prefix; /etc/apache2 is not read). Same layout as an nginx node: www/
# (http-01 web root), tls/<zone>/ (placeholder), conf.d/ (VirtualHost files cert_install writes).
write_apache_conf() {
  local node=$1 ip prefix tls mod
  ip=$(node_ip "${node}")
  prefix=$(node_prefix "${node}")
  tls="${prefix}/tls/${ZONE}"
  mkdir -p "${prefix}"/{conf,conf.d,logs,run,tls,htdocs} "${prefix}/www/.well-known/acme-challenge"
  chmod 0755 "${prefix}" "${prefix}/htdocs" "${prefix}/www" "${prefix}/www/.well-known" \
    "${prefix}/www/.well-known/acme-challenge"
  if [[ ! -s ${tls}/fullchain.pem || ! -s ${tls}/privkey.pem ]]; then
    say "${node}: installing placeholder certificate"
    install_placeholder "${node}"
    CHANGED[${node}]=1
  fi
  printf '%s\n' "${node}" | install_content "${prefix}/htdocs/index.html" 0644 || true
  for mod in mpm_event authz_core alias dir headers rewrite socache_shmcb ssl http2; do
    [[ -f ${APACHE_MODULES}/mod_${mod}.so ]] || die "${node}: ${APACHE_MODULES}/mod_${mod}.so is missing (apache2)"
  done
  if install_content "${prefix}/conf/httpd.conf" 0644 <<EOF; then CHANGED[${node}]=1; fi
# Generated by tests/lab/lab.sh: lab Apache httpd node ${node} (${ip}).
# Rewritten on every \`lab.sh up\`: add virtual hosts in ${prefix}/conf.d/*.conf instead.
# Test:   ${APACHE_BIN} -d ${prefix} -f conf/httpd.conf -t
# Reload: ${APACHE_BIN} -d ${prefix} -f conf/httpd.conf -k graceful
ServerRoot "${prefix}"
DefaultRuntimeDir "${prefix}/run"
PidFile "${prefix}/run/httpd.pid"
ServerName ${node}.${ZONE}
ServerTokens Prod
# The parent runs as root (it reads the 0600 keys); the children as www-data.
User www-data
Group www-data
ErrorLog "${prefix}/logs/error.log"
LogLevel warn
LogFormat "%h %v \"%r\" %>s %b" lab
CustomLog "${prefix}/logs/access.log" lab

LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so
LoadModule alias_module ${APACHE_MODULES}/mod_alias.so
LoadModule dir_module ${APACHE_MODULES}/mod_dir.so
LoadModule headers_module ${APACHE_MODULES}/mod_headers.so
LoadModule rewrite_module ${APACHE_MODULES}/mod_rewrite.so
LoadModule socache_shmcb_module ${APACHE_MODULES}/mod_socache_shmcb.so
LoadModule ssl_module ${APACHE_MODULES}/mod_ssl.so
LoadModule http2_module ${APACHE_MODULES}/mod_http2.so

# Small: one child process at a time (a graceful reload starts another).
StartServers 1
ServerLimit 4
ThreadsPerChild 16
MinSpareThreads 4
MaxSpareThreads 32
MaxRequestWorkers 32

Listen ${ip}:80
Listen ${ip}:443 https
SSLProtocol -all +TLSv1.2 +TLSv1.3
SSLSessionCache "shmcb:${prefix}/run/ssl_scache(512000)"
# HTTP/2 only where a VirtualHost asks for it (cert_install's: Protocols h2 http/1.1).
Protocols http/1.1

<Directory />
    Require all denied
    AllowOverride None
    Options None
</Directory>
<Directory "${prefix}/www">
    Require all granted
</Directory>
<Directory "${prefix}/htdocs">
    Require all granted
    ForceType text/plain
</Directory>
DirectoryIndex index.html

# The virtual hosts are on ${ip}, not *: Apache picks among those of the exact address first, so
# the file cert_install writes must name it too (the role does: the node's address).
# Port 80 (any Host): ACME http-01 tokens from the web root; everything else to https.
<VirtualHost ${ip}:80>
    ServerName ${ZONE}
    DocumentRoot "${prefix}/www"
    <Directory "${prefix}/www/.well-known/acme-challenge">
        ForceType text/plain
    </Directory>
    RewriteEngine on
    RewriteCond %{REQUEST_URI} !^/\.well-known/acme-challenge/
    RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]
</VirtualHost>

# Port 443 default (first) virtual host (no SNI / unknown name): the placeholder certificate.
# cert_install's VirtualHosts (${ip}:443, one per certificate) come after it, from conf.d/.
<VirtualHost ${ip}:443>
    ServerName ${ZONE}
    SSLEngine on
    SSLCertificateFile "${tls}/fullchain.pem"
    SSLCertificateKeyFile "${tls}/privkey.pem"
    DocumentRoot "${prefix}/htdocs"
    Header always set X-Lab-Node ${node}
    Header always set X-Lab-Vhost default
</VirtualHost>

# Extra virtual hosts added by tests (cert_install's apache.conf_path).
IncludeOptional "${prefix}/conf.d/*.conf"
EOF
}

# HAProxy loads every file of certs/ (crt <dir>); the placeholder, first in name order and thus
# the default for names without a certificate, lets it start before any ACME run. Its only name
# is placeholder.lab.invalid, so it never competes with a certificate installed for a real name.
gen_lb_placeholder() {
  local dir="${HAPROXY_DIR}/certs" tmp
  mkdir -p "${dir}"
  chmod 0755 "${dir}"
  [[ -s ${dir}/00-lab-placeholder.pem ]] && return 0
  say "haproxy: generating placeholder certificate ${dir}/00-lab-placeholder.pem"
  tmp=$(mktemp -d)
  new_ec_key "${tmp}/key.pem"
  openssl req -new -x509 -key "${tmp}/key.pem" -subj "/CN=placeholder.lab.invalid" -days 3650 \
    -addext "subjectAltName=DNS:placeholder.lab.invalid" -out "${tmp}/cert.pem" 2>/dev/null
  (umask 077 && cat "${tmp}/cert.pem" "${tmp}/key.pem" >"${dir}/00-lab-placeholder.pem")
  rm -rf "${tmp}"
}

write_haproxy_cfg() {
  local n servers80="" serversh2c="" apache_acl="" apache_backend=""
  for n in "${NODES[@]}"; do
    servers80+="    server ${n} $(node_ip "${n}"):80"$'\n'
    serversh2c+="    server ${n} $(node_ip "${n}"):${H2C_PORT} proto h2"$'\n'
  done
  if [[ -n ${APACHE_NODE} ]]; then
    # ${APACHE_ZONE} and the names under it (www. too) go to the Apache node, the rest round robin
    # to the nginx nodes.
    printf -v apache_acl '    %s\n' \
      "acl apache_name req.hdr(host),lower,field(1,:) -m str ${APACHE_ZONE}" \
      "acl apache_name req.hdr(host),lower,field(1,:) -m end .${APACHE_ZONE}" \
      "use_backend apache_http if apache_name"
    printf -v apache_backend '%s\n' "" "backend apache_http" "    mode http" "    option forwardfor" \
      "    http-request set-header X-Forwarded-Host %[req.hdr(host)]" \
      "    server ${APACHE_NODE} $(node_ip "${APACHE_NODE}"):80"
  fi
  mkdir -p "${HAPROXY_DIR}"
  gen_lb_placeholder
  if install_content "${HAPROXY_DIR}/haproxy.cfg" 0644 <<EOF; then CHANGED[haproxy]=1; fi
# Generated by tests/lab/lab.sh: load balancer ${LB_IP} in front of the ${#NODES[@]} web nodes.
# Runs in master-worker mode in the foreground (-W -db); reload: kill -USR2 <master pid>.
# No health checks on purpose: a node that is down or lacks a token must show up as an error,
# not be routed around. Drain a node with the admin socket instead, e.g.
#   lab.sh lb-cmd 'set server web_http/web2 state maint'
global
    log stdout format raw local0
    stats socket ${HAPROXY_DIR}/admin.sock mode 600 level admin
    nbthread 1
    hard-stop-after 5s

defaults
    log global
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend http_in
    mode http
    option httplog
    bind ${LB_IP}:80
    acl acme_challenge path_beg /.well-known/acme-challenge/
    # Everything but ACME tokens goes to https (Host header kept in the Location).
    http-request redirect scheme https code 301 unless acme_challenge
${apache_acl}    default_backend web_http

backend web_http
    mode http
    # Strict per-request round robin over the nodes, so a token missing on one node is noticed.
    # HAProxy forwards the client's Host header unchanged; the nodes see the original name.
    balance roundrobin
    option forwardfor
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
${servers80}${apache_backend}
frontend https_in
    # TLS terminates here, with every certificate file in certs/ (SNI picks one; the placeholder
    # answers other names); ALPN h2 for HTTP/2 and gRPC clients. Update a certificate without a
    # reload: lab.sh lb-cmd 'show ssl cert', 'set ssl cert <file> <<', 'commit ssl cert <file>'.
    mode http
    option httplog
    bind ${LB_IP}:443 ssl crt ${HAPROXY_DIR}/certs/ alpn h2,http/1.1
    http-response set-header X-Lab-Proxy haproxy
    default_backend web_h2c

backend web_h2c
    # The nodes' plain-text HTTP/2 listeners (h2c), the way a gRPC back-end is reached.
    mode http
    balance roundrobin
${serversh2c}
EOF
}

# Traefik: static configuration (entry points, file provider) and the lab's own dynamic file
# (router and service). Certificates come from other files in dynamic/ (traefik_cert writes one).
write_traefik_conf() {
  local n servers=""
  for n in "${NODES[@]}"; do
    servers+="          - url: \"h2c://$(node_ip "${n}"):${H2C_PORT}\""$'\n'
  done
  mkdir -p "${TRAEFIK_DIR}/dynamic" "${TRAEFIK_DIR}/certs"
  if install_content "${TRAEFIK_DIR}/traefik.yml" 0644 <<EOF; then CHANGED[traefik]=1; fi
# Generated by tests/lab/lab.sh: Traefik on ${TRAEFIK_IP} in front of the ${#NODES[@]} web nodes.
# Static configuration (a change means a restart); dynamic/ is watched and reloaded live.
global:
  checkNewVersion: false
  sendAnonymousUsage: false
entryPoints:
  web:
    address: "${TRAEFIK_IP}:80"
    http:
      redirections:
        entryPoint:
          to: websecure
          scheme: https
  websecure:
    address: "${TRAEFIK_IP}:443"
    http:
      tls: {}
providers:
  file:
    directory: "${TRAEFIK_DIR}/dynamic"
    watch: true
log:
  level: INFO
  noColor: true
EOF
  install_content "${TRAEFIK_DIR}/dynamic/lab.yml" 0644 <<EOF || true
# Generated by tests/lab/lab.sh: every request on websecure goes to the nodes' h2c listeners.
# TLS certificates: other files in this directory (certfleet.acme.traefik_cert writes one).
http:
  routers:
    lab:
      rule: "PathPrefix(\`/\`)"
      entryPoints: [websecure]
      service: web-h2c
      middlewares: [lab-headers]
      tls: {}
  middlewares:
    lab-headers:
      headers:
        customResponseHeaders:
          X-Lab-Proxy: traefik
  services:
    web-h2c:
      loadBalancer:
        servers:
${servers}
EOF
}

write_sshd_config() {
  local ip listen=""
  # sshd opens at most 16 listen sockets (MAX_LISTEN_SOCKS): beyond 15 node addresses (the Apache
  # node's included) it listens on the wildcard address, which reaches every node address too
  # (such a lab needs port 22 free on all addresses: run it in a network namespace of its own).
  if (($(ssh_ips | wc -l) > 15)); then
    listen="ListenAddress 0.0.0.0"$'\n'
  else
    for ip in $(ssh_ips); do listen+="ListenAddress ${ip}"$'\n'; done
  fi
  if install_content "${SSH_DIR}/sshd_config" 0644 <<EOF; then CHANGED[sshd]=1; fi
# Generated by tests/lab/lab.sh: one sshd for the lab nodes (they share this machine).
Port 22
${listen}HostKey ${SSH_DIR}/ssh_host_ed25519_key
PidFile ${SSH_DIR}/sshd.pid
AuthorizedKeysFile ${SSH_DIR}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
AcceptEnv LANG LC_*
MaxStartups 50:30:100
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

# The committed inventory and vars hold the Apache node between '# apache node: begin' and
# '# apache node: end' lines; with LAB_APACHE=0 the copies in LAB_DIR leave those lines out.
without_apache() {
  if [[ -n ${APACHE_NODE} ]]; then cat; else sed '/# apache node: begin/,/# apache node: end/d'; fi
}

# secrets.yml (Ansible vars_files) and lab.env (shell) describing this lab instance.
write_vars_files() {
  local secret eab
  secret=$(tsig_secret)
  eab=$(eab_hmac_key)
  [[ -n ${secret} ]] || die "could not read the TSIG secret from ${BIND_DIR}/tsig.key"
  install_content "${LAB_DIR}/secrets.yml" 0600 <<EOF || true
# Generated by tests/lab/lab.sh: run-time secrets of the lab in ${LAB_DIR}.
# Load it in playbooks next to tests/lab/lab-vars.yml (vars_files). Never commit it.
lab_tsig_key_name: "${TSIG_NAME}"
lab_tsig_algorithm: "${TSIG_ALG}"
lab_tsig_secret: "${secret}"
lab_eab_kid: "${EAB_KID}"
lab_eab_hmac_key: "${eab}"
lab_pdns_api_key: "$(pdns_api_key)"
EOF
  install_content "${LAB_DIR}/lab.env" 0600 <<EOF || true
# Generated by tests/lab/lab.sh: source it (. ${LAB_DIR}/lab.env) in scripts.
export LAB_DIR=$(printf '%q' "${LAB_DIR}")
export LAB_DIRECTORY_URL=https://127.0.0.1:14000/dir
export LAB_SHORT_DIRECTORY_URL=https://127.0.0.1:14002/dir
export LAB_EAB_DIRECTORY_URL=https://127.0.0.1:14004/dir
export LAB_OLD_DIRECTORY_URL=https://127.0.0.1:14006/dir
export LAB_CA_BUNDLE=$(printf '%q' "${CA_DIR}/lab-ca.pem")
export LAB_DNS_SERVER=${DNS_IP}
export LAB_LB_ADDRESS=${LB_IP}
export LAB_TRAEFIK_ADDRESS=${TRAEFIK_IP}
export LAB_ZONE=${ZONE}
export LAB_TSIG_KEY_NAME=${TSIG_NAME}
export LAB_TSIG_ALGORITHM=${TSIG_ALG}
export LAB_TSIG_SECRET=$(printf '%q' "${secret}")
export LAB_TSIG_KEY_FILE=$(printf '%q' "${BIND_DIR}/tsig.key")
export LAB_PDNS_SERVER=${PDNS_IP}
export LAB_PDNS_API_URL=http://${PDNS_IP}:${PDNS_API_PORT}
export LAB_PDNS_API_KEY=$(printf '%q' "$(pdns_api_key)")
export LAB_PDNS_ZONE=${PDNS_ZONE}
export LAB_VALIDATION_ZONE=${VALIDATION_ZONE}
export LAB_EAB_KID=${EAB_KID}
export LAB_EAB_HMAC_KEY=$(printf '%q' "${eab}")
export LAB_SSH_KEY=$(printf '%q' "${SSH_DIR}/id_ed25519")
EOF
  # Inventory and vars with this LAB_DIR substituted (identical to the committed files when
  # LAB_DIR is the default), for runs with a non-default LAB_DIR.
  # With LAB_NODES other than 3 the web hosts (inventory) and lab_web_nodes (vars) list every node.
  local f text
  for f in inventory.yml lab-vars.yml; do
    if [[ -f ${SCRIPT_DIR}/${f} ]]; then
      text=$(<"${SCRIPT_DIR}/${f}")
      if [[ ${#NODES[@]} -ne 3 ]]; then text=$(with_nodes "${f}" "${text}"); fi
      printf '%s\n' "${text//"${DEFAULT_LAB_DIR}"/"${LAB_DIR}"}" | without_apache | install_content "${LAB_DIR}/${f}" 0644 || true
    fi
  done
  echo "${#NODES[@]}" | install_content "${LAB_NODES_FILE}" 0644 || true
}

# The committed inventory.yml / lab-vars.yml (which list web1..web3) with every node of NODES:
# the web1..web3 entries are replaced by generated ones of the same form. They end at the first
# line indented less than they are (the next group or variable, e.g. the Apache node's lines).
with_nodes() {
  local f=$1 text=$2 head rest old n p entries=""
  if [[ ${f} == inventory.yml ]]; then
    head=${text%%$'\n'"        web1:"*}
    rest=${text:${#head}+1}
    old=${rest%%$'\n'"    "[!\ ]*}
    for n in "${NODES[@]}"; do
      p="${DEFAULT_LAB_DIR}/nodes/${n}"
      entries+="        ${n}:
          ansible_host: $(node_ip "${n}")
          lab_node_prefix: ${p}
          lab_webroot: ${p}/www
          lab_tls_dir: ${p}/tls
          lab_conf_d: ${p}/conf.d
          lab_nginx_test_cmd: /usr/sbin/nginx -p ${p} -c conf/nginx.conf -t
          lab_nginx_reload_cmd: /usr/sbin/nginx -p ${p} -c conf/nginx.conf -s reload
"
    done
  else
    head=${text%%$'\n'"lab_web_nodes:"*}$'\n'"lab_web_nodes:"
    rest=${text:${#head}+1}
    old=${rest%%$'\n'[!\ ]*}
    for n in "${NODES[@]}"; do entries+="  ${n}: $(node_ip "${n}")"$'\n'; done
  fi
  printf '%s\n%s%s' "${head}" "${entries%$'\n'}" "${rest:${#old}}"
}

# Save each Pebble's issuing roots and intermediates (new on every Pebble start) for TLS checks:
# <name>-root.pem, <name>-intermediate.pem (the default chain, index 0) and, with alternate
# roots, <name>-root-N.pem, <name>-intermediate-N.pem (N = 1, 2, ...).
save_pebble_roots() {
  local p mgmt i n suffix kind
  for p in "${PEBBLES[@]}"; do
    mgmt=$(pebble_mgmt_port "${p}")
    n=$(pebble_alternate_roots "${p}")
    for ((i = 0; i <= n; i++)); do
      suffix=""
      if ((i > 0)); then suffix="-${i}"; fi
      for kind in root intermediate; do
        lcurl -fsS --cacert "${CA_DIR}/lab-ca.pem" "https://127.0.0.1:${mgmt}/${kind}s/${i}" \
          -o "${PEBBLE_DIR}/${p}-${kind}${suffix}.pem" || say "warning: could not fetch ${p} ${kind} ${i}"
      done
    done
  done
}

# ---------------------------------------------------------------------------------------------
# Starting services
# ---------------------------------------------------------------------------------------------

# named listens only on addresses it finds on an interface (unlike nginx/haproxy/sshd, which
# can bind any 127.x address), so put ${DNS_IP}/32 on lo. A marker file records that lab.sh
# added it; `down` removes it again.
ensure_dns_address() {
  if ! ip -4 -o addr show dev lo | grep -q " ${DNS_IP}/"; then
    ip addr add "${DNS_IP}/32" dev lo
    touch "${BIND_DIR}/lo-address-added"
  fi
}

remove_dns_address() {
  if [[ -e ${BIND_DIR}/lo-address-added ]]; then
    ip addr del "${DNS_IP}/32" dev lo 2>/dev/null || true
    rm -f "${BIND_DIR}/lo-address-added"
  fi
  if [[ -e ${PDNS_DIR}/lo-address-added ]]; then
    ip addr del "${PDNS_IP}/32" dev lo 2>/dev/null || true
    rm -f "${PDNS_DIR}/lo-address-added"
  fi
}

# The same for PowerDNS's address.
ensure_pdns_address() {
  if ! ip -4 -o addr show dev lo | grep -q " ${PDNS_IP}/"; then
    ip addr add "${PDNS_IP}/32" dev lo
    touch "${PDNS_DIR}/lo-address-added"
  fi
}

start_service() {
  local svc=$1 pidfile log prefix
  pidfile=$(svc_pidfile "${svc}")
  log=$(svc_log "${svc}")
  case ${svc} in
    pebble*)
      # Keep Pebble's defaults (5% badNonce, 50% authz reuse) but no validation sleep; make
      # sure a caller's environment cannot switch on always-valid or turn off nonce rejection.
      start_bg "${pidfile}" "${log}" env -u PEBBLE_VA_ALWAYS_VALID -u PEBBLE_WFE_NONCEREJECT \
        -u PEBBLE_CHAIN_LENGTH PEBBLE_VA_NOSLEEP=1 PEBBLE_ALTERNATE_ROOTS="$(pebble_alternate_roots "${svc}")" \
        "$(pebble_binary "${svc}")" -config "${PEBBLE_DIR}/${svc}.json" -dnsserver "${DNS_IP}:53"
      ;;
    named)
      ensure_dns_address
      write_zone
      named-checkconf "${BIND_DIR}/named.conf" >>"${log}" 2>&1 ||
        fail_service named "named-checkconf failed"
      # -g: foreground, all logging to stderr (-> named.log); runs as root (lab only).
      start_bg "${pidfile}" "${log}" named -g -4 -c "${BIND_DIR}/named.conf"
      ;;
    pdns)
      ensure_pdns_address
      ensure_pdns_zones
      start_bg "${pidfile}" "${log}" pdns_server --config-dir="${PDNS_DIR}"
      ;;
    "${APACHE_NODE:-"-"}")
      apache_lab -t >>"${log}" 2>&1 || fail_service "${svc}" "apache2 -t failed"
      # In the foreground (-DFOREGROUND): the pid start_bg records is the parent's, which
      # writes it to run/httpd.pid too (its PidFile, read by apache2 -k graceful).
      start_bg "${pidfile}" "${log}" "${APACHE_BIN}" -d "$(node_prefix "${svc}")" -f conf/httpd.conf -DFOREGROUND
      ;;
    web*)
      prefix=$(node_prefix "${svc}")
      nginx -p "${prefix}" -c conf/nginx.conf -t >>"${log}" 2>&1 ||
        fail_service "${svc}" "nginx -t failed"
      # nginx daemonizes itself and writes run/nginx.pid.
      setsid nginx -p "${prefix}" -c conf/nginx.conf </dev/null >>"${log}" 2>&1 ||
        fail_service "${svc}" "nginx did not start"
      ;;
    haproxy)
      haproxy -c -q -f "${HAPROXY_DIR}/haproxy.cfg" >>"${log}" 2>&1 ||
        fail_service haproxy "haproxy -c failed"
      rm -f "${HAPROXY_DIR}/admin.sock"
      start_bg "${pidfile}" "${log}" haproxy -W -db -f "${HAPROXY_DIR}/haproxy.cfg"
      ;;
    traefik)
      start_bg "${pidfile}" "${log}" "${TRAEFIK_BIN}" --configFile="${TRAEFIK_DIR}/traefik.yml"
      ;;
    sshd)
      mkdir -p /run/sshd
      chmod 0755 /run/sshd
      "$(command -v sshd)" -t -f "${SSH_DIR}/sshd_config" >>"${log}" 2>&1 ||
        fail_service sshd "sshd -t failed"
      # sshd must be started with an absolute path; -D: no daemonizing, -E: log file.
      start_bg "${pidfile}" "${log}" "$(command -v sshd)" -D -f "${SSH_DIR}/sshd_config" -E "${log}"
      ;;
  esac
}

reload_nginx() {
  local prefix
  prefix=$(node_prefix "$1")
  nginx -p "${prefix}" -c conf/nginx.conf -t >>"$(svc_log "$1")" 2>&1 || fail_service "$1" "nginx -t failed"
  nginx -p "${prefix}" -c conf/nginx.conf -s reload >>"$(svc_log "$1")" 2>&1 ||
    fail_service "$1" "nginx reload failed"
}

reload_apache() {
  apache_lab -t >>"$(svc_log "$1")" 2>&1 || fail_service "$1" "apache2 -t failed"
  apache_lab -k graceful >>"$(svc_log "$1")" 2>&1 || fail_service "$1" "apache2 -k graceful failed"
}

reload_node() {
  if [[ $1 == "${APACHE_NODE}" ]]; then reload_apache "$1"; else reload_nginx "$1"; fi
}

# Start a service, or leave it running, or restart/reload it when its config changed or it
# does not answer.
ensure_service() {
  local svc=$1 pid
  if pid=$(svc_pid "${svc}"); then
    if [[ -n ${CHANGED[${svc}]:-} ]]; then
      if [[ ${svc} == web* || ${svc} == "${APACHE_NODE:-"-"}" ]]; then
        reload_node "${svc}"
        say "${svc}: reloaded (config or certificate changed)"
      elif [[ ${svc} == haproxy ]]; then
        # Graceful: the master starts new workers, the old ones finish their connections.
        haproxy -c -q -f "${HAPROXY_DIR}/haproxy.cfg" >>"$(svc_log haproxy)" 2>&1 ||
          fail_service haproxy "haproxy -c failed"
        kill -USR2 "${pid}"
        say "haproxy: reloaded gracefully with SIGUSR2 (config changed)"
      elif [[ ${svc} == named ]]; then
        # Reload, never restart: a restart drops the dynamic zone's journal (others' TXT records).
        named-checkconf "${BIND_DIR}/named.conf" >>"$(svc_log named)" 2>&1 ||
          fail_service named "named-checkconf failed"
        kill -HUP "${pid}"
        say "named: reloaded with SIGHUP (config changed)"
      elif [[ ${svc} == sshd ]]; then
        # SIGHUP: sshd re-executes itself with the new configuration (a new ListenAddress);
        # the open sessions (Ansible's ControlPersist connections) are left alone.
        "$(command -v sshd)" -t -f "${SSH_DIR}/sshd_config" >>"$(svc_log sshd)" 2>&1 ||
          fail_service sshd "sshd -t failed"
        kill -HUP "${pid}"
        sleep 0.5
        say "sshd: reloaded with SIGHUP (config changed)"
      else
        stop_service "${svc}" || true
        start_service "${svc}"
        say "${svc}: restarted (config changed)"
      fi
    elif check_service "${svc}"; then
      say "${svc}: already running (pid ${pid})"
    else
      stop_service "${svc}" || true
      start_service "${svc}"
      say "${svc}: restarted (was running but not answering)"
    fi
  else
    rm -f "$(svc_pidfile "${svc}")"
    start_service "${svc}"
    say "${svc}: started"
  fi
}

# Bounded wait until every service answers; fail naming the first that does not.
wait_for_services() {
  local deadline=$((SECONDS + WAIT_SECONDS)) svc pending=("${SERVICES[@]}") still
  while true; do
    still=()
    for svc in "${pending[@]}"; do
      check_service "${svc}" && continue
      svc_pid "${svc}" >/dev/null || fail_service "${svc}" "process is not running"
      still+=("${svc}")
    done
    [[ ${#still[@]} -eq 0 ]] && return 0
    if ((SECONDS >= deadline)); then
      fail_service "${still[0]}" "did not answer within ${WAIT_SECONDS}s (not answering: ${still[*]})"
    fi
    pending=("${still[@]}")
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------

cmd_up() {
  local svc node
  require_tools
  mkdir -p "${LAB_DIR}" "${CA_DIR}" "${PEBBLE_DIR}" "${BIND_DIR}" "${PDNS_DIR}" "${HAPROXY_DIR}" "${SSH_DIR}" \
    "${PLACEHOLDER_DIR}" "${NODES_DIR}"
  chmod 0755 "${LAB_DIR}"
  # Pebble's listener CA bundle is only for the lab; keep the directory readable.
  gen_ca
  gen_placeholder
  gen_secrets
  gen_ssh_keys
  # The current Pebble: built once (about 4 minutes on 2 cores), then cached.
  PEBBLE_BIN=$(bash "${SCRIPT_DIR}/build-pebble.sh") ||
    die "could not build Pebble (see above; needs Go and the Go module proxy)"
  write_pebble_configs
  write_named_conf
  write_pdns_conf
  for node in "${NODES[@]}"; do write_node_conf "${node}"; done
  if [[ -n ${APACHE_NODE} ]]; then write_apache_conf "${APACHE_NODE}"; fi
  write_haproxy_cfg
  if [[ " ${SERVICES[*]} " == *" traefik "* ]]; then
    mkdir -p "${TRAEFIK_DIR}"
    TRAEFIK_BIN=$(bash "${SCRIPT_DIR}/build-traefik.sh") ||
      die "could not build Traefik (see above); LAB_TRAEFIK=0 starts the lab without it"
    write_traefik_conf
  fi
  write_sshd_config
  write_vars_files

  for svc in "${SERVICES[@]}"; do ensure_service "${svc}"; done
  wait_for_services
  ensure_lab_records
  save_pebble_roots
  say "lab is up (LAB_DIR=${LAB_DIR}); vars: ${LAB_DIR}/secrets.yml, ${LAB_DIR}/lab.env"
}

cmd_down() {
  local i svc
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    svc=${SERVICES[i]}
    if stop_service "${svc}"; then
      say "${svc}: stopped"
    else
      say "${svc}: not running"
    fi
  done
  rm -f "${HAPROXY_DIR}/admin.sock"
  remove_dns_address
  # The stopped processes were reparented to PID 1 (we are not their parent), which reaps
  # them shortly; wait up to 3 s so they do not linger as <defunct> in `ps` right after down.
  local pid tries
  for ((tries = 0; tries < 30; tries++)); do
    for pid in "${STOPPED_PIDS[@]}"; do
      [[ -e /proc/${pid} ]] && break
      pid=""
    done
    [[ -z ${pid:-} ]] && break
    sleep 0.1
  done
}

cmd_status() {
  local svc pid answers all_ok=0
  printf '%-13s %-8s %-8s %s\n' SERVICE PID ANSWERS WHERE
  for svc in "${SERVICES[@]}"; do
    pid=$(svc_pid "${svc}" || echo -)
    if check_service "${svc}"; then answers=yes; else
      answers=no
      all_ok=3
    fi
    printf '%-13s %-8s %-8s %s\n' "${svc}" "${pid}" "${answers}" "$(svc_where "${svc}")"
  done
  return "${all_ok}"
}

# Placeholder certificate back on every node, empty challenge directories, reload nginx and
# wait until each node serves the placeholder again.
cmd_reset_node_certs() {
  local node prefix ip want got i
  require_tools
  gen_placeholder
  want=$(openssl x509 -in "${PLACEHOLDER_DIR}/fullchain.pem" -noout -fingerprint -sha256)
  for node in $(all_nodes); do
    prefix=$(node_prefix "${node}")
    [[ -d ${prefix} ]] || die "${node}: ${prefix} does not exist (run: lab.sh up)"
    install_placeholder "${node}"
    mkdir -p "${prefix}/www/.well-known/acme-challenge"
    find "${prefix}/www/.well-known/acme-challenge" -mindepth 1 -delete
    if svc_pid "${node}" >/dev/null; then
      reload_node "${node}"
      ip=$(node_ip "${node}")
      for ((i = 0; i < 50; i++)); do
        got=$(openssl s_client -connect "${ip}:443" -servername "${ZONE}" </dev/null 2>/dev/null |
          openssl x509 -noout -fingerprint -sha256 2>/dev/null || true)
        [[ ${got} == "${want}" ]] && break
        sleep 0.1
      done
      [[ ${got} == "${want}" ]] || fail_service "${node}" "still not serving the placeholder after reload"
      say "${node}: placeholder certificate restored, challenges cleared, reloaded"
    else
      say "${node}: placeholder certificate restored, challenges cleared (not running)"
    fi
  done
}

# One command on HAProxy's admin socket (socat is not among the lab packages; python3 is).
cmd_lb_cmd() {
  [[ -S ${HAPROXY_DIR}/admin.sock ]] || die "no HAProxy admin socket (is the lab up?)"
  python3 - "${HAPROXY_DIR}/admin.sock" "$1" <<'EOF'
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
sock.sendall(sys.argv[2].encode() + b"\n")
while True:
    chunk = sock.recv(65536)
    if not chunk:
        break
    sys.stdout.write(chunk.decode(errors="replace"))
EOF
}

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

main() {
  local want_args=1
  [[ ${1:-} == lb-cmd ]] && want_args=2
  if [[ $# -ne ${want_args} ]]; then
    usage >&2
    exit 2
  fi
  if [[ ${EUID} -ne 0 ]]; then
    die "must run as root (binds ports 22, 53, 80, 443)"
  fi
  case $1 in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    restart)
      cmd_down
      cmd_up
      ;;
    reset-node-certs) cmd_reset_node_certs ;;
    lb-cmd) cmd_lb_cmd "$2" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
