# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DNS provider's options from the controller's environment (plugins/plugin_utils/dns_env.py)."""

from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._dns.registry import PROVIDERS
from ansible_collections.certfleet.acme.plugins.plugin_utils.dns_env import provider_options

PDNS = {"PDNS_API_URL": "http://127.0.0.1:8081", "PDNS_API_KEY": "s3cret", "CF_API_TOKEN": "other"}


@pytest.mark.parametrize("provider, explicit, environ, options, from_env", [
    # The provider's declared variables, nobody else's.
    ("powerdns", {}, PDNS, {"api_url": "http://127.0.0.1:8081", "api_key": "s3cret"}, ["api_key", "api_url"]),
    # Explicit options win; a None option is not an explicit one.
    ("powerdns", {"api_key": "given", "server_id": None}, PDNS,
     {"api_url": "http://127.0.0.1:8081", "api_key": "given"}, ["api_url"]),
    # An empty variable is not set.
    ("powerdns", None, {"PDNS_API_KEY": ""}, {}, []),
    # No provider (http-01): the explicit options only.
    (None, {"x": 1}, PDNS, {"x": 1}, []),
    ("", None, PDNS, {}, []),
])
def test_provider_options(provider, explicit, environ, options, from_env):
    assert provider_options(provider, explicit, environ) == (options, from_env)


def test_every_provider_declares_its_credentials_in_the_environment():
    # A secret the role cannot take from the controller would not reach a remote store host
    # from AWX; every secret option has an environment variable.
    for name, provider in PROVIDERS.items():
        for key, option in provider.options.items():
            if option.secret:
                assert option.env, "%s.%s" % (name, key)


def test_first_declared_variable_wins():
    provider = next(p for p in PROVIDERS.values() if any(len(o.env) > 1 for o in p.options.values()))
    key, option = next((k, o) for k, o in provider.options.items() if len(o.env) > 1)
    environ = {option.env[0]: "first", option.env[1]: "second"}
    assert provider_options(provider.name, None, environ)[0][key] == "first"


def test_unknown_provider():
    with pytest.raises(InputError, match="unknown DNS provider 'nope'"):
        provider_options("nope", None, {})
