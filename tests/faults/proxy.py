# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault-injecting HTTPS proxy in front of Pebble, for the fault suite (standard library only).

It terminates TLS with the lab's Pebble listener certificate (lab CA, SAN 127.0.0.1), so clients
that trust the lab CA trust it too, and forwards every request to Pebble over TLS with the
client's Host header. Pebble builds every URL of its directory and its answers from the Host
header of the request, so the URLs the clients get point at the proxy: nothing is rewritten.

Faults are rules, each matched against the method and path of a request and used a given number of
times. Actions:
  status         answer STATUS (ACME problem document) without asking Pebble (the CA did nothing)
  status_after   forward to Pebble, then answer STATUS instead of Pebble's answer (the CA acted)
  drop           close the connection without an answer, without asking Pebble
  drop_after     forward to Pebble, then close the connection without an answer
  slow_after     forward to Pebble, then hold Pebble's answer for DELAY seconds before sending it
Every newOrder answer Pebble gives is recorded (order URL, identifiers), so the suite counts the
orders each certificate got, including those whose answer the client never saw.
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import ssl
import threading
import time
import typing as t

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Rule:
    def __init__(self, name: str, path: str, action: str, method: str = "POST", times: int = 1,
                 status: int = 503, retry_after: t.Optional[str] = None, delay: float = 0.0) -> None:
        self.name, self.path, self.action, self.method = name, path, action, method
        self.times, self.status, self.retry_after, self.delay = times, status, retry_after, delay
        self.used = 0

    def matches(self, method: str, path: str) -> bool:
        return self.used < self.times and method == self.method and self.path in path


class FaultProxy:
    """Listen on LISTEN (host, port), forward to UPSTREAM (host, port) over TLS."""

    def __init__(self, listen: t.Tuple[str, int], upstream: t.Tuple[str, int], cert: str, key: str,
                 ca_bundle: str) -> None:
        self.upstream = upstream
        self.lock = threading.Lock()
        self.rules: t.List[Rule] = []
        self.orders: t.List[t.Dict[str, t.Any]] = []   # every order Pebble created through us
        self.events: t.List[t.Tuple[float, str, str, int]] = []  # (time, method, path, status)
        self.injected: t.List[str] = []
        self.listeners: t.List[t.Callable[[str, str, int], None]] = []
        self.client_ctx = ssl.create_default_context(cafile=ca_bundle)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: t.Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            do_POST = do_HEAD = do_GET

        self.server = http.server.ThreadingHTTPServer(listen, Handler)
        self.server.daemon_threads = True
        # A client killed mid-request (kill -9 faults) is expected, not worth a traceback.
        self.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.server.socket = server_ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- control ---------------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set_rules(self, rules: t.Sequence[Rule]) -> None:
        with self.lock:
            self.rules = list(rules)

    def unused_rules(self) -> t.List[str]:
        with self.lock:
            return [r.name for r in self.rules if r.used < r.times]

    def take_injected(self) -> t.List[str]:
        with self.lock:
            out, self.injected = self.injected, []
            return out

    # -- one request -----------------------------------------------------------------------------
    def _rule_for(self, method: str, path: str) -> t.Optional[Rule]:
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.used += 1
                    self.injected.append(rule.name)
                    return rule
        return None

    def _forward(self, req: t.Any, body: bytes) -> t.Tuple[int, t.List[t.Tuple[str, str]], bytes]:
        conn = http.client.HTTPSConnection(self.upstream[0], self.upstream[1], context=self.client_ctx,
                                           timeout=60)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in HOP_HEADERS}
            headers["Host"] = req.headers.get("Host", "%s:%d" % self.upstream)
            conn.request(req.command, req.path, body=body if req.command == "POST" else None, headers=headers)
            resp = conn.getresponse()
            return resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS], resp.read()
        finally:
            conn.close()

    def _record(self, method: str, path: str, status: int, headers: t.List[t.Tuple[str, str]],
                data: bytes) -> None:
        with self.lock:
            self.events.append((time.time(), method, path, status))
            if "/order-plz" in path and status == 201:
                try:
                    names = sorted(i["value"] for i in json.loads(data.decode())["identifiers"])
                except (ValueError, KeyError, TypeError):
                    names = []
                location = dict((k.lower(), v) for k, v in headers).get("location", "")
                self.orders.append({"time": time.time(), "url": location, "identifiers": names})
            listeners = list(self.listeners)
        for listener in listeners:
            listener(method, path, status)

    def handle(self, req: t.Any) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        rule = self._rule_for(req.command, req.path)
        if rule is not None and rule.action in ("status", "drop"):
            if rule.action == "drop":
                self._drop(req)
            else:
                self._send(req, rule.status, self._problem(rule), rule.retry_after)
            return
        try:
            status, headers, data = self._forward(req, body)
        except (OSError, http.client.HTTPException) as exc:
            self._send(req, 502, self._problem(None, "proxy: Pebble did not answer: %s" % exc))
            return
        self._record(req.command, req.path, status, headers, data)
        if rule is None:
            self._send_raw(req, status, headers, data)
        elif rule.action == "status_after":
            self._send(req, rule.status, self._problem(rule), rule.retry_after)
        elif rule.action == "drop_after":
            self._drop(req)
        elif rule.action == "slow_after":
            time.sleep(rule.delay)
            try:
                self._send_raw(req, status, headers, data)
            except OSError:
                pass  # the client gave up, as it should

    @staticmethod
    def _problem(rule: t.Optional[Rule], detail: str = "") -> bytes:
        detail = detail or "fault suite: %s" % (rule.name if rule else "")
        return json.dumps({"type": "urn:ietf:params:acme:error:serverInternal", "detail": detail}).encode()

    @staticmethod
    def _drop(req: t.Any) -> None:
        req.close_connection = True
        try:
            req.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, req: t.Any, status: int, body: bytes, retry_after: t.Optional[str] = None) -> None:
        headers = [("Content-Type", "application/problem+json")]
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        self._send_raw(req, status, headers, body)

    @staticmethod
    def _send_raw(req: t.Any, status: int, headers: t.List[t.Tuple[str, str]], body: bytes) -> None:
        req.send_response(status)
        for key, value in headers:
            if key.lower() not in ("server", "date"):
                req.send_header(key, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)
        req.wfile.flush()
