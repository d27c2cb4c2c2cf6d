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
  - "When the CA has ACME Renewal Information (ARI, RFC 9773: a C(renewalInfo) URL in its
    directory), its suggested window decides instead of the lifetime rule: each stored certificate's
    renewalInfo is fetched (a plain GET, no account) and kept in the store
    (C(certs/<name>/ari.json)) until its C(Retry-After) (one minute to one day; six hours without
    one). The certificate is renewed at a time drawn once inside the window (uniformly, from a
    hash of the certificate ID and the window, so every run and check mode agree on it) or at once
    when the window has passed. An explicit O(renew_before_days) still renews earlier; an expired
    certificate is always due. See O(ari)."
  - Against a CA without ARI, or when its answer is unusable (not JSON, no valid window, an HTTP
    error, an unreachable server), the lifetime rule decides; an unusable answer also gives a
    warning and is asked again on the next run.
  - A renewal order carries C(replaces) with the old certificate's ARI ID when the CA has ARI and
    the new order shares an identifier with it (a CA may exempt such renewals from rate limits).
    If the CA answers C(alreadyReplaced), or C(unauthorized) (another account ordered the old
    certificate, as after a change of account), the order is sent once more without C(replaces).
  - O(state=pending) creates an order for each due certificate (or resumes a still usable pending
    order left by an earlier run) and returns one flat list of challenges, RV(challenges), to deploy.
  - O(state=valid) answers those challenges, waits for validation (polling from 20 ms up, with a
    deadline), finalizes with a fresh key, downloads the chain into the store and returns what happened.
  - With nothing due, nothing changes and no request needs the account; the only requests are the
    ARI ones (the directory and each renewalInfo answer not kept in the store).
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
    details:
      - Reports which certificates would be ordered; creates no order.
      - The ARI answers are fetched in check mode too (read-only GETs, so the prediction is the real
        decision) and kept in C(certs/<name>/ari.json) like in a real run - a cache of the CA's
        answer, not certificate state, kept so that the role, which decides in check mode, honours
        C(Retry-After). Nothing else is written; a store that cannot be written is no error in check
        mode. The time drawn in the window is the same in check mode and in the real run.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run with nothing due changes nothing and orders nothing. Keeping an ARI answer in
        the store is not a change.
