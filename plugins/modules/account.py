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
    its key is rolled over, or it is deactivated.
  - "Account key rollover (RFC 8555 keyChange): with O(new_key_src), O(new_key_content) or
    O(rollover), the account keeps its URL and gets a new key. The new key is written to the store
    as C(key.pem.new) and the old one kept as C(key.pem.old) before the request; C(key.pem) is
    switched to the new key in one rename only after the CA confirmed the change, and the old key is
    then removed. If a run dies between the CA's answer and that switch, the next run finds that the
    CA refuses the stored key but knows the staged (or the requested) one, and completes the switch
    (RV(healed))."
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
    support: partial
    details: Fully idempotent, also with O(new_key_src) or O(new_key_content) (nothing happens when the
      store's key already is that key); O(rollover=true) generates and rolls over to a new key on every run.
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
  new_key_src:
    description:
      - Path of the private key (PEM, unencrypted; EC P-256/P-384 or RSA of at least 2048 bits) to roll
        the account over to. Nothing changes when the store's account key already is this key.
      - Needs the account key to be the store's (not O(account_key_src) or O(account_key_content)),
        and an existing account.
    type: path
  new_key_content:
    description:
      - Like O(new_key_src), the key given as PEM content.
    type: str
  rollover:
    description:
      - Generate a new key of O(account_key_type) and roll the account over to it. Every run with
        V(true) rolls over again, so use it once (for example when a key is suspected to be exposed).
    type: bool
    default: false
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

- name: Roll the account over to a new key from a file (nothing happens once it is the store's key)
  certfleet.acme.account:
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
    new_key_src: /etc/certfleet/new-account.key

- name: Roll the account over to a freshly generated P-384 key (run once)
  certfleet.acme.account:
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
    rollover: true
    account_key_type: ec-p384

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
    - The RFC 7638 thumbprint of the account key after the run (SHA-256, base64url), the part after
      the dot of every http-01 key authorization C(<token>.<thumbprint>).
    - The stateless http-01 mode of the role puts it into each node's port-80 configuration.
      In check mode it is the thumbprint of the key the account will be created with or rolled
      over to (a key generated in check mode is not kept, so it changes on the real run).
  returned: when O(state=present)
  type: str
  sample: 9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
key_thumbprint:
  description:
    - The same value as RV(thumbprint) (one computation, two names); the diff shows it before and
      after a rollover.
  returned: when O(state=present)
  type: str
  sample: 9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
rolled_over:
  description: Whether the account key was rolled over (or, in check mode, would be).
  returned: when O(state=present)
  type: bool
healed:
  description: Whether an earlier rollover that the CA had confirmed but the store had not recorded was completed.
  returned: when O(state=present)
  type: bool
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
        new_key_src=dict(type="path"),
        new_key_content=dict(type="str", no_log=True),
        rollover=dict(type="bool", default=False),
        external_account_binding=dict(type="dict", options=dict(
            kid=dict(type="str", required=True),
            hmac_key=dict(type="str", required=True, no_log=True),
            alg=dict(type="str", choices=["HS256", "HS384", "HS512"], default="HS256"),
        )),
    )
    run_module(spec, _run, mutually_exclusive=ACME_MUTUALLY_EXCLUSIVE + [
        ("new_key_src", "new_key_content")])


if __name__ == "__main__":
    main()
