#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: challenge
short_description: Deploy or remove ACME challenges on a node
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Serves the challenges that M(certfleet.acme.order) returns, on every node that may receive the
    CA's validation requests.
  - For C(http-01) challenges, writes the key authorization to
    C(<webroot>/.well-known/acme-challenge/<token>) (files mode C(0644), created directories
    C(0755)), or removes these files with O(state=absent).
  - Every entry is validated before anything is written (token syntax, key authorization format,
    web root present, challenge directory not leaving the web root); one bad entry fails the task
    and changes nothing.
  - For C(dns-01) challenges, adds the value of every entry as a TXT record at
    C(_acme-challenge.<name>) (or at the target of a CNAME there) through the DNS O(provider),
    all records of a zone in one update where the provider allows it, and then waits until every
    authoritative name server of the zone serves every value (O(propagation_timeout)).
    O(state=absent) removes exactly the given values; other values at the same name stay.
  - C(http-01) entries are handled when O(webroot) is set, C(dns-01) entries when O(provider) is
    set; entries of the other type are left alone and listed in RV(not_handled), so one list can serve both calls.
    With neither option set the task fails.
  - For C(http-01), runs with the Python standard library only (on the web nodes). C(dns-01)
    needs C(dnspython) and runs once on the store host.
extends_documentation_fragment:
  - certfleet.acme.attributes
  - certfleet.acme.dns
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the managed token files with their content, and the TXT values at
      each managed name, before and after.
  idempotent:
    support: full
options:
  challenges:
    description:
      - The challenges to serve, usually the C(challenges) result of M(certfleet.acme.order) as
        is.
      - Each entry has the keys C(certificate), C(identifier), C(type), C(token), C(path) and
        C(content), and for C(dns-01) C(record) and C(value); C(url) and other keys are accepted
        and ignored.
      - C(content) is the key authorization C(<token>.<account key thumbprint>). With
        O(state=absent) only C(type) and C(token) are needed.
      - An empty list changes nothing.
    type: list
    elements: dict
    required: true
  webroot:
    description:
      - The document root served for the challenged names on port 80.
      - Setting it makes the module handle the C(http-01) entries. Must exist.
    type: path
  state:
    description:
      - V(present) writes the token files and adds the TXT values, V(absent) removes them (the
        directories stay; only the given TXT values are removed).
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Owner of the token files and of the directories this module creates.
      - Defaults to the user running the module.
    type: str
  group:
    description:
      - Group of the token files and of the directories this module creates.
    type: str
notes:
  - Tokens must match C(^[A-Za-z0-9_-]{1,256}$) (base64url). A challenge directory that is a
    symbolic link to a place outside O(webroot) is refused.
seealso:
  - module: certfleet.acme.order
  - module: certfleet.acme.cert_install
"""

EXAMPLES = r"""
- name: Create the orders and get their challenges, on the store host
  certfleet.acme.order:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    state: pending
    certificates:
      - name: example.com
        identifiers: [example.com, www.example.com]
  delegate_to: localhost
  run_once: true
  register: __pending

- name: Serve the http-01 tokens of an order on every web node
  certfleet.acme.challenge:
    challenges: "{{ __pending.challenges }}"
    webroot: /var/www/html

- name: Remove the tokens once the order is valid
  certfleet.acme.challenge:
    challenges: "{{ __pending.challenges }}"
    webroot: /var/www/html
    state: absent

- name: One challenge written by hand, files owned by the web server user
  certfleet.acme.challenge:
    challenges:
      - certificate: www
        identifier: www.example.com
        type: http-01
        token: evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
        path: .well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
        content: evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ
    webroot: /srv/www/example
    owner: www-data
    group: www-data

- name: Deploy the dns-01 records of an order through BIND (RFC 2136 with TSIG), on the store host
  certfleet.acme.challenge:
    challenges: "{{ __pending.challenges }}"
    provider: rfc2136
    provider_options:
      server: 192.0.2.53
      tsig_key_name: acme-update   # tsig_secret from RFC2136_TSIG_SECRET (an AWX credential)
  delegate_to: localhost
  run_once: true

- name: Remove them again, also when validation failed
  certfleet.acme.challenge:
    challenges: "{{ __pending.challenges }}"
    provider: cloudflare   # token from CLOUDFLARE_API_TOKEN (an AWX credential)
    state: absent
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
files:
  description:
    - The token files written (O(state=present)) or removed (O(state=absent)), sorted.
    - In check mode, the files that would be written or removed.
    - Files that already had the wanted content and mode are not listed.
  returned: success
  type: list
  elements: str
  sample:
    - /var/www/html/.well-known/acme-challenge/evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA
records:
  description:
    - The TXT values added (O(state=present)) or removed (O(state=absent)), one entry per name;
      in check mode, those that would be. Values already in place (or already gone) are not listed.
  returned: when O(provider) is set
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
  returned: when O(state=present) and O(provider) is set, not in check mode
  type: dict
  sample: {example.com: {servers: ["ns1.example.com (192.0.2.53)"], seconds: 0.213}}
not_handled:
  description: Entries of a challenge type this call was not configured for (see O(webroot), O(provider)).
  returned: when there are any
  type: list
  elements: dict
  sample: [{certificate: example.com, identifier: "*.example.com", type: dns-01}]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._dns.spec import DNS_OPTIONS
from ansible_collections.certfleet.acme.plugins.module_utils._targets import challenge


def main() -> None:
    argument_spec = dict(
        challenges=dict(type="list", elements="dict", required=True),
        webroot=dict(type="path"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        owner=dict(type="str"),
        group=dict(type="str"),
        **DNS_OPTIONS
    )
    run_module(argument_spec,
               lambda module: challenge.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
