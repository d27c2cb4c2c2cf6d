#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: order
short_description: Order, validate and download many ACME certificates in one call
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Decides for every certificate in O(certificates) whether issuance is due, and works only on those.
    A certificate is due when the store has none, when it is inside its renewal window (a third of
    its lifetime left, half for lifetimes under ten days, or O(renew_before_days)), when its
    identifiers, key type or profile changed, when it came from another directory, or on O(force).
  - O(state=pending) creates an order for each due certificate (or resumes a still usable pending
    order left by an earlier run) and returns one flat list of challenges, RV(challenges), to deploy.
  - O(state=valid) answers those challenges, waits for validation (polling from 20 ms up, with a
    deadline), finalizes with a fresh key, downloads the chain into the store and returns what happened.
  - With nothing due, no ACME request is made at all and nothing changes.
  - Orders run concurrently (O(concurrency)); each certificate is locked in the store so that two
    runs never order the same certificate twice.
  - With O(run_id), the O(state=pending) call leases each certificate it ordered or resumed to that
    run until the O(state=valid) call with the same O(run_id) ends (or O(lease_seconds) pass), so
    another run neither answers its challenges nor removes its tokens meanwhile.
  - The challenges handed out are recorded with the pending order; RV(cleanup_challenges) lists
    those an earlier run handed out for orders that are now resumed, finished or abandoned, so a
    killed run's tokens and TXT records are removed by the next one.
  - An order whose certificate does not match its key or its names is abandoned (the reason is
    kept in the store); the next O(state=pending) call creates a new one.
  - Runs on the store host.
extends_documentation_fragment:
  - certfleet.acme.acme
  - certfleet.acme.attributes
  - certfleet.acme.attributes.ACTIONGROUP_ACME
attributes:
  check_mode:
    support: full
    details: Reports which certificates would be ordered; creates no order.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run with nothing due changes nothing and sends no request to the CA.
options:
  state:
    description:
      - V(pending) creates or resumes orders and returns the challenges to deploy.
      - V(valid) answers the challenges and stores the issued certificates.
    type: str
    choices: [pending, valid]
    default: pending
  certificates:
    description: The certificates, each named uniquely; the name is the directory in the store.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the certificate (letters, digits, V(.), V(_) and V(-), starting with a letter or digit, at most 128 characters).
        type: str
        required: true
      identifiers:
        description:
          - DNS names (wildcards like V(*.example.com) need V(dns-01)) and IP addresses (they need
            V(http-01)).
          - Internationalized names are converted with IDNA 2008 (UTS 46, non-transitional, the
            Python package C(idna)), so V(straße.de) becomes V(xn--strae-oqa.de). Refused before any
            order, with one line naming the identifier - invalid A-labels (V(xn--zz.example)),
            scoped IPv6 addresses (V(fe80::1%eth0)), names with an all-numeric top-level label
            (V(123.456)) and an IP address with V(dns-01).
        type: list
        elements: str
        required: true
      challenge:
        description: Challenge type for this certificate. Defaults to O(challenge).
        type: str
        choices: [http-01, dns-01]
      key_type:
        description: Type of the certificate key. Defaults to O(key_type).
        type: str
        choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
      renew_before_days:
        description: Renew when fewer days than this remain. Defaults to O(renew_before_days).
        type: float
      force:
        description: Issue even if the stored certificate is still good.
        type: bool
      profile:
        description:
          - ACME profile to request, one of the directory's C(meta.profiles) (for example V(classic),
            V(tlsserver) or V(shortlived) at Let's Encrypt). Defaults to O(profile).
          - Checked against the directory before any order; an unknown profile, or a profile asked of
            a CA that offers none, fails the task before anything changes.
          - The certificate's profile is stored with it; asking for another one re-issues it. Without a
            profile the CA picks (its default), and a stored certificate is kept whatever its profile.
        type: str
      reuse_key:
        description: Keep the current certificate key instead of generating a new one.
        type: bool
        default: false
  challenge:
    description: Default challenge type.
    type: str
    choices: [http-01, dns-01]
    default: http-01
  key_type:
    description: Default certificate key type.
    type: str
    choices: [ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096]
    default: ec-p256
  renew_before_days:
    description:
      - Renew when fewer days than this remain. When unset, renew when a third of the lifetime is
        left (half of it for lifetimes under ten days).
    type: float
  force:
    description: Issue all certificates even if still good.
    type: bool
    default: false
  profile:
    description: Default ACME profile for every certificate without its own O(certificates[].profile).
    type: str
  concurrency:
    description: How many certificates are worked on at once.
    type: int
    default: 8
  return_content:
    description: With O(state=valid), return the PEM certificate and chain (never the key) of every certificate.
    type: bool
    default: true
  run_id:
    description:
      - Names the run (one value per play, passed to both calls; letters, digits, V(.), V(_), V(-)).
      - With O(state=pending), each certificate ordered or resumed is leased to this run. A call
        with another O(run_id) that finds a live lease waits for it (up to 60 seconds, like the
        certificate lock), then fails naming the holder. O(state=valid) with the same O(run_id)
        releases the lease when it ends, also when it fails.
      - Without it, leases are neither checked nor taken.
    type: str
  lease_seconds:
    description: How long the lease of O(run_id) lasts when its O(state=valid) call never comes (a killed run).
    type: int
    default: 900
"""

EXAMPLES = r"""
- name: Create orders and get the challenges
  certfleet.acme.order:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    state: pending
    certificates:
      - name: example.com
        identifiers: [example.com, www.example.com]
  delegate_to: localhost
  run_once: true
  register: __pending

