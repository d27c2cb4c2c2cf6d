#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: haproxy_http01
short_description: Stateless ACME http-01 on HAProxy (every token answered with the account thumbprint)
version_added: 0.2.0
author: certfleet maintainers (@certfleet)
description:
  - Puts one rule at the top of the frontend O(frontend) of the HAProxy configuration O(config)
    that answers every C(/.well-known/acme-challenge/<token>) request itself with
    C(<token>.<thumbprint>) (text/plain, status 200), so that no token file and no back-end is
    needed for any order of that ACME account (acme.sh's stateless mode).
  - The rule is C(http-request return status 200 content-type text/plain lf-string
    "%[path,field(4,/)].<thumbprint>" if { path_reg ^/\.well-known/acme-challenge/[-_a-zA-Z0-9]+$ }),
    between two marker comments this module owns; it comes before every other rule of the
    frontend, so an HTTP-to-HTTPS redirect there cannot catch the challenge path. HAProxy 2.2 or later.
  - HAProxy has no include for the lines of a section and its runtime API cannot add
    C(http-request) rules, so the configuration file itself is edited. C(haproxy -c) checks it, a
    graceful reload applies it; a failed check or reload puts the previous file back.
  - O(state=absent) removes the rule (for example when the fleet goes back to token files).
  - Runs with the Python standard library only.
extends_documentation_fragment:
  - certfleet.acme.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: The configuration file's text before and after.
  idempotent:
    support: full
options:
  config:
    description: The HAProxy configuration file that holds O(frontend).
    type: path
    required: true
  config_files:
    description: Every file HAProxy loads, for C(haproxy -c -f ...). Default O(config) alone.
    type: list
    elements: path
  frontend:
    description: The C(frontend) (or C(listen)) section of port 80.
    type: str
    required: true
  thumbprint:
    description: The ACME account's thumbprint, RV(certfleet.acme.account#module:thumbprint). Required with O(state=present).
    type: str
  state:
    description: V(present) writes the rule (replacing one of another thumbprint), V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  haproxy_path:
    description: The HAProxy program for C(haproxy -c).
    type: path
    default: haproxy
  reload_command:
    description: The graceful reload, unless O(master_pid_file) is given.
    type: raw
    default: [systemctl, reload, haproxy]
  master_pid_file:
    description: Reload by sending C(SIGUSR2) to the master process whose pid this file holds.
    type: path
"""

EXAMPLES = r"""
- name: The ACME account (its thumbprint answers every http-01 token)
  certfleet.acme.account:
    directory_url: https://acme-v02.api.letsencrypt.org/directory
    terms_agreed: true
  delegate_to: localhost
  run_once: true
  register: account

- name: HAProxy answers every http-01 token of that account itself
  certfleet.acme.haproxy_http01:
    config: /etc/haproxy/haproxy.cfg
    frontend: http_in
    thumbprint: "{{ account.thumbprint }}"
"""

RETURN = r"""
config:
  description: O(config).
  returned: always
  type: str
frontend:
  description: O(frontend).
  returned: always
  type: str
state:
  description: O(state).
  returned: always
  type: str
rule:
  description: The managed rule (O(state=present)), null with O(state=absent).
  returned: always
  type: str
  sample: 'http-request return status 200 content-type text/plain lf-string "%[path,field(4,/)].Zm9v..." if { ... }'
reloaded:
  description: Whether HAProxy was reloaded.
  returned: always
  type: bool
validate_output:
  description: What C(haproxy -c) printed, when it ran.
  returned: always
  type: str
"""

from ansible_collections.certfleet.acme.plugins.module_utils._common.module import run_module
from ansible_collections.certfleet.acme.plugins.module_utils._targets import haproxy, haproxy_http01

ARGUMENT_SPEC = dict(
    config=dict(type="path", required=True),
    config_files=dict(type="list", elements="path"),
    frontend=dict(type="str", required=True),
    thumbprint=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    haproxy_path=dict(type="path", default="haproxy"),
    reload_command=dict(type="raw", default=list(haproxy.DEFAULT_RELOAD)),
    master_pid_file=dict(type="path"),
)


def main() -> None:
    run_module(ARGUMENT_SPEC,
               lambda module: haproxy_http01.run(module.params, module.check_mode, module._diff))


if __name__ == "__main__":
    main()
