# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dns-01 option group of the dns_challenge module, built from the provider registry.
Private to this collection.

plugins/doc_fragments/dns.py documents exactly DNS_OPTIONS (its provider_options part is generated
from the same registry); a unit test keeps the two in step.
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS, provider_names


def provider_options_spec() -> t.Dict[str, t.Dict[str, t.Any]]:
    """The union of all providers' options; an option name shared by two providers must mean
    the same type (and secrecy) in both."""
    union = {}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for name in provider_names():
        for key, option in PROVIDERS[name].options.items():
            spec = option.argument_spec()
            if key in union and union[key] != spec:
                raise ValueError("provider option %s of %s conflicts with another provider's" % (key, name))
            union[key] = spec
    return union


DNS_OPTIONS = {
    "provider": {"type": "str", "required": True, "choices": provider_names()},
    "provider_options": {"type": "dict", "options": provider_options_spec()},
    "dns_resolvers": {"type": "list", "elements": "str"},
    "propagation_timeout": {"type": "float", "default": 120.0},
    "record_ttl": {"type": "int"},
    "follow_cnames": {"type": "bool", "default": True},
}  # type: t.Dict[str, t.Dict[str, t.Any]]


def secret_option_names() -> t.List[str]:
    return sorted(set(key for p in PROVIDERS.values() for key, o in p.options.items() if o.secret))
