#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: account
short_description: Create, update or deactivate an ACME account
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Makes sure an ACME account exists for the account key (O(state=present)), with the given contact,
    or deactivates it (O(state=absent)).
  - The account key comes from O(account_key_src) or O(account_key_content), or from the store
    directory; when there is none, a key of O(account_key_type) is generated into the store (mode 0600).
  - The account URI is kept in the store so that later modules need no lookup.
  - Runs on the store host. Reports a change only when the account is created, its contact changes,
    or it is deactivated.
extends_documentation_fragment:
  - certfleet.acme.acme
  - certfleet.acme.attributes
  - certfleet.acme.attributes.ACTIONGROUP_ACME
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(present) creates the account if needed and updates its contact.
      - V(absent) deactivates the account at the CA. This cannot be undone.
    type: str
    choices: [present, absent]
    default: present
  contact:
    description:
      - Contact addresses. Plain e-mail addresses get a C(mailto:) prefix.
      - When omitted, the contact of an existing account is left alone.
    type: list
    elements: str
  terms_agreed:
    description:
      - Agree to the CA's terms of service. Required by most CAs to create an account.
    type: bool
    default: false
  account_key_type:
    description:
      - Type of the account key generated into the store when no key exists yet.
    type: str
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
    default: ec-p256
  external_account_binding:
    description:
      - External Account Binding, required by CAs such as ZeroSSL, Sectigo or DigiCert.
    type: dict
    suboptions:
      kid:
        description: The key identifier the CA gave you.
        type: str
        required: true
      hmac_key:
        description: The base64url encoded HMAC key the CA gave you.
        type: str
        required: true
      alg:
        description: The MAC algorithm.
        type: str
        choices: [HS256, HS384, HS512]
        default: HS256
"""

EXAMPLES = r"""
- name: Make sure the account exists (key generated into the store on first run)
  certfleet.acme.account:
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
    contact: [hostmaster@example.com]
    terms_agreed: true

- name: Account at a CA that requires External Account Binding
  certfleet.acme.account:
    directory_url: https://acme.zerossl.com/v2/DV90
    account_key_src: /etc/certfleet/zerossl-account.key
    terms_agreed: true
    external_account_binding:
      kid: "{{ lookup('ansible.builtin.env', 'ZEROSSL_EAB_KID') }}"
      hmac_key: "{{ lookup('ansible.builtin.env', 'ZEROSSL_EAB_HMAC_KEY') }}"

- name: Deactivate the account
  certfleet.acme.account:
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
    state: absent
"""

RETURN = r"""
account_uri:
  description: The account URL at the CA. V(null) when there is no account (or in check mode before creation).
  returned: always
  type: str
  sample: https://acme-v02.api.letsencrypt.org/acme/acct/123456
status:
  description: The account status after the run.
  returned: always
  type: str
  sample: valid
contact:
  description: The contact addresses of the account.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [mailto:hostmaster@example.com]
created:
  description: Whether the account was created by this run.
  returned: when O(state=present)
  type: bool
thumbprint:
  description:
    - The RFC 7638 thumbprint of the account key (SHA-256, base64url), the part after the dot of
      every http-01 key authorization C(<token>.<thumbprint>).
    - The stateless http-01 mode of the role puts it into each node's port-80 configuration.
      In check mode it is the thumbprint of the key the account will be created with (a key
      generated in check mode is not kept, so it changes on the real run).
  returned: when O(state=present)
  type: str
  sample: 4kQ8n2eJ0q0xXkJm3YQzK5r9hZk2Wq3mFvZtN7s2b1c
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import (
    ACME_MUTUALLY_EXCLUSIVE, acme_argument_spec, check_libraries)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.account import ensure_account
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store


def _run(module):
    check_libraries(module)
    changed, result = ensure_account(module.params, module.check_mode, Store(module.params["store_dir"]))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    return changed, result


def main():
    spec = acme_argument_spec(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        contact=dict(type="list", elements="str"),
        terms_agreed=dict(type="bool", default=False),
        account_key_type=dict(type="str", default="ec-p256",
                              choices=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"]),
        external_account_binding=dict(type="dict", options=dict(
            kid=dict(type="str", required=True),
            hmac_key=dict(type="str", required=True, no_log=True),
            alg=dict(type="str", choices=["HS256", "HS384", "HS512"], default="HS256"),
        )),
    )
    run_module(spec, _run, mutually_exclusive=ACME_MUTUALLY_EXCLUSIVE)


if __name__ == "__main__":
    main()
