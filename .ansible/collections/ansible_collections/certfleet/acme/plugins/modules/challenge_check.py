#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: challenge_check
short_description: Check from outside that every http-01 token is served, before the CA is asked
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Fetches every http-01 token the way the CA will, before the challenges are answered, so that no
    failed validation is spent at the CA (failed validations count against rate limits).
  - Every token is fetched from every node directly (node address, C(Host) header set to the
    identifier), concurrently, and then several times in a row through the public address the CA
    uses (a load balancer that round-robins reaches a different node on each fetch).
  - Redirects are followed the way Let's Encrypt's validation authority follows them (http and
    https only, ports 80 and 443 only, host names or public IP addresses only, at most 10
    redirects; https without certificate validation, with the redirect target's host name as SNI).
    Relative C(Location) headers are resolved against the URL that answered. A redirect loop
    fails as V(redirect loop) with the chain of locations, and a redirect the CA would refuse
    fails with the reason; both show in the table row of that fetch.
  - A redirect to the same host name is fetched from the same address as the fetch before it
    (the node's own address for a direct fetch, so every node is checked, on its
    O(nodes[].port) for http and O(nodes[].https_port) for https). A redirect to another host
    name goes to O(public_address) when set, and to the host's address in the DNS otherwise.
  - The IANA top-level-domain check of the CA is not repeated here.
  - Fails with a table of node, address, identifier and what was returned when a token is missing
    anywhere. Tokens that missed are fetched again O(attempts) times first.
  - Standard library only. Run it where the CA's view can be reproduced, usually the store host.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  challenges:
    description: Challenges as returned by M(certfleet.acme.order); only the http-01 entries are checked.
    type: list
    elements: dict
    required: true
  nodes:
    description: The web nodes to fetch from directly.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the node in the report.
        type: str
        required: true
      address:
        description: Address to connect to.
        type: str
        required: true
      port:
        description: HTTP port (where the CA's port 80 lands on this node).
        type: int
        default: 80
      https_port:
        description: HTTPS port (where the CA's port 443 lands), for redirects to https.
        type: int
        default: 443
  public_address:
    description:
      - Address the CA connects to, for example the load balancer. When unset, each identifier is
        resolved, as the CA does.
    type: str
  public_port:
    description: Port of the public address.
    type: int
    default: 80
  public_https_port:
    description: HTTPS port of the public address, for redirects to https.
    type: int
    default: 443
  public_rounds:
    description:
      - Fetches of each token through the public address. V(0) means as many as there are nodes
        (at least one).
    type: int
    default: 0
  check_public:
    description: Whether to fetch through the public address at all.
    type: bool
    default: true
  timeout:
    description: Timeout of each fetch in seconds.
    type: float
    default: 5
  attempts:
    description: How often tokens that missed are fetched again before giving up.
    type: int
    default: 2
  retry_delay:
    description: Seconds between attempts.
    type: float
    default: 1
  fail_on_miss:
    description: Fail when a token is missing somewhere. When V(false), report the misses and succeed.
    type: bool
    default: true
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

- name: Every token answers on every node and through the load balancer
  certfleet.acme.challenge_check:
    challenges: "{{ __pending.challenges }}"
    nodes:
      - {name: web1, address: 192.0.2.11}
      - {name: web2, address: 192.0.2.12}
    public_address: 192.0.2.10
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
fetches:
  description: Number of fetches of the first attempt.
  returned: always
  type: int
misses:
  description: Every fetch that did not return the key authorization.
  returned: always
  type: list
  elements: dict
  contains:
    node: {description: "Node name, or V((public)).", type: str, returned: always}
    via: {description: Address and port fetched from., type: str, returned: always}
    identifier: {description: The identifier (Host header)., type: str, returned: always}
    certificate: {description: Certificate name., type: str, returned: always}
    token: {description: The token., type: str, returned: always}
    got:
      description:
        - "What came back instead, including why a redirect chain failed: V(redirect loop) or
          V(more than 10 redirects) with the chain of locations, or V(redirect the CA refuses) with
          the reason and the chain."
      type: str
      returned: always
    redirects:
      description: The redirect locations followed (absolute URLs, in order); empty without redirects.
      type: list
      elements: str
      returned: always
table:
  description: The misses as aligned lines, with a header line.
  returned: always
  type: list
  elements: str
nodes_missing:
  description: Nodes that did not serve a token.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._probe.preflight import check_module


def main():
    run_module(dict(
        challenges=dict(type="list", elements="dict", required=True),
        nodes=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            address=dict(type="str", required=True),
            port=dict(type="int", default=80),
            https_port=dict(type="int", default=443),
        )),
        public_address=dict(type="str"),
        public_port=dict(type="int", default=80),
        public_https_port=dict(type="int", default=443),
        public_rounds=dict(type="int", default=0),
        check_public=dict(type="bool", default=True),
        timeout=dict(type="float", default=5),
        attempts=dict(type="int", default=2),
        retry_delay=dict(type="float", default=1),
        fail_on_miss=dict(type="bool", default=True),
    ), lambda module: check_module(module.params))


if __name__ == "__main__":
    main()
