#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_install
short_description: Install certificates, keys and nginx or Apache httpd virtual hosts on a TLS node, run deploy hooks, or roll back
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
  - With O(apache), the same for Apache httpd - one file of C(<VirtualHost>) blocks, C(apachectl
    configtest), a graceful reload.
  - O(deploy_hooks) and O(certificates[].deploy_hooks) hand a changed certificate to services this
    module does not know (Postfix, Dovecot, a Java keystore). They run after the files are written
    and the servers reloaded. A failing hook undoes the call like a failed reload.
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
      O(nginx) or O(apache), further diffs show the text of the file (header C(nginx_conf <path>),
      C(apache_conf <path>)).
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
      apache_vhost:
        description:
          - Give this certificate a C(<VirtualHost>) block in O(apache.conf_path), with
            C(SSLCertificateFile) pointing at its C(fullchain.pem) and C(SSLCertificateKeyFile) at
            its C(privkey.pem). Needs O(apache.conf_path).
        type: dict
        suboptions:
          server_names:
            description:
              - The names. The first one without V(*) is the C(ServerName), every other one a
                C(ServerAlias) (V(*.example.com) works there). No spaces, quotes, backslashes,
                V(<), V(>) or V(#).
            type: list
            elements: str
            required: true
          extra:
            description:
              - Directives for this block only, one per line. Sections such as
                C(<Location /status>) ... C(</Location>) must be closed in the same text. No
                C(VirtualHost) tag and no comments.
            type: str
            default: ''
      apache_loads:
        description:
          - Apache httpd loads these files from a configuration of your own (no
            O(certificates[].apache_vhost)). A change to them runs O(apache.test_command) and
            O(apache.reload_command) too.
        type: bool
        default: false
      deploy_hooks:
        description:
          - Commands for this certificate, run before the ones in O(deploy_hooks), in the same
            way. Same format as O(deploy_hooks).
        type: list
        elements: raw
        default: []
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
      http_server:
        description:
          - Also own a second file, O(nginx.http_server.conf_path), holding one port-80 C(server)
            block for the names O(nginx.http_server.server_names); written, backed up, tested,
            reloaded and rolled back with the TLS file. O(certificates) may then be empty (the
            TLS file, if O(nginx.conf_path) is set, is rendered from the items of this call).
          - The ACME http-01 path C(/.well-known/acme-challenge/<token>) is answered with
            C(<token>.<thumbprint>) and no file (O(nginx.http_server.stateless_thumbprint)), or
            served from O(nginx.http_server.webroot); with O(nginx.http_server.redirect_https)
            every other path redirects (301) to C(https://$host$request_uri).
          - Give it a server name of its own where another port-80 server is the default one.
        type: dict
        suboptions:
          conf_path:
            description: The file of the port-80 block (another one than O(nginx.conf_path)).
            type: path
            required: true
          server_names:
            description: The block's C(server_name) values.
            type: list
            elements: str
            required: true
          listen:
            description: The C(listen) values. Default V(<address>:<port>) with O(nginx.address), else V(<port>).
            type: list
            elements: str
          port:
            description: The port of the default O(nginx.http_server.listen) value.
            type: int
            default: 80
          stateless_thumbprint:
            description:
              - The ACME account thumbprint (RV(certfleet.acme.account#module:thumbprint)). A
                C(location ~ "^/\.well-known/acme-challenge/([-_a-zA-Z0-9]+)$") returns
                C($1.<thumbprint>) as text/plain, so no token file is needed on this node.
              - Excludes O(nginx.http_server.webroot).
            type: str
          webroot:
            description: Serve the http-01 token files from this web root (files mode).
            type: path
          redirect_https:
            description: Redirect every other path to https (301).
            type: bool
            default: false
          extra:
            description: Directives for the block, one per line (as O(nginx.server_extra)).
            type: str
            default: ''
  absent:
    description:
      - Certificate sets to remove in the same call (O(state=present) only), for a certificate
        that is decommissioned - the files of each set, their C(.certfleet-prev) backups and then
        its directory (when nothing else is left in it).
      - The nginx and Apache files are rendered from O(certificates) alone, so the C(server) block
        (or C(<VirtualHost>)) of a removed set goes away with it. The test and reload of each
        server (O(nginx), O(apache)) run when a set was removed; a failure puts every removed
        file back, like any other change of the call. No deploy hook runs for a removed set.
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
  apache:
    description:
      - Manage the file O(apache.conf_path) of TLS virtual hosts, then test Apache httpd and
        reload it gracefully. Without it the module does not touch Apache.
      - The file is rendered whole (a header comment, then one C(<VirtualHost <address>:<port>>)
        per certificate with O(certificates[].apache_vhost), by name). Each block has
        C(SSLEngine on), the certificate files and, inside C(<IfModule http2_module>),
        C(Protocols h2 http/1.1), so hosts speak HTTP/2 where mod_http2 is loaded (with
        mpm_event). mod_ssl and a C(Listen) for the port are the user's configuration, for
        example Debian's C(a2enmod ssl http2) and C(ports.conf).
      - The backups, the hidden marker and the commands follow the same rules as O(nginx). Give the
        file a name that the configuration's C(Include) glob matches, for example
        C(/etc/apache2/sites-enabled/certfleet.conf). The hidden backups never match it.
      - For O(state=rollback) and O(state=commit) only O(apache.conf_path),
        O(apache.test_command), O(apache.reload_command) and O(apache.error_log) are used.
    type: dict
    suboptions:
      conf_path:
        description:
          - The file of virtual hosts this module owns entirely (absolute path).
          - Unset, the Apache configuration is yours; the test and the reload still run when a
            file of an item with O(certificates[].apache_loads) changed.
        type: path
      address:
        description:
          - The address of every C(<VirtualHost>), an IP address (IPv6 in brackets or not) or
            V(*). Give the address when the C(Listen) directive names one.
        type: str
        default: '*'
      port:
        description: The port of every C(<VirtualHost>).
        type: int
        default: 443
      http2:
        description: Add C(Protocols h2 http/1.1) (inside C(<IfModule http2_module>)).
        type: bool
        default: true
      vhost_extra:
        description:
          - Directives for every block, one per line (the same rules as
            O(certificates[].apache_vhost.extra)), for example a C(Header always set
            Strict-Transport-Security ...) line or a C(DocumentRoot).
        type: str
        default: ''
      test_command:
        description: The configuration check. On failure the files are put back.
        type: str
        default: apachectl configtest
      reload_command:
        description:
          - The graceful reload. On failure the files are put back and Apache is reloaded again.
        type: str
        default: apachectl graceful
      error_log:
        description:
          - Apache's error log. The lines it gets during the call (else its last lines), at most
            20, go into the message of a failed test or reload.
        type: path
  deploy_hooks:
    description:
      - Commands run on the node for each certificate whose files this call changed, after every
        file is written and the servers (O(nginx), O(apache)) are tested and reloaded. A TLS check
        of the role comes after them. They are not run in check mode, nor for a set whose
        content did not change.
      - Each is a string, split like a shell would and run without a shell, or a list of
        arguments, or a dict with C(command), C(shell) (V(true) runs the string with C(/bin/sh)),
        C(timeout) (seconds, default 120) and C(chdir).
      - The environment holds C(CERTFLEET_NAME), C(CERTFLEET_DEST), C(CERTFLEET_CERT),
        C(CERTFLEET_CHAIN), C(CERTFLEET_FULLCHAIN), C(CERTFLEET_PRIVKEY) (paths),
        C(CERTFLEET_SERIAL), C(CERTFLEET_PREVIOUS_SERIAL), C(CERTFLEET_NOT_AFTER) and
        C(CERTFLEET_NAMES) (space-separated). C(CERTFLEET_ROLLBACK=1) marks a run on the restored
        previous files.
      - A hook that exits non-zero (or times out) fails the task with its stderr. Every file the
        call wrote is put back first, the servers are reloaded, and the hooks that had succeeded
        run again on the previous files, so the node keeps its previous certificate.
      - O(state=rollback) runs the hooks of each certificate it restores, with C(CERTFLEET_ROLLBACK=1).
    type: list
    elements: raw
    default: []
  state:
    description:
      - V(present) installs the given certificates (and the nginx and Apache files), removes the
        sets of O(absent), then runs the deploy hooks.
      - V(rollback) restores the C(.certfleet-prev) set of each named certificate and the nginx
        file's backup (removing the file if it did not exist before), then runs
        O(nginx.test_command) and O(nginx.reload_command) if anything was restored; the same for
        O(apache). Then it runs the deploy hooks of the restored certificates. Only
        O(certificates[].name) and O(certificates[].dest) are used. A certificate without a
        backup (a first installation) is reported with RV(certificates[].rolled_back=false).
      - V(commit) removes the C(.certfleet-prev) files of the named certificates (the previous
        private key included) and the backups of the nginx and Apache files, once the new set is verified.
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

- name: Install for Apache httpd (Debian, mod_ssl and mod_http2 enabled) and a Postfix deploy hook
  certfleet.acme.cert_install:
    certificates:
      - name: mail.example.com
        cert: "{{ __bundles.bundles[0].cert }}"
        chain: "{{ __bundles.bundles[0].chain }}"
        privatekey: "{{ __bundles.bundles[0].privatekey }}"
        apache_vhost:
          server_names: [mail.example.com]
          extra: |
            DocumentRoot /var/www/mail
        deploy_hooks:
          - systemctl reload postfix
          - command: >-
              openssl pkcs12 -export -in "$CERTFLEET_FULLCHAIN" -inkey "$CERTFLEET_PRIVKEY"
              -out /etc/keystore/mail.p12 -passout pass:changeit
            shell: true
    apache:
      conf_path: /etc/apache2/sites-enabled/certfleet.conf
      test_command: apachectl configtest
      reload_command: apachectl graceful
      error_log: /var/log/apache2/error.log
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

- name: The ACME account (its thumbprint answers every http-01 token)
  certfleet.acme.account:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    terms_agreed: true
  delegate_to: localhost
  run_once: true
  register: account

- name: Port 80 for stateless http-01 (no token files ever), the rest redirected to https
  certfleet.acme.cert_install:
    certificates: []
    nginx:
      address: 192.0.2.11
      test_command: nginx -t
      reload_command: systemctl reload nginx
      http_server:
        conf_path: /etc/nginx/conf.d/certfleet-http.conf
        server_names: [www.example.com, example.com]
        stateless_thumbprint: "{{ account.thumbprint }}"
        redirect_https: true
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
    apache_vhost:
      description: Whether the item has a C(<VirtualHost>) in O(apache.conf_path) (O(state=present)).
      type: bool
      returned: O(state=present)
      sample: false
    deploy_hooks:
      description: The deploy hooks that ran (or would run in check mode) for this set, because its content changed.
      type: list
      elements: str
      returned: O(state=present)
      sample: [systemctl reload postfix]
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
deploy_hooks:
  description:
    - One entry per hook that ran, in order. On a failure the same list is in the failed
      result, with the failed hook last.
  returned: always
  type: list
  elements: dict
  contains:
    certificate:
      description: The certificate it ran for.
      type: str
      sample: mail.example.com
    command:
      description: The command.
      type: str
      sample: systemctl reload postfix
    rc:
      description: Its exit status (127 not found, 124 timed out).
      type: int
      sample: 0
    stdout:
      description: Its output (the last 4000 characters).
      type: str
    stderr:
      description: Its error output (the last 4000 characters).
      type: str
    ok:
      description: Whether it exited 0.
      type: bool
      sample: true
apache:
  description:
    - The Apache file, with O(apache). The same keys as RV(nginx) (RV(nginx.restored) after
      O(state=rollback), RV(nginx.removed) after O(state=commit)).
  returned: O(apache) given
  type: dict
  sample:
    conf_path: /etc/apache2/sites-enabled/certfleet.conf
    changed: true
    tested: true
    reloaded: true
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
    http_server:
      description: The port-80 file of O(nginx.http_server), with the keys C(conf_path), C(changed),
        C(previous_content), C(content), C(tested) and C(reloaded) as above.
      type: dict
      returned: O(state=present) and O(nginx.http_server) given
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import install


def main() -> None:
    run_module(install.ARGUMENT_SPEC,
               lambda module: install.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
