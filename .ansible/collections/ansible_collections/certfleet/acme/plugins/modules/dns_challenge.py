#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_challenge
short_description: Deploy or remove ACME dns-01 challenge records through a DNS provider
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Serves the C(dns-01) challenges that M(certfleet.acme.order) returns. Run it once, on the
    store host (it needs the Python library C(dnspython)), not on every node.
  - Adds the value of every entry as a TXT record at C(_acme-challenge.<name>) (or at the target
    of a CNAME there, see O(follow_cnames)) through the DNS O(provider), all records of a zone in
    one update where the provider allows it, and then waits until every authoritative name server
    of the zone serves every value (O(propagation_timeout)).
  - O(state=absent) removes exactly the given values; other values at the same name stay.
  - Every entry is validated, the provider's credentials read, CNAMEs followed and each zone
    found at the provider before anything is written; one bad entry fails the task and changes
    nothing.
  - C(http-01) entries are left alone and listed in RV(not_handled), so one list can serve this
    module and M(certfleet.acme.challenge), which writes the C(http-01) token files on the web
    nodes.
extends_documentation_fragment:
  - certfleet.acme.attributes
  - certfleet.acme.dns
attributes:
  check_mode:
    support: full
    details: Reads the current TXT values and reports the changes; writes nothing and does not wait.
  diff_mode:
    support: full
    details: The diff lists the TXT values at each managed name, before and after.
  idempotent:
    support: full
options:
  challenges:
    description:
      - The challenges to serve, usually the C(challenges) result of M(certfleet.acme.order) as
        is.
      - Each C(dns-01) entry has the keys C(certificate), C(identifier), C(type), C(record) and
        C(value); C(token), C(url) and other keys are accepted and ignored. C(record), when
        given, must be C(_acme-challenge.<identifier without *.>).
      - An empty list changes nothing.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(present) adds the TXT values and waits until they are served, V(absent) removes them
        (only the given values).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Secrets in O(provider_options) are never shown in results, diffs or error messages.
seealso:
  - module: certfleet.acme.order
  - module: certfleet.acme.challenge
"""

EXAMPLES = r"""
- name: Orders for a wildcard certificate (their dns-01 challenges come back)
  certfleet.acme.order:
    directory_url: https://acme-staging-v02.api.letsencrypt.org/directory
    certificates:
      - name: wildcard.example.com
        identifiers: ["*.example.com", example.com]
        challenge: dns-01
  delegate_to: localhost
  run_once: true
  register: __certfleet_order

- name: Deploy the dns-01 records of an order through BIND (RFC 2136 with TSIG), on the store host
  certfleet.acme.dns_challenge:
    challenges: "{{ __certfleet_order.challenges }}"
    provider: rfc2136
    provider_options:
      server: 192.0.2.53
      tsig_key_name: acme-update   # tsig_secret from RFC2136_TSIG_SECRET (an AWX credential)
  delegate_to: localhost
  run_once: true

- name: Remove them again, also when validation failed
  certfleet.acme.dns_challenge:
    challenges: "{{ __certfleet_order.challenges }}"
    provider: cloudflare   # token from CLOUDFLARE_API_TOKEN (an AWX credential)
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
records:
  description:
    - The TXT values added (O(state=present)) or removed (O(state=absent)), one entry per name;
      in check mode, those that would be. Values already in place (or already gone) are not listed.
  returned: success
  type: list
  elements: dict
  contains:
    record: {description: "The challenge name, C(_acme-challenge.<name>).", type: str, returned: always}
    name: {description: "Where the values were written (the CNAME target if there is one).", type: str, returned: always}
    zone: {description: "The zone that holds the name (found by SOA).", type: str, returned: always}
    values: {description: The values added or removed., type: list, elements: str, returned: always}
  sample:
    - record: _acme-challenge.example.com
      name: _acme-challenge.example.com
      zone: example.com
      values: [LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0]
propagation:
  description: Per zone, the authoritative servers that were checked and how long it took until all served every value.
  returned: when O(state=present) and there were dns-01 entries, not in check mode
  type: dict
  sample: {example.com: {servers: ["ns1.example.com (192.0.2.53)"], seconds: 0.213}}
not_handled:
  description: The C(http-01) entries, left to M(certfleet.acme.challenge).
  returned: when there are any
  type: list
  elements: dict
  sample: [{certificate: www, identifier: www.example.com, type: http-01}]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._dns import challenge
from ansible_collections.certfleet.acme.plugins.module_utils._dns.spec import DNS_OPTIONS


def main() -> None:
    argument_spec = dict(
        challenges=dict(type="list", elements="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **DNS_OPTIONS
    )
    run_module(argument_spec,
               lambda module: challenge.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
