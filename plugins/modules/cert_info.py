#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cert_info
short_description: Inspect a certificate in a file, in text or served by TLS endpoints
version_added: 0.1.0
author: certfleet maintainers (@certfleet)
description:
  - Reads a certificate from a file on the host (O(path)), from text (O(content)) or from what
    live TLS endpoints serve (O(host) or O(endpoints)), and returns its names, serial, validity,
    key type and whether renewal is due.
  - Endpoints are probed with SNI; without O(ca_path) the certificate is not verified, since the
    point is to see what is served.
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: N/A
    details: The module never changes anything.
  idempotent:
    support: full
options:
  path:
    description:
      - A PEM (the first certificate counts, so a full chain is fine) or DER certificate file on
        the host.
    type: path
  content:
    description:
      - PEM text of a certificate (the first certificate counts).
      - Text that holds a private key (any C(PRIVATE KEY) PEM block) is refused without being
        echoed; the option is C(no_log), so a key pasted by mistake stays out of the logs too.
    type: str
  host:
    description:
      - Probe a single endpoint; the fields are returned at the top level and a failed probe
        fails the task.
    type: str
  port:
    description:
      - Port of O(host).
    type: int
    default: 443
  server_name:
    description:
      - SNI name sent to O(host). Defaults to O(host).
    type: str
  endpoints:
    description:
      - Probe several endpoints; the results are in RV(endpoints).
    type: list
    elements: dict
    suboptions:
      host:
        description: Host name or IP address to connect to.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        default: 443
      server_name:
        description: SNI name. Defaults to O(endpoints[].host).
        type: str
      expect_serial:
        description:
          - The serial (hex) this endpoint should serve. Its result then has RV(endpoints[].matches),
            and an endpoint that serves another certificate is probed again (O(retries)).
        type: str
      reject_serial:
        description:
          - The serial (hex) this endpoint must no longer serve (a decommissioned certificate).
            Without O(endpoints[].expect_serial), RV(endpoints[].matches) is true when another
            certificate (or none) answers, and an endpoint that still serves it is probed again.
        type: str
  retries:
    description:
      - With O(endpoints), how many more rounds probe the endpoints whose served serial is not
        their O(endpoints[].expect_serial) yet (a server reloading gracefully takes a moment).
    type: int
    default: 0
  delay:
    description: Seconds between two rounds of O(retries).
    type: float
    default: 1
  workers:
    description: With O(endpoints), how many endpoints are probed at the same time.
    type: int
    default: 16
  fail_on_error:
    description:
      - With O(endpoints), fail the task when any probe fails (the message names every failing
        endpoint, and RV(endpoints) is still returned). With V(false), failures are reported in
        RV(endpoints[].error) only.
    type: bool
    default: true
  timeout:
    description:
      - Connect and handshake timeout in seconds, per endpoint.
    type: float
    default: 10
  ca_path:
    description:
      - CA file or directory to verify the served chain against (the host name is not checked).
    type: path
  alpn:
    description:
      - ALPN protocols to offer, for example V(h2) and V(http/1.1); the chosen one is returned in
        RV(alpn_protocol).
    type: list
    elements: str
  renew_before_days:
    description:
      - Renewal is due this many days before expiry. By default renewal is due when a third of
        the lifetime remains (half for lifetimes under ten days).
    type: float
notes:
  - Exactly one of O(path), O(content), O(host) and O(endpoints) is required.
seealso:
  - module: certfleet.acme.cert_install
"""

EXAMPLES = r"""
- name: Inspect the installed certificate
  certfleet.acme.cert_info:
    path: /etc/certfleet/certs/www.example.com/fullchain.pem
  register: __certfleet_info

- name: Check what the node serves for each name
  certfleet.acme.cert_info:
    endpoints:
      - host: 127.0.0.1
        server_name: www.example.com
      - host: 127.0.0.1
        port: 8443
        server_name: api.example.com
    alpn: [h2, http/1.1]
  register: __certfleet_served

