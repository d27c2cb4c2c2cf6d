# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """The shared ACME options; kept in step with _acme/spec.py ACME_OPTIONS by a unit test."""

    DOCUMENTATION = r"""
options:
  directory_url:
    description:
      - URL of the ACME directory, for example V(https://acme-v02.api.letsencrypt.org/directory).
      - Set it once for all ACME modules with C(module_defaults) and C(group/certfleet.acme.acme).
    type: str
    required: true
  store_dir:
    description:
      - The store directory on the host the module runs on (the store host). It keeps the account
        key and URI, certificate keys, issued chains, pending orders and locks between runs.
      - In AWX, point it at a persistent store host, not at the ephemeral execution environment.
    type: path
    default: ~/.certfleet
  account_name:
    description:
      - Name of the account in the store. Accounts are kept per directory URL and name.
      - Letters, digits, V(.), V(_) and V(-), starting with a letter or digit, without V(..) (it
        names a directory in the store); anything else fails before anything changes.
    type: str
    default: default
  account_key_src:
    description:
      - Path to the account private key (PEM) on the store host. Overrides the key in the store.
      - Mutually exclusive with O(account_key_content).
    type: path
  account_key_content:
    description:
      - The account private key as PEM text, for example from an AWX credential.
      - Mutually exclusive with O(account_key_src).
    type: str
  ca_bundle:
    description:
      - CA bundle used to verify the ACME server's TLS certificate (for a private or test CA).
    type: path
  validate_certs:
    description:
      - Whether to verify the ACME server's TLS certificate. Only switch off for tests.
    type: bool
    default: true
  request_timeout:
    description:
      - Timeout in seconds of every HTTP request to the ACME server.
    type: float
    default: 20.0
  poll_timeout:
    description:
      - Total time in seconds to wait for validations and finalization. Polling starts at 20 ms
        and backs off to one second, honouring Retry-After.
    type: float
    default: 120.0
requirements:
  - acme (certbot's ACME library) >= 5.0
  - josepy
  - cryptography
"""
