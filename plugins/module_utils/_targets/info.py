# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Describe a certificate from a file, text or a live endpoint (logic of cert_info). Private to this collection."""

from __future__ import annotations

import concurrent.futures
import copy
import datetime
import re
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common.policy import renewal_due
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._probe import tlsprobe

FIELDS = ("subject", "common_name", "names", "dns_names", "ip_addresses", "issuer", "serial",
          "not_before", "not_after", "days_left", "key_type", "fingerprint_sha256", "spki_sha256",
          "renewal_due", "renewal_reason")
Probe = t.Callable[..., tlsprobe.PeerCertificate]
SOURCES = ["path", "content", "host", "endpoints"]
# Any PEM private key, even a malformed one: "PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY".
_PRIVATE_KEY_RE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_ARGUMENT_SPEC = {
    "path": {"type": "path"},
    # Never secret when used right, but a pasted combined PEM would put a key in the logs.
    "content": {"type": "str", "no_log": True},
    "host": {"type": "str"},
    "port": {"type": "int", "default": 443},
    "server_name": {"type": "str"},
    "endpoints": {"type": "list", "elements": "dict", "options": {
        "host": {"type": "str", "required": True},
        "port": {"type": "int", "default": 443},
        "server_name": {"type": "str"},
        "expect_serial": {"type": "str"},
        "reject_serial": {"type": "str"},
    }},
    "retries": {"type": "int", "default": 0},
    "delay": {"type": "float", "default": 1},
    "workers": {"type": "int", "default": 16},
    "fail_on_error": {"type": "bool", "default": True},
    "timeout": {"type": "float", "default": 10},
    "ca_path": {"type": "path"},
    "alpn": {"type": "list", "elements": "str"},
    "renew_before_days": {"type": "float"},
}


def argument_spec() -> t.Dict[str, t.Any]:
    return copy.deepcopy(_ARGUMENT_SPEC)


def check_content(content: str) -> str:
    """Refuse text holding a private key, without echoing any of it."""
    if _PRIVATE_KEY_RE.search(content):
        raise InputError("content holds a private key (a PRIVATE KEY PEM block); pass the certificate "
                         "alone, cert_info never takes key material")
    return content


