# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS provider's options from the controller's environment. Private to this collection.

The providers read their credentials from the environment of the host the module runs on (the
store host). AWX and execution environments inject a credential's variables on the controller,
so the role reads the variables each provider declares (``Option.env``) here, on the controller,
and passes them to dns_challenge as ``provider_options`` (whose secret options are ``no_log``).
"""

from __future__ import annotations

import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS, provider_names


def provider_options(provider: t.Optional[str], explicit: t.Optional[t.Mapping[str, t.Any]],
                     environ: t.Mapping[str, str]) -> t.Tuple[t.Dict[str, t.Any], t.List[str]]:
    """(options, names taken from the environment): every option of ``provider`` whose declared
    environment variable is set and not empty, then the explicit options (not None) over them."""
    given = dict((k, v) for k, v in (explicit or {}).items() if v is not None)
    if not provider:
        return given, []
    if provider not in PROVIDERS:
        raise InputError("unknown DNS provider %r (known: %s)" % (provider, ", ".join(provider_names())))
    options = {}  # type: t.Dict[str, t.Any]
    for key, option in PROVIDERS[provider].options.items():
        for var in option.env:
            if environ.get(var):
                options[key] = environ[var]
                break
    from_env = sorted(k for k in options if k not in given)
    options.update(given)
    return options, from_env
