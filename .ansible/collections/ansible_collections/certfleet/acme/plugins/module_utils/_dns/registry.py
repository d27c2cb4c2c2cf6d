# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS providers by name: one import per provider file. Private to this collection.

Adding a provider: a file under providers/ with a class ``Provider`` and its line here.
Imports are static so that Ansible ships every provider with the module.
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._dns.providers import (
    alidns, cloudflare, dnspod, powerdns, rfc2136, route53)

PROVIDERS = dict((p.name, p) for p in (
    rfc2136.Provider,
    powerdns.Provider,
    cloudflare.Provider,
    route53.Provider,
    alidns.Provider,
    dnspod.Provider,
))  # type: t.Dict[str, t.Any]


def provider_names() -> t.List[str]:
    return sorted(PROVIDERS)
