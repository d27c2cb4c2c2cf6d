#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_cert
short_description: Install certificates into HAProxy, hitless where possible, verified, rolled back on failure
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Writes each certificate as the one PEM file HAProxy loads (leaf, intermediates, private key;
    mode C(0600)) into O(dest_dir), the directory of a C(crt <dir>) bind option, or adds its
    line to a crt-list (O(crt_list)).
  - Checks the configuration with C(haproxy -c) before HAProxy is touched. If the check fails, the
    previous files are put back and the task fails with HAProxy's own output.
  - Then makes HAProxy serve the new files. When HAProxy already has a file loaded
    (C(show ssl cert)), it is replaced through the runtime API (C(set ssl cert) and
    C(commit ssl cert) on an O(admin_socket) of C(level admin)), with no reload and no
    connection touched. A file HAProxy does not know yet, a changed crt-list, O(method=reload), or a runtime
    API that refuses the update lead to a graceful reload (the master process starts new workers,
    the old ones finish their connections).
  - Finally verifies that HAProxy serves the new serials (runtime API, and TLS handshakes with
    SNI against O(verify)); otherwise the previous files are put back and served again.
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
  - certfleet.acme.tls_target
attributes:
  check_mode:
    support: full
    details: Predicts the change and the method (runtime API or reload); reads the runtime API.
  diff_mode:
    support: full
    details: Serial, names and expiry per certificate before and after; never key material.
  idempotent:
    support: full
options:
  absent:
    description:
      - Certificates to remove in the same call (O(state=present) only), for a certificate that
        is decommissioned - the combined PEM file, its backup and its O(crt_list) line.
      - After a removal C(haproxy -c) must pass, then HAProxy is reloaded gracefully (it reads a
        C(crt) directory at start-up only, so a reload makes it forget the file). A failure puts
        the files back (and reloads again after a failed reload).
      - A file that is not there changes nothing. A name may not be in O(certificates) too.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the certificate (the rule of O(certificates[].name)).
        type: str
        required: true
      path:
        description: The PEM file, instead of O(dest_dir)/C(<name>.pem).
        type: path
  certificates:
    description:
      - The certificates to install (O(state=present)) or roll back (O(state=rollback)), all in
        one call per host.
      - Each is validated before anything is written (PEM parses, the key belongs to the
        certificate, the certificate is valid now); one bad item fails the task and changes
        nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the certificate; also the base name of its files. Letters, digits, V(.), V(_)
            and V(-), starting with a letter or digit, at most 128 characters (no V(*) or V(..)).
            Checked for every item, in every O(state), before any path is built.
        type: str
        required: true
      cert:
        description:
          - PEM of the leaf certificate (if it holds more certificates and O(certificates[].chain)
            is empty, the others are the chain). Required for O(state=present).
        type: str
      chain:
        description:
          - PEM of the intermediate certificates.
        type: str
        default: ''
      privatekey:
        description:
          - PEM of the unencrypted private key. Required for O(state=present). Never logged,
            never in a diff.
        type: str
      path:
        description:
          - This certificate's PEM file, instead of O(dest_dir)/O(certificates[].name)C(.pem).
          - An absolute path; with O(crt_list) also without spaces or brackets.
        type: path
      sni_filters:
        description:
          - With O(crt_list), the SNI filters of its line (default none, HAProxy uses the names
            of the certificate). No spaces, brackets or line breaks.
        type: list
        elements: str
      ssl_options:
        description:
          - With O(crt_list), the SSL options of its line without brackets, for example
            V(alpn h2,http/1.1).
        type: str
  dest_dir:
    description:
      - Directory of the PEM files, the one a C(crt) bind option names. HAProxy loads every file
        in it (except dot files), so the backups go to its C(.certfleet-prev) subdirectory.
    type: path
    default: /etc/haproxy/certs
  crt_list:
    description:
      - A crt-list file to keep one line per certificate in (the line is matched by its file
        path; other lines stay). A changed line means a reload.
    type: path
  mode:
    description:
      - Mode of the PEM files, in octal. Each file holds a private key, so only V('0600') and
        V('0400') (owner bits only) are accepted; a mode that lets the group or others read or
        write it (V('0640'), V('0644')) fails the task before anything is written.
    type: raw
    default: '0600'
  config:
    description:
      - HAProxy configuration files or directories, passed as C(-f) to C(haproxy -c).
    type: list
    elements: path
    default: [/etc/haproxy/haproxy.cfg]
  haproxy_path:
    description:
      - The haproxy program.
    type: path
    default: haproxy
  admin_socket:
    description:
      - Path of a stats socket with C(level admin) (C(stats socket ... level admin)) for the
        runtime API. Without it every change is applied by a reload.
    type: path
  method:
    description:
      - V(auto) updates through the runtime API when HAProxy already has every changed file
        loaded, and reloads otherwise; V(reload) always reloads.
    type: str
    choices: [auto, reload]
    default: auto
  reload_command:
    description:
      - Command for a graceful reload, run without a shell.
    type: raw
    default: [systemctl, reload, haproxy]
  master_pid_file:
    description:
      - Reload by sending C(SIGUSR2) to the master process whose pid this file holds (HAProxy in
        master-worker mode, C(-W)), instead of O(reload_command).
    type: path
