#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: challenge
short_description: Deploy or remove ACME http-01 challenges on a web node
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
  - C(dns-01) entries are left alone and listed in RV(not_handled), so one list can serve this
    module and M(certfleet.acme.dns_challenge), which deploys the C(dns-01) TXT records once on the
    store host.
  - Runs with the Python standard library only; it ships no DNS or ACME code to the web nodes.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The diff lists the managed token files with their content, before and after.
  idempotent:
    support: full
options:
  challenges:
    description:
      - The challenges to serve, usually the C(challenges) result of M(certfleet.acme.order) as
        is.
      - Each entry has the keys C(certificate), C(identifier), C(type), C(token), C(path) and
        C(content); C(url) and other keys are accepted and ignored.
      - C(content) is the key authorization C(<token>.<account key thumbprint>). With
        O(state=absent) only C(type) and C(token) are needed.
      - An empty list changes nothing.
    type: list
    elements: dict
    required: true
  webroot:
    description:
      - The document root served for the challenged names on port 80. Must exist.
      - Required when O(challenges) has C(http-01) entries.
    type: path
  state:
    description:
      - V(present) writes the token files, V(absent) removes them (the directories stay).
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
  provider:
    description:
      - Not supported any more; setting it fails with a message that points at
        M(certfleet.acme.dns_challenge), which takes the same C(dns-01) options.
    type: str
  provider_options:
    description:
      - Not supported any more (see O(provider)); never shown.
    type: dict
notes:
  - Tokens must match C(^[A-Za-z0-9_-]{1,256}$) (base64url). A challenge directory that is a
    symbolic link to a place outside O(webroot) is refused.
seealso:
  - module: certfleet.acme.order
  - module: certfleet.acme.dns_challenge
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
not_handled:
  description: The C(dns-01) entries, left to M(certfleet.acme.dns_challenge).
  returned: when there are any
  type: list
  elements: dict
  sample: [{certificate: example.com, identifier: "*.example.com", type: dns-01}]
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import challenge


def main() -> None:
    argument_spec = dict(
        challenges=dict(type="list", elements="dict", required=True),
        webroot=dict(type="path"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        owner=dict(type="str"),
        group=dict(type="str"),
        provider=dict(type="str"),
        provider_options=dict(type="dict", no_log=True),
    )
    run_module(argument_spec,
               lambda module: challenge.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
