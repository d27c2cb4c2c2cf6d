#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: revoke
short_description: Revoke an ACME certificate by its name in the store or by its file
version_added: 0.2.0
author: certfleet maintainers (@certfleet)
description:
  - Revokes a certificate at the CA that issued it (RFC 8555 C(revokeCert)), given by its name in the
    store (O(name)) or as a file or PEM content (O(certificate_src), O(certificate_content)).
  - The request is signed by the account, except for O(reason=keyCompromise), which is signed with
    the certificate's own private key (the stored one, or O(private_key_src) / O(private_key_content)),
    so that it works without the account and proves the key is in the wrong hands.
  - A certificate revoked by name is recorded in the store (C(revoked_at) and C(revocation_reason) in its
    C(meta.json)); a later run sends nothing.
  - A certificate the CA reports as already revoked (C(alreadyRevoked)) is not a change.
  - Runs on the store host.
extends_documentation_fragment:
  - certfleet.acme.acme
  - certfleet.acme.attributes
  - certfleet.acme.attributes.ACTIONGROUP_ACME
attributes:
  check_mode:
    support: full
    details: Predicts a change unless the store records the revocation; sends nothing to the CA.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description: Name of the certificate in the store (the directory below C(certs/)).
    type: str
  certificate_src:
    description: Path of the certificate (PEM; the first certificate of a chain is revoked).
    type: path
  certificate_content:
    description: The certificate as PEM content.
    type: str
  reason:
    description:
      - The revocation reason (RFC 5280 CRLReason code in brackets) - V(unspecified) (0),
        V(keyCompromise) (1, signed with the certificate's key), V(superseded) (4, replaced by
        another certificate) or V(cessationOfOperation) (5, the names are no longer used).
    type: str
    choices: [unspecified, keyCompromise, superseded, cessationOfOperation]
    default: unspecified
  private_key_src:
    description:
      - The certificate's private key (PEM), for O(reason=keyCompromise). Defaults to the key in the
        store for O(name).
    type: path
  private_key_content:
    description: Like O(private_key_src), as PEM content.
    type: str
"""

EXAMPLES = r"""
- name: Revoke a stored certificate that a new one replaced
  certfleet.acme.revoke:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    name: example.com
    reason: superseded

- name: Revoke a certificate whose key leaked, signed with that key
  certfleet.acme.revoke:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    certificate_src: /srv/backup/example.com/cert.pem
    private_key_src: /srv/backup/example.com/privkey.pem
    reason: keyCompromise
"""

RETURN = r"""
name:
  description: The certificate name given in O(name).
  returned: always
  type: str
serial:
  description: Serial number (hex) of the certificate.
  returned: always
  type: str
  sample: 3f9a0c1d2e
reason:
  description: The revocation reason.
  returned: always
  type: str
  sample: superseded
revoked:
  description: Whether the certificate is revoked after the run (in check mode, would be).
  returned: always
  type: bool
already_revoked:
  description: Whether it was revoked before this run (recorded in the store, or the CA said C(alreadyRevoked)).
  returned: always
  type: bool
revoked_at:
  description: "When it was revoked (ISO 8601, UTC), as recorded in the store or seen by this run; V(null) in check mode."
  returned: always
  type: str
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import (
    ACME_MUTUALLY_EXCLUSIVE, acme_argument_spec, check_libraries)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.revoke import REASONS, revoke
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store


def _run(module):
    check_libraries(module)
    return revoke(module.params, module.check_mode, Store(module.params["store_dir"]))


def main():
    spec = acme_argument_spec(
        name=dict(type="str"),
        certificate_src=dict(type="path"),
        certificate_content=dict(type="str"),
        reason=dict(type="str", choices=list(REASONS), default="unspecified"),
        private_key_src=dict(type="path"),
        private_key_content=dict(type="str", no_log=True),
    )
    sources = ("name", "certificate_src", "certificate_content")
    run_module(spec, _run, required_one_of=[sources],
               mutually_exclusive=ACME_MUTUALLY_EXCLUSIVE + [sources, ("private_key_src", "private_key_content")])


if __name__ == "__main__":
    main()
