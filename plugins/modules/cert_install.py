#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_install
short_description: Install certificates, keys and nginx server blocks on a TLS node, or roll them back
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
    replaced; O(state=rollback) restores that set and O(state=commit) removes the copies (the
    previous private key included) once the new set is known to be served.
  - With O(nginx), also owns one nginx file of TLS server blocks (one per certificate with
    O(certificates[].nginx_server)), then runs the nginx test and reload commands when something
    nginx loads changed. A failed test or reload puts every file the call wrote back (and reloads
    nginx again after a failed reload), so a failed call leaves the node as it was.
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: >-
      Before and after per certificate with serial, names and expiry; never key material. With
      O(nginx), a second diff shows the nginx file's text (header C(nginx_conf <path>)).
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
          - Directory name of the set under O(dest_dir), made of letters, digits, V(.), V(_) and
            V(-), starting with a letter or digit, at most 128 characters, without V(..).
            Name a wildcard certificate without V(*), for example V(wildcard.example.com).
            Checked for every item, in every O(state), before any path is built.
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
      nginx_server:
        description:
          - Give this certificate a C(server) block in O(nginx.conf_path), with C(ssl_certificate)
            and C(ssl_certificate_key) pointing at its C(fullchain.pem) and C(privkey.pem). Needs
            O(nginx.conf_path). Items without it only get their files.
        type: dict
        suboptions:
          server_names:
            description:
              - The C(server_name) values, for example V(www.example.com) or V(*.example.com).
                No spaces, quotes, backslashes, V(;), V({), V(}) or V(#).
            type: list
            elements: str
            required: true
          extra:
            description:
              - Directives for this block only, one per line, each ending with V(;) or a whole
                block on its line such as C(location / { return 204; }) (balanced braces, no
                comments).
            type: str
            default: ''
      nginx_loads:
        description:
          - nginx loads these files from a configuration of your own (no O(certificates[].nginx_server));
            a change to them runs O(nginx.test_command) and O(nginx.reload_command) too.
        type: bool
        default: false
  dest_dir:
    description:
      - Parent directory of the per-certificate directories (created C(0755) when missing, an
        existing one is left as it is).
    type: path
    default: /etc/certfleet/certs
  owner:
    description:
      - Owner of the files and of the per-certificate directories the module creates. Defaults to
        the current user.
    type: str
  group:
    description:
      - Group of the files and of the per-certificate directories the module creates, for example
        the group a TLS server reads keys as.
    type: str
  mode:
    description:
      - Mode of C(cert.pem), C(chain.pem) and C(fullchain.pem), in octal (V('0644')).
      - C(privkey.pem) is always C(0600).
    type: raw
    default: '0644'
  dir_mode:
    description:
      - Mode, in octal, of a per-certificate directory that the module creates (V('0700') keeps
        the set private to its owner).
      - An existing directory keeps its mode and owner. A O(certificates[].dest) that is a symlink
        to a directory is used as it is (the files go into the directory it points to, whose mode
        and owner are not changed); a symlink to anything else is refused.
    type: raw
    default: '0755'
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
        description: File name of the snippet in the certificate's directory (the same rule as O(certificates[].name)), not one of the PEM file names.
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
  nginx:
    description:
      - Manage the file O(nginx.conf_path) of TLS server blocks and test and reload nginx.
        Without it the module only writes files.
      - The file is rendered whole (a header comment, then one C(server) block per certificate
        with O(certificates[].nginx_server), by name) and written atomically with mode C(0644);
        with no such certificate it holds only the header, so a removed certificate's block goes
        away. Include it from C(http {}), for example from C(conf.d).
      - Its previous content is kept in the hidden file C(.<name>.certfleet-prev) next to it, or
        the hidden marker C(.<name>.certfleet-absent) when it did not exist; nginx's include
        globs do not match hidden files.
      - O(nginx.test_command) and O(nginx.reload_command) run (split like a shell would, no
        shell) only when the file or the files of a certificate with
        O(certificates[].nginx_server) changed, and never in check mode.
      - For O(state=rollback) and O(state=commit) only O(nginx.conf_path),
        O(nginx.test_command), O(nginx.reload_command) and O(nginx.error_log) are used.
    type: dict
    suboptions:
      conf_path:
        description:
          - The file of server blocks this module owns entirely (absolute path).
          - Unset, the nginx configuration is yours; the test and the reload still run when a
            file of an item with O(certificates[].nginx_loads) changed.
        type: path
      listen:
        description:
          - The C(listen) values of every block, for example
            V(127.0.0.11:443 ssl) or V([::]:443 ssl). A C(http2) parameter is dropped, since
            O(nginx.http2) adds HTTP/2 in the form the node's nginx understands.
          - Default V(<address>:<port> ssl) with O(nginx.address) (an IPv6 address in brackets),
            else V(<port> ssl). Give the address when the node's other servers listen on a
            specific address, or nginx's reload fails to bind C(0.0.0.0:443) while C(nginx -t)
            passes.
        type: list
        elements: str
      address:
        description: The address of the default O(nginx.listen) value.
        type: str
      port:
        description: The port of the default O(nginx.listen) value.
        type: int
        default: 443
      http2:
        description:
          - Enable HTTP/2 (ALPN C(h2)). nginx 1.25.1 and later get C(http2 on;), older ones (and
            an unknown version) a C(http2) parameter on each C(listen) line (Debian 12 has 1.22).
        type: bool
        default: true
      version:
        description: The nginx version, for example V(1.22.1). Default what C(<binary> -v) says.
        type: str
      binary:
        description: The nginx program asked for its version.
        type: str
        default: nginx
      server_extra:
        description:
          - Directives for every block, one per line, each ending with V(;) or a whole block on its
            line (balanced braces, no comments), for example an
            C(add_header Strict-Transport-Security ...;) line.
        type: str
        default: ''
      test_command:
        description: The configuration check, for example V(nginx -t). On failure the files are put back.
        type: str
      reload_command:
        description:
          - The reload, for example V(systemctl reload nginx). On failure (an exit status other
            than 0, or an C([emerg]) line that nginx writes to O(nginx.error_log) within a second
            or two, as after C(nginx -s reload)) the files are put back and nginx is reloaded
            again.
        type: str
      error_log:
        description:
          - nginx's error log. The lines it gets during the call (else its last lines), at most 20,
            go into the message of a failed test or reload.
        type: path
  absent:
    description:
      - Certificate sets to remove in the same call (O(state=present) only), for a certificate
        that is decommissioned - the files of each set, their C(.certfleet-prev) backups and then
        its directory (when nothing else is left in it).
      - The nginx file is rendered from O(certificates) alone, so the C(server) block of a
        removed set goes away with it. The nginx test and reload run when a set was removed; a
        failure puts every removed file back, like any other change of the call.
      - A set that is not there changes nothing. A name may not be in O(certificates) too.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Directory name of the set under O(dest_dir) (the rule of O(certificates[].name)).
        type: str
        required: true
      dest:
        description: Directory of the set, instead of O(dest_dir)/O(absent[].name).
        type: path
  backup:
    description:
      - Copy the current files to C(<file>.certfleet-prev) before replacing them (and the nginx
        file, see O(nginx)).
    type: bool
    default: true
  state:
    description:
      - V(present) installs the given certificates (and the nginx file) and removes the sets of O(absent).
      - V(rollback) restores the C(.certfleet-prev) set of each named certificate and the nginx
        file's backup (removing the file if it did not exist before), then runs
        O(nginx.test_command) and O(nginx.reload_command) if anything was restored. Only
        O(certificates[].name) and O(certificates[].dest) are used. A certificate without a
        backup (a first installation) is reported with RV(certificates[].rolled_back=false).
      - V(commit) removes the C(.certfleet-prev) files of the named certificates (the previous
        private key included) and the nginx file's backup, once the new set is verified.
    type: str
    choices: [present, rollback, commit]
    default: present
notes:
  - A rollback copies the backups back and keeps them, so running it twice changes nothing the
    second time; O(state=commit) removes them.
  - An existing directory is never changed (see O(dir_mode)).
seealso:
  - module: certfleet.acme.cert_info
  - module: certfleet.acme.challenge
"""

EXAMPLES = r"""
- name: Install a certificate whose PEM files are on the controller
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
        cert: "{{ lookup('ansible.builtin.file', 'pki/www.example.com/cert.pem') }}"
        chain: "{{ lookup('ansible.builtin.file', 'pki/www.example.com/chain.pem') }}"
        privatekey: "{{ lookup('ansible.builtin.file', 'pki/www.example.com/privkey.pem') }}"
    group: ssl-cert
    dir_mode: '0700'

- name: Read the bundle from the store (the private key inside, never shown)
  certfleet.acme.cert_bundle:
    names: [www.example.com]
  delegate_to: localhost
  run_once: true
  no_log: true
  register: __bundles

- name: Install it with an nginx server block, test and reload nginx (Debian 12, nginx 1.22)
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
        cert: "{{ __bundles.bundles[0].cert }}"
        chain: "{{ __bundles.bundles[0].chain }}"
        privatekey: "{{ __bundles.bundles[0].privatekey }}"
        nginx_server:
          server_names: [www.example.com, example.com]
          extra: |
            root /srv/www/example.com;
    nginx:
      conf_path: /etc/nginx/conf.d/certfleet.conf
      address: 192.0.2.10
      server_extra: |
        add_header Strict-Transport-Security "max-age=63072000" always;
      test_command: nginx -t
      reload_command: systemctl reload nginx
      error_log: /var/log/nginx/error.log
  register: __install

- name: Decommission old.example.com - its files and server block go, nginx is tested and reloaded
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
        cert: "{{ __bundles.bundles[0].cert }}"
        chain: "{{ __bundles.bundles[0].chain }}"
        privatekey: "{{ __bundles.bundles[0].privatekey }}"
        nginx_server:
          server_names: [www.example.com]
    absent:
      - name: old.example.com
    nginx:
      conf_path: /etc/nginx/conf.d/certfleet.conf
      test_command: nginx -t
      reload_command: systemctl reload nginx

- name: Roll back the certificate and the server blocks and reload nginx (after a failed TLS check)
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
    nginx:
      conf_path: /etc/nginx/conf.d/certfleet.conf
      test_command: nginx -t
      reload_command: systemctl reload nginx
    state: rollback

- name: The new certificate is served; remove the previous files (and the old private key)
  certfleet.acme.cert_install:
    certificates:
      - name: www.example.com
    nginx:
      conf_path: /etc/nginx/conf.d/certfleet.conf
    state: commit
"""

RETURN = r"""
certificates:
  description: One entry per item of O(certificates), in order.
  returned: success
  type: list
  elements: dict
  contains:
    nginx_server:
      description: Whether the item has a server block in O(nginx.conf_path) (O(state=present)).
      type: bool
      returned: O(state=present)
      sample: true
    rolled_back:
      description: Whether the set was restored from a backup (O(state=rollback)).
      type: bool
      returned: O(state=rollback)
      sample: true
    reason:
      description: Why a set was not rolled back.
      type: str
      returned: O(state=rollback) and RV(certificates[].rolled_back=false)
      sample: no previous files
    removed:
      description: The backup files removed (O(state=commit)).
      type: list
      elements: str
      returned: O(state=commit)
      sample: [/etc/certfleet/certs/www.example.com/privkey.pem.certfleet-prev]
    name:
      description: The O(certificates[].name) of the item.
      type: str
      sample: www.example.com
    changed:
      description: Whether this set was (or in check mode would be) written or restored.
      type: bool
      sample: true
    serial:
      description: Serial number (lower-case hex) of the certificate installed after the run (served after a rollback).
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
    dest:
      description: Directory of the set.
      type: str
      sample: /etc/certfleet/certs/old.example.com
    changed:
      description: Whether files of the set were (or in check mode would be) removed.
      type: bool
    removed:
      description: The files removed (or that would be), backups included.
      type: list
      elements: str
      sample: [/etc/certfleet/certs/old.example.com/cert.pem]
    previous_serial:
      description: Serial of the certificate that was installed there, null if none.
      type: str
      sample: 03c1a9e0b2
nginx:
  description: The nginx file, with O(nginx).
  returned: O(nginx) given
  type: dict
  contains:
    conf_path:
      description: O(nginx.conf_path).
      type: str
      sample: /etc/nginx/conf.d/certfleet.conf
    changed:
      description: Whether the file changed or would change (O(state=present)), or a backup was removed (O(state=commit)).
      type: bool
      returned: O(state=present) or O(state=commit)
    previous_content:
      description: The file's content before the run, null when it did not exist.
      type: str
      returned: O(state=present)
    content:
      description: The file's content after the run.
      type: str
      returned: O(state=present)
      sample: "# managed by certfleet.acme.cert_install; do not edit\n"
    tested:
      description: Whether O(nginx.test_command) ran and passed.
      type: bool
      returned: O(state=present)
    reloaded:
      description: Whether O(nginx.reload_command) ran and passed.
      type: bool
      returned: O(state=present) or O(state=rollback)
    restored:
      description: Whether the file was put back from its backup (or removed).
      type: bool
      returned: O(state=rollback)
    removed:
      description: The backup files removed.
      type: list
      elements: str
      returned: O(state=commit)
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install


def main() -> None:
    run_module(install.ARGUMENT_SPEC,
               lambda module: install.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
