from __future__ import annotations

import http.server
import threading

import pytest

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._probe.preflight import (
    check_module, judge, run_preflight, table)

TOKEN = "tok_123"
PATH = ".well-known/acme-challenge/" + TOKEN
KEYAUTH = TOKEN + ".thumb"


def serve(answers):
    """A local HTTP server answering the challenge path with answers[Host] (or 404)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = answers.get(self.headers["Host"])
            if self.path != "/" + PATH or body is None:
                self.send_response(301 if body == "redirect" else 404)
                self.send_header("Location", "https://x/")
                self.end_headers()
                return
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def good():
    server = serve({"a.example.test": KEYAUTH})
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def bad():
    server = serve({"a.example.test": "something else"})
    yield server.server_address[1]
    server.shutdown()


def params(nodes, **over):
    base = {"challenges": [{"certificate": "a", "identifier": "a.example.test", "type": "http-01",
                            "path": PATH, "content": KEYAUTH, "token": TOKEN},
                           {"certificate": "a", "type": "dns-01", "record": "_acme-challenge.a", "value": "v"}],
            "nodes": nodes, "public_address": None, "public_port": 80, "public_rounds": 0,
            "check_public": False, "timeout": 2, "attempts": 1, "retry_delay": 0, "fail_on_miss": True}
    base.update(over)
    return base


def test_all_nodes_serve(good):
    changed, result = check_module(params([{"name": "web1", "address": "127.0.0.1", "port": good}]))
    assert changed is False and result["misses"] == [] and result["fetches"] == 1


def test_a_node_serving_other_content_is_named(good, bad):
    nodes = [{"name": "web1", "address": "127.0.0.1", "port": good},
             {"name": "web2", "address": "127.0.0.1", "port": bad}]
    with pytest.raises(TargetError) as info:
        check_module(params(nodes))
    assert info.value.details["nodes_missing"] == ["web2"]
    assert "web2" in info.value.msg and "other content" in info.value.msg and "not asked" in info.value.msg


def test_public_rounds_and_report_only(bad):
    changed, result = check_module(params([], check_public=True, public_address="127.0.0.1",
                                          public_port=bad, public_rounds=3, fail_on_miss=False))
    assert len(result["misses"]) == 3 and result["nodes_missing"] == []
    assert result["table"][0].startswith("NODE")


def test_retry_fetches_only_missed_tokens_again(bad):
    sleeps = []
    result = run_preflight([{"node": "w", "address": "127.0.0.1", "port": bad}],
                           [{"certificate": "a", "identifier": "a.example.test", "path": PATH, "content": KEYAUTH}],
                           None, timeout=2, attempts=3, delay=0.5, sleep=sleeps.append)
    assert sleeps == [0.5, 0.5] and len(result["misses"]) == 1


def test_judge_and_unreachable():
    assert judge(200, KEYAUTH + "\n", KEYAUTH) is None
    assert judge(404, "Not Found", KEYAUTH) == "HTTP 404 Not Found"
    assert judge(None, "ConnectionRefusedError: refused", KEYAUTH).startswith("ConnectionRefused")
    result = run_preflight([{"node": "w", "address": "127.0.0.1", "port": 1}],
                           [{"certificate": "a", "identifier": "a.example.test", "path": PATH, "content": KEYAUTH}],
                           None, timeout=1, attempts=1)
    assert "Connection" in result["misses"][0]["got"]
    assert len(table(result["misses"])) == 2


def test_entries_without_content_are_refused():
    with pytest.raises(InputError):
        check_module(params([], challenges=[{"type": "http-01", "identifier": "a.example.test"}]))