- name: Fail if the served certificate is not the installed one
  ansible.builtin.assert:
    that: __certfleet_served.endpoints | map(attribute='serial') | unique == [__certfleet_info.serial]
"""

RETURN = r"""
subject:
  description: Subject, RFC 4514 string.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: CN=www.example.com
common_name:
  description: Common name of the subject, null if none.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: www.example.com
names:
  description: DNS names followed by IP addresses of the subject alternative name extension.
  returned: when O(path), O(content) or O(host) is used
  type: list
  elements: str
  sample: [www.example.com, example.com, 192.0.2.10]
dns_names:
  description: The DNS names only.
  returned: when O(path), O(content) or O(host) is used
  type: list
  elements: str
  sample: [www.example.com, example.com]
ip_addresses:
  description: The IP addresses only.
  returned: when O(path), O(content) or O(host) is used
  type: list
  elements: str
  sample: [192.0.2.10]
issuer:
  description: Issuer, RFC 4514 string.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: CN=R11,O=Let's Encrypt,C=US
serial:
  description: Serial number, lower-case hex without colons.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: 4a3f1c0de0b2e1f39a7c
not_before:
  description: Start of validity, ISO 8601 in UTC.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: '2026-11-01T08:00:00Z'
not_after:
  description: End of validity, ISO 8601 in UTC.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: '2027-01-30T08:00:00Z'
days_left:
  description: Days until expiry, one decimal; negative once expired.
  returned: when O(path), O(content) or O(host) is used
  type: float
  sample: 61.3
key_type:
  description: V(ec-p256), V(ec-p384), V(ec-p521), C(rsa-<bits>) such as V(rsa-2048), or V(ed25519).
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: ec-p256
fingerprint_sha256:
  description: SHA-256 of the certificate DER, lower-case hex.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
spki_sha256:
  description: SHA-256 of the SubjectPublicKeyInfo DER (identifies the key), lower-case hex.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
renewal_due:
  description: Whether renewal is due now (see O(renew_before_days)).
  returned: when O(path), O(content) or O(host) is used
  type: bool
  sample: false
renewal_reason:
  description: Why renewal is or is not due.
  returned: when O(path), O(content) or O(host) is used
  type: str
  sample: valid until 2027-01-30T08:00:00Z, renewal from 2027-01-01T08:00:00Z
alpn_protocol:
  description: ALPN protocol the endpoint chose, null if none.
  returned: when O(host) is used
  type: str
  sample: h2
endpoints:
  description:
    - One result per O(endpoints) item, in order.
    - Besides the keys below, each has the certificate fields returned for a single source
      (RV(subject) to RV(renewal_reason)) and RV(alpn_protocol); they are null when the probe failed.
  returned: when O(endpoints) is used
  type: list
  elements: dict
  contains:
    host:
      description: O(endpoints[].host).
      type: str
      sample: 127.0.0.1
    port:
      description: O(endpoints[].port).
      type: int
      sample: 443
    server_name:
      description: SNI name sent.
      type: str
      sample: www.example.com
    error:
      description: Why the probe failed, null on success.
      type: str
    matches:
      description: Whether the endpoint serves O(endpoints[].expect_serial).
      type: bool
      returned: when O(endpoints[].expect_serial) is set
      sample: "TLS probe of 127.0.0.1:443 (SNI www.example.com): connection refused"
mismatch_count:
  description: Number of endpoints that do not serve their O(endpoints[].expect_serial).
  returned: when any O(endpoints[].expect_serial) is set
  type: int
  sample: 0
failed_count:
  description: Number of endpoints whose probe failed.
  returned: when O(endpoints) is used
  type: int
  sample: 0
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import info


def main() -> None:
    argument_spec = info.argument_spec()
    run_module(argument_spec, lambda module: info.run(module.params),
               mutually_exclusive=[info.SOURCES], required_one_of=[info.SOURCES])


if __name__ == "__main__":
    main()