notes:
  - HAProxy 2.6 (Debian 12) has C(set/commit/abort ssl cert), C(new ssl cert) and
    C(add ssl crt-list); only one certificate transaction can be open at a time, so an update
    while another client holds one falls back to a reload (with a warning).
  - A payload larger than HAProxy's buffer (C(tune.bufsize), 16 kB by default) is refused by the
    runtime API; the module then reloads.
seealso:
  - module: certfleet.acme.cert_install
  - module: certfleet.acme.traefik_cert
"""

EXAMPLES = r"""
- name: Read the issued bundle on the store host (the private key inside, never print it)
  certfleet.acme.cert_bundle:
    store_dir: /var/lib/certfleet
    names: [www.example.com]
  delegate_to: pki-store.example.com
  run_once: true
  no_log: true
  register: __bundles

- name: The load balancer serves the certificates (runtime API when it can)
  certfleet.acme.haproxy_cert:
    certificates:
      - name: www.example.com
        cert: "{{ __bundles.bundles[0].cert }}"
        chain: "{{ __bundles.bundles[0].chain }}"
        privatekey: "{{ __bundles.bundles[0].privatekey }}"
    dest_dir: /etc/haproxy/certs
    admin_socket: /run/haproxy/admin.sock
    verify:
      - host: 127.0.0.1
        server_name: www.example.com

- name: Put the previous certificate back after a failed check from outside
  certfleet.acme.haproxy_cert:
    certificates:
      - name: www.example.com
    admin_socket: /run/haproxy/admin.sock
    state: rollback
"""

RETURN = r"""
absent:
  description: One entry per item of O(absent), in order (O(state=present)).
  returned: O(state=present)
  type: list
  elements: dict
  contains:
    name:
      description: The O(absent[].name) of the item.
      type: str
      sample: old.example.com
    path:
      description: The combined PEM file of the set.
      type: str
    changed:
      description: Whether files of the set were (or in check mode would be) removed.
      type: bool
    removed:
      description: The files removed (or that would be), backups included.
      type: list
      elements: str
    previous_serial:
      description: Serial of the certificate that was there, null if none.
      type: str
certificates:
  description: One entry per item of O(certificates).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The name of the item.
      type: str
      sample: www.example.com
    changed:
      description: Whether this certificate was (or would be) updated.
      type: bool
      sample: true
    serial:
      description: Serial (lower-case hex) of the certificate installed after the run.
      type: str
      sample: 4a3f1c
    previous_serial:
      description: Serial of the file before the run; null when there was none.
      type: str
      sample: 03c1a9
    names:
      description: Its DNS names and IP addresses.
      type: list
      elements: str
      sample: [www.example.com]
    not_after:
      description: Its expiry, ISO 8601 in UTC.
      type: str
      sample: '2027-03-01T12:00:00Z'
    path:
      description: The PEM file.
      type: str
      sample: /etc/haproxy/certs/www.example.com.pem
method:
  description: How HAProxy was (or would be) made to serve the files, null when nothing changed.
  returned: success
  type: str
  sample: runtime_api
  choices: [runtime_api, reload]
reason:
  description: Why something changed, V(files) (new content) or V(served) (files right but not served); V(rollback) for O(state=rollback).
  returned: success
  type: str
  sample: files
crt_list:
  description: The O(crt_list) path, null without it.
  returned: success
  type: str
crt_list_changed:
  description: Whether the crt-list file changed.
  returned: success
  type: bool
validate_output:
  description: Output of C(haproxy -c), null when it did not run.
  returned: success
  type: str
  sample: Configuration file is valid
verified:
  description: The O(verify) endpoints with the serial each served after the change.
  returned: success
  type: list
  elements: dict
  sample: [{host: 127.0.0.1, port: 443, server_name: www.example.com, expected_serial: 4a3f1c, served_serial: 4a3f1c, ok: true}]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy, haproxy


def main() -> None:
    argument_spec = deploy.target_argument_spec(
        dict(path=dict(type="path"), sni_filters=dict(type="list", elements="str"),
             ssl_options=dict(type="str")),
        dest_dir=dict(type="path", default=haproxy.DEFAULT_DEST_DIR),
        crt_list=dict(type="path"),
        absent=dict(type="list", elements="dict", default=[],
                    options=dict(name=dict(type="str", required=True), path=dict(type="path"))),
        mode=dict(type="raw", default="0600"),
        config=dict(type="list", elements="path", default=list(haproxy.DEFAULT_CONFIG)),
        haproxy_path=dict(type="path", default="haproxy"),
        admin_socket=dict(type="path"),
        method=dict(type="str", choices=["auto", "reload"], default="auto"),
        reload_command=dict(type="raw", default=list(haproxy.DEFAULT_RELOAD)),
        master_pid_file=dict(type="path"),
    )
    run_module(argument_spec,
               lambda module: haproxy.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
