from __future__ import annotations

import datetime
import json

from acme import challenges, messages

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import ProtocolError
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme import authz
from ansible_collections.certfleet.acme.plugins.module_utils._acme.orders import OrderRunner, Want
from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

DIR = "https://ca.example/dir"
NOW = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
ORDER = "https://ca.example/order/1"


class FakeCA(object):
    """Orders and authorizations by URL; validation of the names in ``fails`` fails, and the other
    authorizations are never looked at by the CA (they stay pending)."""

    def __init__(self, names, fails=(), order_status="pending"):
        self.authz = {"https://ca.example/authz/%s" % n: (n, "pending") for n in names}
        self.orders = {ORDER: order_status}
        self.fails = set(fails)
        self.deactivated = []
        self.broken = set()

    def _authz(self, url):
        if url in self.broken:
            raise ProtocolError("ACME server refused the authorization: serverInternal")
        name, status = self.authz[url]
        chall = messages.ChallengeBody(chall=challenges.HTTP01(token=b"t" * 32), uri=url + "/http-01",
                                       status=messages.STATUS_PENDING)
        return messages.Authorization(identifier=messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name),
                                      status=messages.Status(status), challenges=(chall,))


class FakeConn(object):
    def __init__(self, ca):
        self.ca = ca
        self.directory = {}
        self.account_uri = "https://ca.example/acct/1"
        self.new_orders = []

    def get_order(self, url):
        return messages.Order(status=messages.Status(self.ca.orders[url]),
                              authorizations=[u for u in self.ca.authz if url == ORDER], identifiers=())

    def get_authorization(self, url):
        return self.ca._authz(url)

    def answer(self, chall_url):
        url = chall_url.rsplit("/", 1)[0]
        name, _status = self.ca.authz[url]
        if name in self.ca.fails:
            self.ca.authz[url] = (name, "invalid")

    def poller(self):
        return None

    def wait_authorizations(self, urls, poller):
        return {url: self.get_authorization(url) for url in urls if self.ca.authz[url][0] in self.ca.fails}

    def post(self, url, body, what, **kwargs):
        assert json.loads(body.json_dumps()) == {"status": "deactivated"}
        name, status = self.ca.authz[url]
        assert status == "pending", "only pending authorizations are deactivated"
        self.ca.authz[url] = (name, "deactivated")
        self.ca.deactivated.append(name)

    def new_order(self, identifiers, profile=None, replaces=None):
        self.new_orders.append(identifiers)
        return "https://ca.example/order/2", messages.Order(status=messages.STATUS_READY, authorizations=[])


def test_only_pending_authorizations_are_deactivated_best_effort():
    ca = FakeCA(["a.test", "b.test", "c.test", "d.test"])
    ca.authz["https://ca.example/authz/b.test"] = ("b.test", "valid")
    ca.authz["https://ca.example/authz/c.test"] = ("c.test", "invalid")
    ca.broken.add("https://ca.example/authz/a.test")
    done = authz.deactivate_pending(FakeConn(ca), list(ca.authz))
    assert done == ["https://ca.example/authz/d.test"] and ca.deactivated == ["d.test"]
    assert authz.deactivate_order(FakeConn(ca), None) == []


def _pending_store(tmp_path, names):
    store = Store(str(tmp_path))
    store.write_pending("site", {"order_url": ORDER, "directory_url": DIR, "identifiers": names,
                                 "key_type": "ec-p256", "challenge": "http-01", "profile": None},
                        keys.key_to_pem(keys.generate_key("ec-p256")))
    return store


def test_failed_validation_deactivates_the_other_pending_authorizations(tmp_path):
    names = ["a.test", "b.test"]
    ca = FakeCA(names, fails=["a.test"])
    conn = FakeConn(ca)
    conn.answer = lambda url: FakeConn.answer(conn, url) if "a.test" in url else None   # b never validated
    store = _pending_store(tmp_path, names)
    runner = OrderRunner(store, DIR, lambda: conn, now=NOW)
    result = runner.run_all([Want({"name": "site", "identifiers": names}, {})], runner.complete)[0]
    assert result["status"] == "failed" and "validation failed" in result["error"]
    assert ca.deactivated == ["b.test"]
    assert store.read_pending("site") == (None, None)


def test_an_order_given_up_for_another_one_is_deactivated(tmp_path):
    ca = FakeCA(["a.test"])
    conn = FakeConn(ca)
    store = _pending_store(tmp_path, ["a.test"])
    runner = OrderRunner(store, DIR, lambda: conn, now=NOW)
    result = runner.run_all([Want({"name": "site", "identifiers": ["a.test", "b.test"]}, {})], runner.prepare)[0]
    assert result["status"] == "pending" and result["order_url"] == "https://ca.example/order/2"
    assert ca.deactivated == ["a.test"] and conn.new_orders == [[("dns", "a.test"), ("dns", "b.test")]]