- name: Put the http-01 tokens on every web node
  certfleet.acme.challenge:
    challenges: "{{ __pending.challenges }}"
    webroot: /var/www/html

- name: Remove the tokens an earlier, killed run left behind
  certfleet.acme.challenge:
    challenges: "{{ __pending.cleanup_challenges }}"
    webroot: /var/www/html
    state: absent

- name: Let the CA validate and store the certificates
  certfleet.acme.order:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    state: valid
    certificates:
      - name: example.com
        identifiers: [example.com, www.example.com]
  delegate_to: localhost
  run_once: true
  register: __issued
"""

RETURN = r"""
certificates:
  description: One entry per requested certificate, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Certificate name., type: str, returned: always}
    identifiers: {description: The identifiers requested., type: list, elements: str, returned: always}
    action: {description: "V(issue), V(renew) or V(none).", type: str, returned: always}
    reason: {description: Why issuance is or is not due., type: str, returned: always}
    status:
      description: "V(pending) (order waiting for challenges), V(valid) (certificate in the store),
        V(absent), V(failed), or in check mode V(would_order) / V(would_issue)."
      type: str
      returned: always
    changed: {description: Whether this certificate changed., type: bool, returned: always}
    serial: {description: Serial number (hex) of the stored certificate., type: str, returned: when valid}
    not_after: {description: "Expiry (ISO 8601, UTC).", type: str, returned: when valid}
    profile: {description: "The ACME profile of the stored certificate (null when none was asked for).", type: str, returned: when valid}
    order_url: {description: The order URL., type: str, returned: when an order was used}
    files:
      description:
        - "Store paths of the privkey, cert, chain and fullchain files, through C(certs/<name>/current/):
          they always name files of one complete set."
      type: dict
      returned: when O(state=valid) and valid
    lease_expires: {description: "When the lease of O(run_id) ends (ISO 8601, UTC).", type: str, returned: "when O(run_id) is set and status is V(pending)"}
    abandoned_order: {description: The order given up because its certificate did not match its key or names., type: str, returned: when an order was abandoned}
    cert: {description: PEM leaf certificate., type: str, returned: when O(state=valid) and O(return_content)}
    chain: {description: PEM intermediate certificates., type: str, returned: when O(state=valid) and O(return_content)}
    error: {description: What went wrong., type: str, returned: when failed}
challenges:
  description:
    - Challenges to deploy, flat over all certificates. Empty when nothing is due or all
      authorizations are already valid.
  returned: always
  type: list
  elements: dict
  contains:
    certificate: {description: Certificate name., type: str, returned: always}
    identifier: {description: The identifier being validated., type: str, returned: always}
    type: {description: "V(http-01) or V(dns-01).", type: str, returned: always}
    token: {description: The challenge token., type: str, returned: always}
    path: {description: "Path below the web root, V(.well-known/acme-challenge/<token>).", type: str, returned: for http-01}
    content: {description: File content (the key authorization)., type: str, returned: for http-01}
    record: {description: TXT record name., type: str, returned: for dns-01}
    value: {description: TXT record value., type: str, returned: for dns-01}
  sample:
    - certificate: example.com
      identifier: www.example.com
      type: http-01
      token: LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
      path: .well-known/acme-challenge/LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0
      content: LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI
cleanup_challenges:
  description:
    - Challenges (same shape as RV(challenges)) that an earlier run handed out for orders that are
      now resumed, finished or abandoned and that no current order needs; remove these tokens and
      TXT records. With O(run_id), the run's own challenges are not listed.
    - O(state=pending) lists them and keeps them recorded; O(state=valid) lists them and clears the
      record (a failed certificate keeps its record, so the next call lists them again).
  returned: always
  type: list
  elements: dict
due:
  description: Names of the certificates that are due.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import (
    ACME_MUTUALLY_EXCLUSIVE, acme_argument_spec, check_libraries)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import run_orders
from ansible_collections.certfleet.acme.plugins.module_utils._store import runs
from ansible_collections.certfleet.acme.plugins.module_utils._store.lock import DEFAULT_WAIT, locked
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

KEY_TYPES = ["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096"]
CHALLENGES = ["http-01", "dns-01"]


def _run(module):
    check_libraries(module)
    store = Store(module.params["store_dir"])
    return run_orders(module.params, module.check_mode, store,
                      lambda names: locked(store.ensure_dir("locks"), names, warn=module.warn),
                      ledger=runs, wait=DEFAULT_WAIT)


def main():
    spec = acme_argument_spec(
        state=dict(type="str", choices=["pending", "valid"], default="pending"),
        certificates=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            identifiers=dict(type="list", elements="str", required=True),
            challenge=dict(type="str", choices=CHALLENGES),
            key_type=dict(type="str", choices=KEY_TYPES),
            renew_before_days=dict(type="float"),
            force=dict(type="bool"),
            profile=dict(type="str"),
            reuse_key=dict(type="bool", default=False),
        )),
        challenge=dict(type="str", choices=CHALLENGES, default="http-01"),
        key_type=dict(type="str", choices=KEY_TYPES, default="ec-p256"),
        renew_before_days=dict(type="float"),
        force=dict(type="bool", default=False),
        profile=dict(type="str"),
        concurrency=dict(type="int", default=8),
        return_content=dict(type="bool", default=True),
        run_id=dict(type="str"),
        lease_seconds=dict(type="int", default=900),
    )
    run_module(spec, _run, mutually_exclusive=ACME_MUTUALLY_EXCLUSIVE)


if __name__ == "__main__":
    main()
