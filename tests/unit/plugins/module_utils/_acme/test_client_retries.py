"""A fake CA behind the real client: requests that time out after the CA acted are not repeated."""
from __future__ import annotations

import base64
import json

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import AcmeConnection

CA = "https://ca.test"


class Response(object):
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.ok = status < 400
        self.headers = {"Replay-Nonce": "bm9uY2U", "Content-Type": "application/json"}
        if status >= 400:
            self.headers["Content-Type"] = "application/problem+json"
        self.headers.update(headers or {})
        self._body = body
        self.encoding = None
        self.text = json.dumps(body) if body is not None else ""
        self.content = self.text.encode()

    def json(self):
        return self._body


def problem(status, typ):
    return Response(status, {"type": "urn:ietf:params:acme:error:" + typ, "detail": typ})


class FakeCA(object):
    """A tiny ACME server as a requests session: orders, finalization, the account's orders list.

    ``lose`` names the endpoints ('new-order', 'finalize') whose first request is processed and
    then answered with a read timeout (the answer is lost on the way back)."""

    def __init__(self, lose=(), orders_list=True):
        self.lose = set(lose)
        self.orders_list = orders_list
        self.orders = {}
        self.posts = []
        self.chall = "pending"

    def close(self):
        pass

    def request(self, method, url, *args, **kwargs):
        path = url[len(CA):]
        if method == "GET" and path == "/dir":
            return Response(200, {"newNonce": CA + "/nonce", "newAccount": CA + "/acct",
                                  "newOrder": CA + "/new-order"})
        if path == "/nonce":
            return Response(200)
        jws = json.loads(kwargs["data"])
        raw = jws["payload"]
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))) if raw else None
        endpoint = path.strip("/").split("/")[0]
        self.posts.append(endpoint)
        response = self.handle(endpoint, path, payload)
        if endpoint in self.lose:
            self.lose.discard(endpoint)
            raise requests.exceptions.ReadTimeout("read timed out")
        return response

    def order_json(self, n):
        order = self.orders[n]
        body = {"status": order["status"], "identifiers": order["identifiers"], "authorizations": [],
                "finalize": "%s/finalize/%d" % (CA, n), "expires": "2030-01-01T00:00:%02dZ" % n}
        if order["status"] == "valid":
            body["certificate"] = "%s/cert/%d" % (CA, n)
        return body

    def handle(self, endpoint, path, payload):
        if endpoint == "new-order":
            n = len(self.orders) + 1
            self.orders[n] = {"status": "ready", "identifiers": payload["identifiers"]}
            return Response(201, self.order_json(n), {"Location": "%s/order/%d" % (CA, n)})
        if endpoint == "order":
            n = int(path.split("/")[-1])
            if self.orders[n]["status"] == "processing":
                self.orders[n]["status"] = "valid"
                return Response(200, dict(self.order_json(n), status="processing"))
            return Response(200, self.order_json(n))
        if endpoint == "finalize":
            n = int(path.split("/")[-1])
            if self.orders[n]["status"] != "ready":
                return problem(403, "orderNotReady")
            self.orders[n]["status"] = "processing"
            return Response(200, self.order_json(n))
        if endpoint == "chall":
            if payload is None:
                return Response(200, {"type": "http-01", "url": CA + path, "token": "t", "status": self.chall})
            if self.chall != "pending":
                return problem(400, "malformed")
            self.chall = "processing"
            return Response(200, {"type": "http-01", "url": CA + path, "token": "t", "status": "processing"})
        if endpoint == "acct":
            body = {"status": "valid"}
            if self.orders_list:
                body["orders"] = CA + "/orders"
            return Response(200, body)
        if endpoint == "orders":
            return Response(200, {"orders": ["%s/order/%d" % (CA, n) for n in self.orders]})
        raise AssertionError("unexpected request " + path)


def connect(ca):
    conn = AcmeConnection(CA + "/dir", ec.generate_private_key(ec.SECP256R1()), poll_timeout=5)
    conn.account_uri = CA + "/acct/1"
    conn.net().session = ca
    return conn


def test_a_lost_finalize_answer_is_not_posted_again():
    ca = FakeCA(lose={"finalize"})
    conn = connect(ca)
    url, order = conn.new_order([("dns", "a.test")])
    csr = keys.make_csr(keys.generate_key("ec-p256"), ["a.test"])
    done = conn.finalize(url, order, csr, conn.poller())
    assert done.status.name == "valid"
    assert ca.posts.count("finalize") == 1     # re-read the order instead (no orderNotReady)


def test_a_lost_new_order_answer_finds_the_order_instead_of_creating_a_second():
    ca = FakeCA(lose={"new-order"})
    conn = connect(ca)
    url, order = conn.new_order([("dns", "a.test"), ("dns", "b.test")])
    assert url == CA + "/order/1" and order.status.name == "ready"
    assert len(ca.orders) == 1 and ca.posts.count("new-order") == 1


def test_a_lost_new_order_without_an_orders_list_fails_clearly_without_a_second_order():
    ca = FakeCA(lose={"new-order"}, orders_list=False)
    conn = connect(ca)
    with pytest.raises(ProtocolError, match="may have created an order.*not sent again"):
        conn.new_order([("dns", "a.test")])
    assert len(ca.orders) == 1


def test_a_new_order_that_never_reached_the_ca_is_sent_again():
    class Unsent(FakeCA):
        def request(self, method, url, *args, **kwargs):
            if url.endswith("/new-order") and not getattr(self, "dropped", False):
                self.dropped = True   # dropped before the CA saw it: nothing created
                raise requests.exceptions.ReadTimeout("read timed out")
            return super().request(method, url, *args, **kwargs)
    ca = Unsent()
    url, _order = connect(ca).new_order([("dns", "a.test")])
    assert url == CA + "/order/1" and len(ca.orders) == 1


def test_a_lost_challenge_answer_repeated_and_refused_counts_as_answered():
    # Pebble refuses an answer to a challenge that is no longer pending (malformed); the first
    # answer reached it, so the challenge is processing: that is not an error.
    ca = FakeCA(lose={"chall"})
    connect(ca).answer(CA + "/chall/1")
    assert ca.chall == "processing"
    assert ca.posts == ["chall", "chall", "chall"]


def test_a_refused_answer_to_a_pending_challenge_is_still_an_error():
    ca = FakeCA()
    ca.handle = lambda endpoint, path, payload: problem(400, "malformed")
    with pytest.raises(ProtocolError, match="the challenge answer: malformed"):
        connect(ca).answer(CA + "/chall/1")