options:
  state:
    description:
      - V(pending) creates or resumes orders and returns the challenges to deploy.
      - V(valid) answers the challenges and stores the issued certificates.
      - V(released) gives up the leases O(run_id) holds on the certificates (store only, no request
        to the CA). A run that stops before V(valid) calls it, so the next run does not wait for
        the leases to expire. The role does this in its cleanup path. Returns RV(released).
    type: str
    choices: [pending, valid, released]
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
      preferred_chain:
        description: The chain to store, by the issuer common name of its top certificate. Defaults to O(preferred_chain).
        type: str
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
      - Renew when fewer days than this remain, also when the CA's ARI window (O(ari)) is later.
        When unset, the ARI window decides, or without ARI renew when a third of the lifetime is
        left (half of it for lifetimes under ten days).
    type: float
  force:
    description: Issue all certificates even if still good.
    type: bool
    default: false
  profile:
    description: Default ACME profile for every certificate without its own O(certificates[].profile).
    type: str
  preferred_chain:
    description:
      - Among the default chain and the alternates the CA offers (C(Link) headers with
        C(rel="alternate") on the certificate URL), store the first whose top certificate (the one
        closest to the root) has this issuer common name, for example V(ISRG Root X1).
      - When no chain matches, the default chain is stored and RV(certificates[].chain_note) says so.
      - Applies to new certificates; the stored ones are kept until they are renewed.
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
  ari:
    description:
      - Use the CA's ACME Renewal Information (RFC 9773) when its directory offers it - see the
        description for what it decides.
      - V(false) makes the lifetime rule (or O(renew_before_days)) decide alone, sends no ARI request
        and no C(replaces).
    type: bool
    default: true
    version_added: 0.2.0
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
    reason:
      description:
        - Why issuance is or is not due.
        - "With ARI it names the window and the time, for example
          V(ARI window 2027-01-01T00:00:00Z to 2027-01-02T00:00:00Z: renew at 2027-01-01T13:07:42Z),
          with V((reached\\)) appended once that time has come, or V(... has passed: renew now)."
      type: str
      returned: always
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
    ari:
      description:
        - The CA's ARI answer for the stored certificate, null when the CA has no ARI, when its
          answer is unusable (a warning says why), when there is no stored certificate, when it came
          from another directory, or with O(ari=false).
      type: dict
      returned: always
      version_added: 0.2.0
      contains:
        window_start: {description: "Start of the suggested renewal window (ISO 8601, UTC).", type: str, returned: always}
        window_end: {description: "End of the suggested renewal window (ISO 8601, UTC).", type: str, returned: always}
        renew_at: {description: "The time drawn inside the window at which the certificate is renewed (ISO 8601, UTC).", type: str, returned: always}
        explanation_url: {description: "The CA's C(explanationURL), null when it gave none.", type: str, returned: always}
        retry_after: {description: "Until when the answer is kept in the store before the CA is asked again (ISO 8601, UTC).", type: str, returned: always}
      sample:
        window_start: "2027-01-01T00:00:00Z"
        window_end: "2027-01-02T00:00:00Z"
        renew_at: "2027-01-01T13:07:42Z"
        explanation_url: null
        retry_after: "2026-12-01T14:00:00Z"
    replaces:
      description:
        - The ARI certificate ID sent as C(replaces) in the new order, null when none was sent (no
          ARI, no shared identifier, or the CA answered C(alreadyReplaced) or C(unauthorized)).
      type: str
      returned: when O(state=pending) and status is V(pending)
      version_added: 0.2.0
    files:
      description:
        - "Store paths of the privkey, cert, chain and fullchain files, through C(certs/<name>/current/):
          they always name files of one complete set."
      type: dict
      returned: when O(state=valid) and valid
    lease_expires: {description: "When the lease of O(run_id) ends (ISO 8601, UTC).", type: str, returned: "when O(run_id) is set and status is V(pending)"}
    chain_issuer: {description: "The issuer common name of the top certificate of the chain stored.", type: str, returned: when issued by this run}
    chain_note:
      description: "Why the default chain was stored although O(preferred_chain) asked for another."
      type: str
      returned: when no chain matched O(preferred_chain)
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
released:
  description: With O(state=released), the certificates whose lease of O(run_id) was given up.
  returned: when O(state=released)
  type: list
  elements: str
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
                      ledger=runs, wait=DEFAULT_WAIT, warn=module.warn)


def main():
    spec = acme_argument_spec(
        state=dict(type="str", choices=["pending", "valid", "released"], default="pending"),
        certificates=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            identifiers=dict(type="list", elements="str", required=True),
            challenge=dict(type="str", choices=CHALLENGES),
            key_type=dict(type="str", choices=KEY_TYPES),
            renew_before_days=dict(type="float"),
            force=dict(type="bool"),
            profile=dict(type="str"),
            reuse_key=dict(type="bool", default=False),
            preferred_chain=dict(type="str"),
        )),
        challenge=dict(type="str", choices=CHALLENGES, default="http-01"),
        key_type=dict(type="str", choices=KEY_TYPES, default="ec-p256"),
        renew_before_days=dict(type="float"),
        force=dict(type="bool", default=False),
        profile=dict(type="str"),
        preferred_chain=dict(type="str"),
        concurrency=dict(type="int", default=8),
        return_content=dict(type="bool", default=True),
        run_id=dict(type="str"),
        lease_seconds=dict(type="int", default=900),
        ari=dict(type="bool", default=True),
    )
    run_module(spec, _run, mutually_exclusive=ACME_MUTUALLY_EXCLUSIVE)


if __name__ == "__main__":
    main()
