# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME Renewal Information (ARI, RFC 9773): certificate IDs, renewalInfo answers and their cache,
and the renewal time picked inside the suggested window. Private to this collection.

Not wired into orders yet: ``fetch`` takes a ``get(url) -> (status, headers, body)`` callable.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import random
import typing as t

from cryptography import x509

ISO = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_RETRY = datetime.timedelta(hours=6)   # no or unreadable Retry-After
MIN_RETRY = datetime.timedelta(minutes=1)
MAX_RETRY = datetime.timedelta(days=1)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def cert_id(cert_pem: t.Union[str, bytes]) -> str:
    """base64url(AKI keyIdentifier) '.' base64url(serial as DER INTEGER content octets)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode() if isinstance(cert_pem, str) else cert_pem)
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    if not aki:
        raise ValueError("the certificate has no authority key identifier, so it has no ARI certificate ID")
    serial = cert.serial_number
    return _b64url(aki) + "." + _b64url(serial.to_bytes((serial.bit_length() + 8) // 8, "big"))


class Window(object):
    """A suggested renewal window."""

    def __init__(self, start: datetime.datetime, end: datetime.datetime,
                 explanation_url: t.Optional[str] = None) -> None:
        self.start, self.end, self.explanation_url = start, end, explanation_url

    def to_dict(self) -> t.Dict[str, t.Any]:
        return {"start": self.start.strftime(ISO), "end": self.end.strftime(ISO),
                "explanation_url": self.explanation_url}


def _parse_time(text: t.Any) -> datetime.datetime:
    if not isinstance(text, str):
        raise ValueError("not a timestamp: %r" % (text,))
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("timestamp without a time zone: %r" % text)
    return value.astimezone(datetime.timezone.utc).replace(microsecond=0)


def parse_renewal_info(body: t.Union[str, bytes]) -> Window:
    """The window of a renewalInfo answer; ValueError (with the reason) when it is malformed."""
    try:
        doc = json.loads(body)
        window = doc["suggestedWindow"]
        start, end = _parse_time(window["start"]), _parse_time(window["end"])
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError("malformed renewalInfo answer (%s)" % (exc,))
    if end < start:
        raise ValueError("malformed renewalInfo answer (the window ends before it starts)")
    url = doc.get("explanationURL")
    return Window(start, end, url if isinstance(url, str) else None)


def retry_after(header: t.Optional[str], now: datetime.datetime) -> datetime.timedelta:
    """How long to keep an answer: Retry-After (seconds or HTTP date), within one minute and one day."""
    delay = DEFAULT_RETRY
    if header:
        header = header.strip()
        if header.isdigit():
            delay = datetime.timedelta(seconds=int(header))
        else:
            try:
                when = email.utils.parsedate_to_datetime(header)
                delay = when.astimezone(datetime.timezone.utc) - now
            except (TypeError, ValueError):
                delay = DEFAULT_RETRY
    return min(max(delay, MIN_RETRY), MAX_RETRY)


def pick_time(window: Window, rng: t.Optional[random.Random] = None) -> datetime.datetime:
    """A uniformly random second inside the window (RFC 9773 section 4.2)."""
    span = int((window.end - window.start).total_seconds())
    return window.start + datetime.timedelta(seconds=(rng or random.SystemRandom()).randint(0, max(span, 0)))


def decide(window: Window, chosen: datetime.datetime, now: datetime.datetime) -> t.Tuple[bool, str]:
    """``(due, reason)`` for a chosen renewal time; a window that has passed means at once."""
    if now >= window.end:
        return True, "ARI window passed (ended %s): renew now" % window.end.strftime(ISO)
    if now >= chosen:
        return True, "ARI: inside the suggested window %s - %s (chosen %s)" % (
            window.start.strftime(ISO), window.end.strftime(ISO), chosen.strftime(ISO))
    return False, "ARI: renewal at %s, inside the suggested window %s - %s" % (
        chosen.strftime(ISO), window.start.strftime(ISO), window.end.strftime(ISO))


class Cache(object):
    """renewalInfo answers by certificate ID, each kept until its Retry-After; a JSON-able dict
    (the store can keep it between runs). The chosen time is kept with the window so that a run
    does not draw a new one each time."""

    def __init__(self, data: t.Optional[t.Dict[str, t.Any]] = None) -> None:
        self.data: t.Dict[str, t.Any] = dict(data or {})

    def get(self, cid: str, now: datetime.datetime) -> t.Optional[t.Tuple[Window, datetime.datetime]]:
        entry = self.data.get(cid)
        if not entry or _parse_time(entry["until"]) <= now:
            return None
        window = Window(_parse_time(entry["start"]), _parse_time(entry["end"]), entry.get("explanation_url"))
        return window, _parse_time(entry["chosen"])

    def put(self, cid: str, window: Window, chosen: datetime.datetime, until: datetime.datetime) -> None:
        entry = window.to_dict()
        entry.update(chosen=chosen.strftime(ISO), until=until.strftime(ISO))
        self.data[cid] = entry


def fetch(get: t.Callable[[str], t.Tuple[int, t.Mapping[str, str], bytes]], renewal_info_url: str, cid: str,
          cache: Cache, now: datetime.datetime,
          rng: t.Optional[random.Random] = None) -> t.Tuple[Window, datetime.datetime, bool]:
    """``(window, chosen time, from_cache)`` for one certificate. A window unchanged since the cached
    answer keeps its chosen time. Raises ValueError when the CA's answer is unusable (the caller
    falls back to the lifetime rule with a warning)."""
    cached = cache.get(cid, now)
    if cached:
        return cached[0], cached[1], True
    status, headers, body = get(renewal_info_url.rstrip("/") + "/" + cid)
    if status != 200:
        raise ValueError("renewalInfo answered HTTP %s" % status)
    window = parse_renewal_info(body)
    old = cache.data.get(cid)
    if old and old.get("start") == window.to_dict()["start"] and old.get("end") == window.to_dict()["end"]:
        chosen = _parse_time(old["chosen"])
    else:
        chosen = pick_time(window, rng)
    cache.put(cid, window, chosen, now + retry_after(headers.get("Retry-After"), now))
    return window, chosen, False
