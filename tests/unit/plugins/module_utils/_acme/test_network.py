from __future__ import annotations

import json

import josepy as jose
import pytest
import requests
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.certfleet.acme.plugins.module_utils._acme.network import (
    RetryingNetwork, RetryPolicy, parse_retry_after)


class FakeResponse(object):
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.ok = status < 400
        self.headers = dict(headers or {})
        self.headers.setdefault("Replay-Nonce", "bm9uY2U")
        self._body = body
        self.encoding = None
        self.text = json.dumps(body) if body is not None else ""
        self.content = self.text.encode()

    def json(self):
        if self._body is None:
            raise ValueError("no json")
        return self._body


def problem(status, typ, headers=None):
    hdrs = {"Content-Type": "application/problem+json"}
    hdrs.update(headers or {})
    return FakeResponse(status, {"type": "urn:ietf:params:acme:error:" + typ, "detail": typ}, hdrs)


class Script(object):
    """A requests session that plays back a list of responses (or exceptions)."""

    def __init__(self, items):
        self.items = list(items)
        self.calls = []

    def request(self, method, url, *args, **kwargs):
        self.calls.append((method, url, kwargs.get("timeout")))
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        pass


def network(items, **policy):
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = RetryingNetwork(key=key, alg=jose.ES256, timeout=7, policy=RetryPolicy(**policy), sleep=sleeps.append)
    net.session = Script(items)
    return net


sleeps = []


@pytest.fixture(autouse=True)
def _reset():
    del sleeps[:]


def ok():
    return FakeResponse(200, {"status": "valid"}, {"Content-Type": "application/json"})


def test_bad_nonce_retried_beyond_the_library_single_retry():
    net = network([problem(400, "badNonce")] * 5 + [ok()])
    net._nonces.add(b"start")
    assert net.post("https://ca/x", messages.NewRegistration()).json() == {"status": "valid"}
    assert len(net.session.calls) == 6          # the error responses' nonces were reused: no HEAD
    assert sleeps == []


def test_bad_nonce_bounded():
    net = network([problem(400, "badNonce")] * 4, nonce_retries=3)
    net._nonces.add(b"start")
    with pytest.raises(messages.Error):
        net.post("https://ca/x", messages.NewRegistration())
    assert len(net.session.calls) == 4


def test_rate_limit_honours_retry_after_with_cap():
    net = network([problem(429, "rateLimited", {"Retry-After": "3"}),
                   problem(503, "serverInternal", {"Retry-After": "999"}), ok()], retry_after_cap=30)
    net._nonces.add(b"start")
    net.post("https://ca/x", messages.NewRegistration())
    assert sleeps == [3.0, 30.0]


def test_connection_errors_retried_then_raised():
    net = network([requests.exceptions.ConnectionError("refused")] * 3, transient_retries=2, backoff_start=0.1)
    with pytest.raises(requests.exceptions.ConnectionError):
        net.get("https://ca/dir")
    assert sleeps == [0.1, 0.2]
    assert all(call[2] == 7 for call in net.session.calls)   # every request carries the timeout


def test_client_errors_not_retried():
    net = network([problem(403, "unauthorized"), ok()])
    net._nonces.add(b"start")
    with pytest.raises(messages.Error):
        net.post("https://ca/x", messages.NewRegistration())
    assert len(net.session.calls) == 1


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("garbage") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
