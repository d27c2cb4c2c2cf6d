# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME Renewal Information (ARI, RFC 9773): certificate IDs, renewalInfo answers and their cache,
the renewal time picked inside the suggested window, and the per-run ``Advisor`` the orders ask.
Private to this collection.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import json
import random
import threading
import typing as t

try:
    from cryptography import x509
except ImportError:   # the modules check for cryptography (check_libraries) before any use
    x509 = None

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import StoreError
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso

DEFAULT_RETRY = datetime.timedelta(hours=6)   # no or unreadable Retry-After
MIN_RETRY = datetime.timedelta(minutes=1)
MAX_RETRY = datetime.timedelta(days=1)
RECORD = "ari"   # the store record next to the certificate's meta (certs/<name>/ari.json)

Getter = t.Callable[[str], t.Tuple[int, t.Mapping[str, str], bytes]]


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
        return {"start": iso(self.start), "end": iso(self.end), "explanation_url": self.explanation_url}

    def describe(self) -> str:
        return "ARI window %s to %s" % (iso(self.start), iso(self.end))


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


def window_rng(cid: str, window: Window) -> random.Random:
    """The draw of one certificate in one window: uniform over certificates (a hash of the ID), and
    the same in every run, so check mode (which keeps nothing) predicts the time the real run keeps."""
    seed = hashlib.sha256(("%s|%s|%s" % (cid, iso(window.start), iso(window.end))).encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def pick_time(window: Window, rng: t.Optional[random.Random] = None) -> datetime.datetime:
    """A uniformly random second inside the window (RFC 9773 section 4.2)."""
    span = int((window.end - window.start).total_seconds())
    return window.start + datetime.timedelta(seconds=(rng or random.SystemRandom()).randint(0, max(span, 0)))


def decide(window: Window, chosen: datetime.datetime, now: datetime.datetime) -> t.Tuple[bool, str]:
    """``(due, reason)`` for a chosen renewal time; a window that has passed means at once."""
    if now >= window.end:
        return True, "%s has passed: renew now" % window.describe()
    if now >= chosen:
        return True, "%s: renew at %s (reached)" % (window.describe(), iso(chosen))
    return False, "%s: renew at %s" % (window.describe(), iso(chosen))


class Advice(object):
    """The CA's answer for one certificate: its window, the time chosen in it, how long it is kept."""

    def __init__(self, cid: str, window: Window, chosen: datetime.datetime, until: datetime.datetime,
                 from_cache: bool) -> None:
        self.cid, self.window, self.chosen, self.until, self.from_cache = cid, window, chosen, until, from_cache

    def decide(self, now: datetime.datetime) -> t.Tuple[bool, str]:
        return decide(self.window, self.chosen, now)

    def to_result(self) -> t.Dict[str, t.Any]:
        """The ``ari`` return value of a certificate."""
        return {"window_start": iso(self.window.start), "window_end": iso(self.window.end),
                "renew_at": iso(self.chosen), "explanation_url": self.window.explanation_url,
                "retry_after": iso(self.until)}


class Cache(object):
    """renewalInfo answers by certificate ID, each kept until its Retry-After; a JSON-able dict
    (the store can keep it between runs). The chosen time is kept with the window so that a run
    does not draw a new one each time."""

    def __init__(self, data: t.Optional[t.Dict[str, t.Any]] = None) -> None:
        self.data: t.Dict[str, t.Any] = dict(data or {})

    def get(self, cid: str, now: datetime.datetime) -> t.Optional[Advice]:
        entry = self.data.get(cid)
        try:
            if not entry or _parse_time(entry["until"]) <= now:
                return None
            window = Window(_parse_time(entry["start"]), _parse_time(entry["end"]), entry.get("explanation_url"))
            return Advice(cid, window, _parse_time(entry["chosen"]), _parse_time(entry["until"]), True)
        except (KeyError, TypeError, ValueError):
            return None   # an unreadable entry is asked again

    def put(self, advice: Advice) -> None:
        entry = advice.window.to_dict()
        entry.update(chosen=iso(advice.chosen), until=iso(advice.until))
        self.data[advice.cid] = entry


def fetch(get: Getter, renewal_info_url: str, cid: str, cache: Cache, now: datetime.datetime,
          rng: t.Optional[random.Random] = None) -> Advice:
    """The advice for one certificate, from the cache or the CA. A window unchanged since the
    cached answer keeps its chosen time. Raises ValueError when the CA's answer is unusable (the
    caller falls back to the lifetime rule with a warning)."""
    cached = cache.get(cid, now)
    if cached:
        return cached
    status, headers, body = get(renewal_info_url.rstrip("/") + "/" + cid)
    if status != 200:
        raise ValueError("renewalInfo answered HTTP %s" % status)
    window = parse_renewal_info(body)
    old = cache.data.get(cid) or {}
    if old.get("start") == iso(window.start) and old.get("end") == iso(window.end) and old.get("chosen"):
        chosen = _parse_time(old["chosen"])
    else:
        chosen = pick_time(window, rng or window_rng(cid, window))
    advice = Advice(cid, window, chosen, now + retry_after(headers.get("Retry-After"), now), False)
    cache.put(advice)
    return advice


class Advisor(object):
    """ARI for one run: the CA's renewalInfo URL (its directory read once, only when an answer is
    not cached), and the answers kept in the store's ``ari`` record of each certificate.

    ``read_directory()`` returns the directory (anything with ``[name]`` lookup that raises
    KeyError for a missing field), ``get(url)`` does a plain GET (RFC 9773: not POST-as-GET), and
    ``store`` has ``read_record``/``write_record``. Check mode keeps the answers too: they are a
    cache of what the CA said, not certificate state, and the role decides in check mode, so only
    this way does every run honour Retry-After; in check mode a store that cannot be written is
    no error.
    """

    def __init__(self, read_directory: t.Callable[[], t.Any], get: Getter, store: t.Any,
                 check_mode: bool) -> None:
        self._read_directory, self._get, self.store, self.check_mode = read_directory, get, store, check_mode
        self._url: t.Optional[str] = None
        self._error: t.Optional[Exception] = None
        self._read = False
        self._lock = threading.Lock()

    def renewal_info_url(self) -> t.Optional[str]:
        """The directory's renewalInfo URL, or None when the CA has no ARI. An error reading the
        directory is raised again for every certificate, without asking again."""
        with self._lock:
            if not self._read:
                self._read = True
                try:
                    url = self._read_directory()["renewalInfo"]
                except KeyError:
                    url = None
                except Exception as exc:   # noqa: BLE001 -- kept and raised to every caller
                    self._error = exc
                self._url = url if self._error is None and isinstance(url, str) and url else None
            if self._error is not None:
                raise self._error
            return self._url

    def advise(self, name: str, cert_pem: str, now: datetime.datetime) -> Advice:
        """The advice for a stored certificate. ValueError when it has none: no certificate ID,
        an unusable answer, or a CA without ARI (``NoAri``)."""
        cid = cert_id(cert_pem)
        cache = Cache(self.store.read_record(name, RECORD) if self.store else None)
        cached = cache.get(cid, now)
        if cached:
            return cached
        url = self.renewal_info_url()
        if url is None:
            raise NoAri("the CA has no renewalInfo")
        advice = fetch(self._get, url, cid, cache, now)
        if self.store is not None:
            try:
                self.store.write_record(name, RECORD, {cid: cache.data[cid]})   # only the current certificate's
            except StoreError:
                if not self.check_mode:
                    raise
        return advice


class NoAri(ValueError):
    """The CA's directory has no renewalInfo."""
