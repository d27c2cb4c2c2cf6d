#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_install
short_description: Install certificates and keys on a TLS node, or roll them back
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Installs one set of files per certificate in a directory of its own, C(cert.pem) (the leaf),
    C(chain.pem) (the intermediates), C(fullchain.pem) (leaf and intermediates) and C(privkey.pem).
  - Validates every certificate before writing anything; one bad item fails the task and changes
    nothing. Checks that the PEM parses, that the private key belongs to the certificate, that the
    certificate is valid now and that O(certificates[].chain) holds only certificates.
  - All files of all certificates are first written to temporary files next to their targets and
    synced, then renamed into place, so servers never read a half-written file.
  - With O(backup=true) the current set is copied to C(<file>.certfleet-prev) before it is
    replaced; O(state=rollback) restores that set.
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Before and after per certificate with serial, names and expiry; never key material.
  idempotent:
    support: full
options:
  certificates:
    description:
      - The certificates to install (O(state=present)) or roll back (O(state=rollback)).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Directory name of the set under O(dest_dir). 1 to 128 letters, digits, V(.), V(_) and
            V(-), starting with a letter or digit (the rule of the store's certificate names).
        type: str
        required: true
      cert:
        description:
          - PEM of the leaf certificate. Required for O(state=present).
          - If it holds more certificates and O(certificates[].chain) is empty, the others are
            used as the chain.
        type: str
      chain:
        description:
          - PEM of the intermediate certificates, may be empty.
        type: str
        default: ''
      privatekey:
        description:
          - PEM of the unencrypted private key (PKCS#8, SEC1 or PKCS#1). Required for
            O(state=present). Written with mode C(0600) whatever O(mode) says.
        type: str
      dest:
        description:
          - Directory of this set, instead of O(dest_dir)/O(certificates[].name).
        type: path
  dest_dir:
    description:
      - Parent directory of the per-certificate directories (created C(0755) when missing).
    type: path
    default: /etc/certfleet/certs
  owner:
    description:
      - Owner of the files and of the per-certificate directories. Defaults to the current user.
    type: str
  group:
    description:
      - Group of the files and of the per-certificate directories, for example the group a TLS
        server reads keys as.
    type: str
  mode:
    description:
      - Mode of C(cert.pem), C(chain.pem) and C(fullchain.pem), in octal (V('0644')).
      - C(privkey.pem) is always C(0600) and the directories C(0755).
    type: raw
    default: '0644'
  nginx_snippet:
    description:
      - Also write, in each certificate's directory, an nginx snippet to C(include) inside a
        C(server) block, with C(ssl_certificate), C(ssl_certificate_key), C(ssl_protocols) and
        HTTP/2 (ALPN C(h2), for gRPC clients too). It is part of the set (backup, rollback).
      - HTTP/2 is the C(http2 on) directive from nginx 1.25.1, and a C(http2) parameter of the
        O(nginx_snippet.listen) lines before (Debian 12 has nginx 1.22), so older nginx needs
        O(nginx_snippet.listen). The version is read from C(nginx -v) on the node.
      - Validate with C(nginx -t) and reload afterwards, as for the certificate files.
    type: dict
    suboptions:
      enabled:
        description: Write the snippet.
        type: bool
        default: true
      file_name:
        description: File name of the snippet in the certificate's directory.
        type: str
        default: nginx-tls.conf
      listen:
        description:
          - C(listen) parameters, one directive each, for example V(443 ssl) and V([::]:443 ssl).
            Needed for HTTP/2 on nginx before 1.25.1.
        type: list
        elements: str
      http2:
        description: Enable HTTP/2.
        type: bool
        default: true
      protocols:
        description: The C(ssl_protocols).
        type: list
        elements: str
        default: [TLSv1.2, TLSv1.3]
      nginx_version:
        description: The nginx version (for example V(1.22.1)), instead of asking C(nginx -v).
        type: str
      nginx_path:
        description: The nginx program asked for its version.
        type: path
        default: nginx
  backup:
    description:
      - Copy the current files to C(<file>.certfleet-prev) before replacing them.
    type: bool
    default: true
  state:
    description:
      - V(present) installs the given certificates.
      - V(rollback) restores the C(.certfleet-prev) set of each named certificate; only
        O(certificates[].name) and O(certificates[].dest) are used. Fails if a certificate has no
        backup.
    type: str
    choices: [present, rollback]
    default: present
notes:
  - A rollback copies the backups back and keeps them, so running it twice changes nothing the
    second time.
seealso:
  - module: certfleet.acme.cert_info
  - module: certfleet.acme.challenge
"""

EXAMPLES = r"""
- name: Install the certificates issued for this node
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
        cert: "{{ __certfleet_issued.cert }}"
        chain: "{{ __certfleet_issued.chain }}"
        privatekey: "{{ __certfleet_issued.privatekey }}"
    group: ssl-cert
  register: __certfleet_install

- name: Install with an nginx snippet (nginx 1.22 style HTTP/2 on the listen lines)
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
        cert: "{{ __certfleet_issued.cert }}"
        chain: "{{ __certfleet_issued.chain }}"
        privatekey: "{{ __certfleet_issued.privatekey }}"
    nginx_snippet:
      listen: ['443 ssl', '[::]:443 ssl']
  # in nginx: server { server_name www.example.com; include /etc/certfleet/certs/www.example.com/nginx-tls.conf; ... }

- name: Roll back to the previous set after a failed verification
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
    state: rollback
"""

RETURN = r"""
certificates:
  description: One entry per item of O(certificates), in order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The O(certificates[].name) of the item.
      type: str
      sample: www.example.com
    changed:
      description: Whether this set was (or in check mode would be) written or restored.
      type: bool
      sample: true
    serial:
      description: Serial number (lower-case hex) of the certificate installed after the run.
      type: str
      sample: 4a3f1c0de0b2e1f39a7c
    names:
      description: DNS names and IP addresses of that certificate.
      type: list
      elements: str
      sample: [www.example.com, example.com]
    not_after:
      description: Its expiry, ISO 8601 in UTC.
      type: str
      sample: '2027-03-01T12:00:00Z'
    previous_serial:
      description: Serial of the certificate that was installed before the run, null if none.
      type: str
      sample: 03c1a9e0b2
    dest:
      description: Directory of the set.
      type: str
      sample: /etc/certfleet/certs/www.example.com
    paths:
      description: Paths of the files of the set.
      type: dict
      contains:
        cert:
          description: The leaf certificate.
          type: str
          sample: /etc/certfleet/certs/www.example.com/cert.pem
        chain:
          description: The intermediates.
          type: str
          sample: /etc/certfleet/certs/www.example.com/chain.pem
        fullchain:
          description: Leaf followed by the intermediates.
          type: str
          sample: /etc/certfleet/certs/www.example.com/fullchain.pem
        privkey:
          description: The private key.
          type: str
          sample: /etc/certfleet/certs/www.example.com/privkey.pem
        nginx_snippet:
          description: The nginx snippet, with O(nginx_snippet) only.
          type: str
          sample: /etc/certfleet/certs/www.example.com/nginx-tls.conf
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install


def main() -> None:
    argument_spec = dict(
        certificates=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            cert=dict(type="str"),
            chain=dict(type="str", default=""),
            privatekey=dict(type="str", no_log=True),
            dest=dict(type="path"),
        )),
        dest_dir=dict(type="path", default=install.DEFAULT_DEST_DIR),
        owner=dict(type="str"),
        group=dict(type="str"),
        mode=dict(type="raw", default="0644"),
        nginx_snippet=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=True),
            file_name=dict(type="str", default="nginx-tls.conf"),
            listen=dict(type="list", elements="str"),
            http2=dict(type="bool", default=True),
            protocols=dict(type="list", elements="str", default=["TLSv1.2", "TLSv1.3"]),
            nginx_version=dict(type="str"),
            nginx_path=dict(type="path", default="nginx"),
        )),
        backup=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "rollback"], default="present"),
    )
    run_module(argument_spec,
               lambda module: install.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
