#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_bundle
short_description: Read issued certificate bundles from the store for installation on nodes
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Reads the private key, certificate and chain of every named certificate from the store directory
    in one call, for M(certfleet.acme.cert_install) on the nodes.
  - Checks on the store host, before anything is returned, that each key matches its certificate and
    that the certificate is valid now; one bad bundle fails the whole call.
  - Each bundle is read from the one version of the set that C(certs/<name>/current) names when
    reading starts, so a renewal that runs meanwhile never gives a key of one set and the
    certificate of another.
  - "The result contains private keys: always set C(no_log: true) on the task."
  - Runs on the store host.
extends_documentation_fragment:
  - certfleet.acme.attributes
  - certfleet.acme.attributes.ACTIONGROUP_ACME
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  store_dir:
    description:
      - The store directory on the store host.
      - Set it once for all store modules with C(module_defaults) and C(group/certfleet.acme.acme).
    type: path
    default: ~/.certfleet
  names:
    description: Names of the certificates to read.
    type: list
    elements: str
    default: []
  decommission:
    description:
      - Names of certificates that are decommissioned (removed from every node). The store keeps
        each set as a record and gets C(decommissioned_at) in its C(meta.json), once; a name the
        store does not know is reported in RV(decommissioned) with RV(decommissioned[].known=false).
      - In check mode nothing is recorded (the role reads what the store knows this way first).
    type: list
    elements: str
    default: []
  directory_url:
    description:
      - Not used (the store is read, the CA is not contacted). Accepted so that C(module_defaults)
        for C(group/certfleet.acme.acme) apply to this module too; the same holds for the other
        options below.
    type: str
  account_name:
    description: Not used; see O(directory_url).
    type: str
  account_key_src:
    description: Not used; see O(directory_url).
    type: path
  account_key_content:
    description: Not used; see O(directory_url).
    type: str
  ca_bundle:
    description: Not used; see O(directory_url).
    type: path
  validate_certs:
    description: Not used; see O(directory_url).
    type: bool
  request_timeout:
    description: Not used; see O(directory_url).
    type: float
  poll_timeout:
    description: Not used; see O(directory_url).
    type: float
requirements:
  - cryptography
"""

EXAMPLES = r"""
- name: Read the bundles on the store host (private keys inside, never print them)
  certfleet.acme.cert_bundle:
    store_dir: /var/lib/certfleet
    names: [www.example.com, api.example.com]
  delegate_to: pki-store.example.com
  run_once: true
  no_log: true
  register: __bundles

- name: Install every certificate on the node in one call (name, cert, chain and key of each bundle)
  certfleet.acme.cert_install:
    certificates: >-
      {{ __bundles.bundles | map('dict2items')
         | map('selectattr', 'key', 'in', ['name', 'cert', 'chain', 'privatekey'])
         | map('items2dict') }}
"""

RETURN = r"""
decommissioned:
  description: One entry per name of O(decommission), in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    name: {description: Certificate name., type: str, returned: always}
    known: {description: Whether the store holds an issued certificate of that name., type: bool, returned: always}
    serial: {description: Serial number (hex) of the stored certificate., type: str, returned: always}
    revoked_at: {description: "When it was revoked, as the store recorded (null if not).", type: str, returned: always}
    revocation_reason: {description: The recorded revocation reason., type: str, returned: always}
    decommissioned_at: {description: "When it was decommissioned (ISO 8601, UTC); null in check mode for a first time.", type: str, returned: always}
    changed: {description: Whether C(decommissioned_at) was (or would be) recorded by this run., type: bool, returned: always}
bundles:
  description:
    - One entry per name, in the order given.
    - Its RV(bundles[].name), RV(bundles[].cert), RV(bundles[].chain) and RV(bundles[].privatekey)
      are the suboptions of O(certfleet.acme.cert_install#module:certificates),
      O(certfleet.acme.haproxy_cert#module:certificates) and
      O(certfleet.acme.traefik_cert#module:certificates) (see the examples).
  returned: success
  type: list
  elements: dict
  contains:
    name: {description: Certificate name., type: str, returned: always}
    cert: {description: PEM leaf certificate., type: str, returned: always}
    chain: {description: PEM intermediate certificates., type: str, returned: always}
    privatekey: {description: PEM private key. Secret., type: str, returned: always}
    serial: {description: Serial number (hex)., type: str, returned: always}
    names: {description: DNS names and IP addresses of the certificate., type: list, elements: str, returned: always}
    not_after: {description: "Expiry (ISO 8601, UTC).", type: str, returned: always}
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import ACME_OPTIONS, DEFAULT_STORE, check_libraries
from ansible_collections.certfleet.acme.plugins.module_utils._store.bundle import decommission, read_bundles
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store


def _run(module):
    check_libraries(module)
    store, params = Store(module.params["store_dir"]), module.params
    bundles = read_bundles(store, params["names"]) if params["names"] else []
    changed, gone = decommission(store, params["decommission"], module.check_mode)
    return changed, {"bundles": bundles, "decommissioned": gone}


def main():
    # The group's other options are accepted (module_defaults for group/certfleet.acme.acme) and unused.
    spec = dict((name, dict(type=opts["type"], no_log=opts.get("no_log", False)))
                for name, opts in ACME_OPTIONS.items())
    spec.update(store_dir=dict(type="path", default=DEFAULT_STORE),
                names=dict(type="list", elements="str", default=[]),
                decommission=dict(type="list", elements="str", default=[]))
    run_module(spec, _run)


if __name__ == "__main__":
    main()
