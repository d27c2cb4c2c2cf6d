# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """Options shared by the TLS-server target modules (haproxy_cert, traefik_cert); kept in step
    with _targets/deploy.py TARGET_OPTIONS by a unit test. Each module documents its own
    certificates option (the shared suboptions of CERTIFICATE_OPTIONS plus its own)."""

    DOCUMENTATION = r"""
options:
  verify:
    description:
      - TLS endpoints that must serve the new certificates after the change. A TLS handshake
        with SNI is repeated until each returns the expected serial or O(verify_timeout) passes.
        If one does not, the previous files are put back (and served again) and the task fails
        naming the endpoint and what it served.
      - With files already in place, one handshake per endpoint checks that the server serves
        them; if not, the change is applied again (RV(reason=served)).
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Address to connect to, for example the server's own address.
        type: str
        required: true
      port:
        description: TCP port.
        type: int
        default: 443
      server_name:
        description: SNI name to send. Defaults to O(verify[].host).
        type: str
      certificate:
        description:
          - The O(certificates[].name) this endpoint must serve. Defaults to the certificate whose
            names cover O(verify[].server_name), or the only one.
        type: str
  verify_timeout:
    description:
      - Seconds to wait until every O(verify) endpoint serves its new serial.
    type: float
    default: 30.0
  owner:
    description:
      - Owner of the files. Defaults to the current user.
    type: str
  group:
    description:
      - Group of the files.
    type: str
  backup:
    description:
      - Keep the current set as the backup (C(.certfleet-prev)) before replacing it, for
        O(state=rollback) in a later task. The module's own roll-back after a failed check does
        not need it.
    type: bool
    default: true
  state:
    description:
      - V(present) installs the certificates and makes the server serve them.
      - V(rollback) restores the backup set of the named certificates and makes the server serve
        it (for example when a check from outside failed after the task).
      - V(commit) removes the backup set of the named certificates (and of the shared files), once
        a check from outside confirmed the new ones, so that no previous private key stays on the
        node. The role P(certfleet.acme.certificate#role) does this after its TLS check.
    type: str
    choices: [present, rollback, commit]
    default: present
"""
