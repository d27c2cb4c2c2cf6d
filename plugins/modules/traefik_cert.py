#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: traefik_cert
short_description: Install certificates into Traefik's file provider, verified, rolled back on failure
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Writes each certificate as C(<cert_dir>/<name>.crt) (leaf and intermediates) and
    C(<cert_dir>/<name>.key) (mode C(0600)), then one dynamic configuration file for Traefik's
    file provider (O(dynamic_file)) listing them under C(tls.certificates), and optionally the
    default certificate (C(tls.stores.default.defaultCertificate)) and TLS options.
  - Traefik watches the provider's directory (C(providers.file.directory) with C(watch=true))
    and loads the new certificates without a restart. The dynamic file names the serials in a
    comment, so it changes, and Traefik reloads, whenever a certificate does (Traefik does not
    watch the PEM files themselves).
  - Then polls TLS handshakes with SNI against O(verify) until the new serials are served, within
    O(verify_timeout). Otherwise the previous files are put back (Traefik reloads them by itself)
    and the task fails naming the endpoint, what it served and Traefik's own error lines from
    O(log_path).
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
  - certfleet.acme.tls_target
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Serial, names and expiry per certificate before and after; never key material.
  idempotent:
    support: full
options:
  absent:
    description:
      - Certificates to remove in the same call (O(state=present) only), for a certificate that
        is decommissioned - their C(.crt) and C(.key) files and backups. The dynamic file is
        rendered from O(certificates) alone, so their entries go; it is written first, so
        Traefik forgets them before their files are removed.
      - A file that is not there changes nothing. A name may not be in O(certificates) too.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the certificate (the rule of O(certificates[].name)).
        type: str
        required: true
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
      stores:
        description:
          - TLS stores of this certificate (Traefik's C(stores)); Traefik's default is the
            C(default) store.
        type: list
        elements: str
  cert_dir:
    description:
      - Directory of the PEM files. Keep it outside the provider's directory.
    type: path
    default: /etc/traefik/certs
  dynamic_file:
    description:
      - The dynamic configuration file this module owns, in the directory the file provider
        watches. It must end in C(.yaml) or C(.yml); it is written as JSON, which is YAML.
    type: path
    default: /etc/traefik/dynamic/certfleet.yaml
  default_certificate:
    description:
      - The O(certificates[].name) to serve when no certificate matches the SNI name
        (C(tls.stores.default.defaultCertificate)). Only one dynamic file may set it.
    type: str
  tls_options:
    description:
      - Written as C(tls.options) of the dynamic file, for example a C(default) option with
        C(minVersion=VersionTLS12) and C(alpnProtocols=[h2, http/1.1]). Traefik offers
        ALPN C(h2) and C(http/1.1) by default. Only one dynamic file may define an option name.
    type: dict
  mode:
    description:
      - Mode of the C(.crt) files and of the dynamic file. The C(.key) files are always C(0600),
        whatever this mode says.
    type: raw
    default: '0644'
  log_path:
    description:
      - Traefik's log file; on a failed verification, the error lines Traefik wrote meanwhile are
        part of the message.
    type: path
notes:
  - Traefik must run with the file provider in directory mode (or with O(dynamic_file) as its
    only file). The C(.certfleet-prev) backups next to the dynamic file are ignored by Traefik,
    which loads only C(.yaml), C(.yml) and C(.toml) files.
seealso:
  - module: certfleet.acme.haproxy_cert
  - module: certfleet.acme.cert_install
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

- name: Traefik serves the certificates (no restart)
  certfleet.acme.traefik_cert:
    certificates:
      - name: www.example.com
        cert: "{{ __bundles.bundles[0].cert }}"
        chain: "{{ __bundles.bundles[0].chain }}"
        privatekey: "{{ __bundles.bundles[0].privatekey }}"
    cert_dir: /etc/traefik/certs
    dynamic_file: /etc/traefik/dynamic/certfleet.yaml
    default_certificate: www.example.com
    verify:
      - host: 127.0.0.1
        server_name: www.example.com
    verify_timeout: 30
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
      description: The certificate file of the set.
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
      description: The C(.crt) file.
      type: str
      sample: /etc/traefik/certs/www.example.com.crt
reason:
  description: Why something changed, V(files) (new content) or V(served) (files right but not served); V(rollback) for O(state=rollback).
  returned: success
  type: str
  sample: files
dynamic_file:
  description: The dynamic configuration file.
  returned: success
  type: str
  sample: /etc/traefik/dynamic/certfleet.yaml
verified:
  description: The O(verify) endpoints with the serial each served after the change.
  returned: success
  type: list
  elements: dict
  sample: [{host: 127.0.0.1, port: 443, server_name: www.example.com, expected_serial: 4a3f1c, served_serial: 4a3f1c, ok: true}]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import deploy, traefik


def main() -> None:
    argument_spec = deploy.target_argument_spec(
        dict(stores=dict(type="list", elements="str")),
        cert_dir=dict(type="path", default=traefik.DEFAULT_CERT_DIR),
        dynamic_file=dict(type="path", default=traefik.DEFAULT_DYNAMIC_FILE),
        default_certificate=dict(type="str"),
        tls_options=dict(type="dict"),
        absent=dict(type="list", elements="dict", default=[], options=dict(name=dict(type="str", required=True))),
        mode=dict(type="raw", default="0644"),
        log_path=dict(type="path"),
    )
    run_module(argument_spec,
               lambda module: traefik.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