def leaf_der(data: t.Union[bytes, str], source: str) -> bytes:
    """The first certificate of PEM text (a full chain is fine), or ``data`` itself if DER."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if b"-----BEGIN" in raw:
        for label, der in x509.pem_blocks(raw):
            if label == "CERTIFICATE":
                return der
        raise InputError("%s holds no PEM CERTIFICATE block" % source)
    if raw[:1] == b"\x30":
        return raw
    raise InputError("%s is neither a PEM nor a DER certificate" % source)


def describe(der: bytes, now: datetime.datetime,
             renew_before_days: t.Optional[float] = None) -> t.Dict[str, t.Any]:
    """The result fields for one certificate (dates as ISO 8601 UTC strings)."""
    info = x509.parse_certificate(der)
    due, reason = renewal_due(info["not_before"], info["not_after"], now, renew_before_days)
    return {
        "subject": info["subject"],
        "common_name": info["common_name"],
        "names": info["names"],
        "dns_names": info["dns_names"],
        "ip_addresses": info["ip_addresses"],
        "issuer": info["issuer"],
        "serial": info["serial"],
        "not_before": iso(info["not_before"]),
        "not_after": iso(info["not_after"]),
        "days_left": round((info["not_after"] - now).total_seconds() / 86400.0, 1),
        "key_type": info["key_type"],
        "fingerprint_sha256": info["fingerprint_sha256"],
        "spki_sha256": info["spki_sha256"],
        "renewal_due": due,
        "renewal_reason": reason,
    }


def probe_endpoint(endpoint: t.Dict[str, t.Any], params: t.Dict[str, t.Any], now: datetime.datetime,
                   probe: Probe) -> t.Dict[str, t.Any]:
    """Describe what one endpoint serves; a failure is an ``error`` with the fields set to None."""
    host = endpoint.get("host")
    if not host:
        raise InputError("every endpoint needs a host")
    port = int(endpoint.get("port") or 443)
    server_name = endpoint.get("server_name") or host
    result = {"host": host, "port": port, "server_name": server_name, "error": None,
              "alpn_protocol": None}  # type: t.Dict[str, t.Any]
    try:
        peer = probe(host, port, server_name, float(params.get("timeout") or 10),
                     ca_file=params.get("ca_path"), alpn=params.get("alpn") or None)
        result.update(describe(peer.der, now, params.get("renew_before_days")))
        result["alpn_protocol"] = peer.alpn_protocol
    except TargetError as exc:
        result.update(dict((field, None) for field in FIELDS))
        result["error"] = exc.msg
    return result


def run(params: t.Dict[str, t.Any], now: t.Optional[datetime.datetime] = None,
        probe: Probe = tlsprobe.fetch_peer_certificate) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """Read-only: never changed. Single sources return the fields at the top level."""
    now = now or utcnow()
    renew_before_days = params.get("renew_before_days")
    if params.get("path"):
        data = files.read_bytes(params["path"])
        if data is None:
            raise InputError("certificate file %s does not exist" % params["path"], path=params["path"])
        return False, describe(leaf_der(data, params["path"]), now, renew_before_days)
    if params.get("content"):
        content = check_content(params["content"])
        return False, describe(leaf_der(content, "content"), now, renew_before_days)
    if params.get("host"):
        endpoint = {"host": params["host"], "port": params.get("port"),
                    "server_name": params.get("server_name")}
        result = probe_endpoint(endpoint, params, now, probe)
        if result["error"]:
            raise TargetError(result["error"], host=result["host"], port=result["port"],
                              server_name=result["server_name"])
        return False, result
    endpoints = params.get("endpoints") or []
    if not endpoints:
        raise InputError("one of path, content, host or endpoints is required")
    results = probe_all(endpoints, params, now, probe)
    failed = [result for result in results if result["error"]]
    if failed and params.get("fail_on_error", True):
        raise TargetError("TLS probe failed for %d of %d endpoints: %s"
                          % (len(failed), len(results), "; ".join(r["error"] for r in failed)),
                          endpoints=results, failed_count=len(failed))
    out = {"endpoints": results, "failed_count": len(failed)}  # type: t.Dict[str, t.Any]
    if any(endpoint.get("expect_serial") or endpoint.get("reject_serial") for endpoint in endpoints):
        out["mismatch_count"] = sum(1 for result in results if result.get("matches") is False)
    return False, out


def _matches(endpoint: t.Dict[str, t.Any], result: t.Dict[str, t.Any]) -> t.Optional[bool]:
    want, refused = endpoint.get("expect_serial"), endpoint.get("reject_serial")
    if refused and not want:
        return (result.get("serial") or "").lower() != str(refused).lower()
    if not want:
        return None
    return (result.get("serial") or "").lower() == str(want).lower()


def probe_all(endpoints: t.Sequence[t.Dict[str, t.Any]], params: t.Dict[str, t.Any],
              now: datetime.datetime, probe: Probe,
              sleep: t.Callable[[float], None] = time.sleep) -> t.List[t.Dict[str, t.Any]]:
    """Probe every endpoint (``workers`` at a time). Endpoints with ``expect_serial`` that serve
    something else are probed again, up to ``retries`` more rounds ``delay`` seconds apart (a
    server that reloads gracefully takes a moment to serve its new certificate)."""
    workers = max(1, min(int(params.get("workers") or 16), len(endpoints) or 1))
    results = [None] * len(endpoints)  # type: t.List[t.Any]
    todo = list(range(len(endpoints)))
    rounds = max(0, int(params.get("retries") or 0))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for attempt in range(rounds + 1):
            if attempt:
                sleep(float(params.get("delay") if params.get("delay") is not None else 1))
            done = pool.map(lambda index: probe_endpoint(endpoints[index], params, now, probe), todo)
            for index, result in zip(todo, list(done)):
                result["matches"] = _matches(endpoints[index], result)
                if result["matches"] is None:
                    result.pop("matches")
                results[index] = result
            todo = [index for index in todo if results[index].get("matches") is False]
            if not todo:
                break
    return results
