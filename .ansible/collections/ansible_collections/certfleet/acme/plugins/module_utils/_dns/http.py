# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport of the DNS providers (ansible.module_utils.urls.open_url). Private to this collection.

Providers build the request (method, URL, headers, body bytes) and get a Response back for every
HTTP status; only a failure to connect raises. Unit tests replace the transport with a fake that
records requests and replays recorded responses.
"""

from __future__ import annotations

import json
import typing as t

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import DnsProviderError


class Response(object):
    def __init__(self, status: int, body: bytes = b"", headers: t.Optional[t.Mapping[str, str]] = None) -> None:
        self.status = status
        self.body = body
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())

    def json(self) -> t.Any:
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except ValueError:
            return None

    def text(self, limit: int = 300) -> str:
        return self.body.decode("utf-8", errors="replace")[:limit]


class Transport(object):
    """Sends one request with open_url; honours validate_certs and an optional CA file."""

    def __init__(self, validate_certs: bool = True, ca_path: t.Optional[str] = None,
                 timeout: float = 30.0) -> None:
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout

    def request(self, method: str, url: str, headers: t.Optional[t.Mapping[str, str]] = None,
                body: t.Optional[bytes] = None) -> Response:
        try:
            resp = open_url(url, data=body, headers=dict(headers or {}), method=method,
                            validate_certs=self.validate_certs, ca_path=self.ca_path,
                            timeout=self.timeout, follow_redirects="none", use_proxy=True)
            return Response(resp.getcode(), resp.read(), dict(resp.headers.items()))
        except HTTPError as exc:
            try:
                data = exc.read()
            except Exception:  # noqa: BLE001 -- a body we cannot read is just empty
                data = b""
            return Response(exc.code, data, dict(exc.headers.items()) if exc.headers else {})
        except (URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DnsProviderError("cannot reach %s: %s" % (url.split("?")[0], reason))


def json_body(data: t.Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
