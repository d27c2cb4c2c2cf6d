from __future__ import annotations

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    is_safe_name, normalize_identifier, normalize_identifiers, validate_certificate_name)


def test_dns_and_ip_normalized():
    assert normalize_identifier("WWW.Example.TEST.", "http-01", "c") == ("dns", "www.example.test")
    assert normalize_identifier("127.0.0.1", "http-01", "c") == ("ip", "127.0.0.1")
    assert normalize_identifier("::1", "http-01", "c") == ("ip", "::1")
    assert normalize_identifier("*.example.test", "dns-01", "c") == ("dns", "*.example.test")


@pytest.mark.parametrize("value", ["", "   ", None, "no_underscore.example", "-bad.example", "single",
                                   "a..b", "x" * 64 + ".example", "exa mple.test"])
def test_invalid_identifiers(value):
    with pytest.raises(InputError) as info:
        normalize_identifier(value, "http-01", "web")
    assert "web" in info.value.msg


def test_wildcard_needs_dns01():
    with pytest.raises(InputError, match="wildcards need dns-01"):
        normalize_identifiers(["*.example.test"], "http-01", "wild")


def test_list_rules():
    assert normalize_identifiers(["a.example", "A.example", "b.example"], "http-01", "c") == ["a.example", "b.example"]
    with pytest.raises(InputError, match="at least one identifier"):
        normalize_identifiers([], "http-01", "c")
    with pytest.raises(InputError, match="unknown challenge"):
        normalize_identifiers(["a.example"], "tls-alpn-01", "c")


@pytest.mark.parametrize("name", ["../etc", "a/b", ".", "..", "", "-x", ".hidden", "*.example.test",
                                  "x" * 129, "a b", None])
def test_certificate_names(name):
    with pytest.raises(InputError):
        validate_certificate_name(name)
    assert validate_certificate_name("example.test") == "example.test"


@pytest.mark.parametrize("name", ["example.test", "wildcard.example.test", "a", "A_b-c.9", "x" * 128])
def test_valid_certificate_names(name):
    assert validate_certificate_name(name) == name and is_safe_name(name)
