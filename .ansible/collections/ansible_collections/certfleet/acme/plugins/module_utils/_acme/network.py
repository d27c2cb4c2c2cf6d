# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ClientNetwork with bounded retries (badNonce, 429/503 Retry-After, connection errors). Private to this collection."""

from __future__ import annotations

import email.utils
import threading
import time
import typing as t

try:
    import requests
    from acme import client as acme_client
    from acme import messages
    _Base = acme_client.ClientNetwork
except ImportError:  # pragma: no cover - the module reports the missing library
    _Base = object

RETRYABLE_STATUS = (429, 500, 502, 503, 504)
# Answers that say the CA did not act on the request (rate limited, unavailable): safe to repeat
# even when the request is not idempotent. A 500/502/504 may come after the CA acted.
NOT_ACTED_STATUS = (429, 503)


class AmbiguousRequest(Exception):
    """A request that is not idempotent got no usable answer and may have reached the CA.

    It is not sent again; the caller finds out what happened (re-reads the order)."""

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__("%s: %s" % (url, cause))
        self.url = url
        self.cause = cause


def surely_unsent(error: BaseException) -> bool:
    """Whether a connection error happened before the request could reach the server."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return type(reason).__name__ in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError")


def parse_retry_after(value: t.Optional[str], now: t.Optional[float] = None) -> t.Optional[float]:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryPolicy(object):
    """Bounds for every retry the client makes."""

    def __init__(self, nonce_retries: int = 10, transient_retries: int = 4,
                 retry_after_cap: float = 30.0, backoff_start: float = 0.25) -> None:
        self.nonce_retries = nonce_retries
        self.transient_retries = transient_retries
        self.retry_after_cap = retry_after_cap
        self.backoff_start = backoff_start

    def transient_delay(self, attempt: int, retry_after: t.Optional[float]) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return min(self.backoff_start * (2 ** attempt), self.retry_after_cap)


class RetryingNetwork(_Base):  # type: ignore[misc,valid-type]
    """acme's ClientNetwork, made robust.

    - badNonce: retried up to ``policy.nonce_retries`` times (the library retries once); the fresh
      nonce that comes with the error response is kept, so a retry costs one round trip.
    - 429 and 5xx: retried up to ``policy.transient_retries`` times, honouring Retry-After up to a cap.
    - Connection errors and timeouts: retried the same way. Every request has a timeout.
    - A request that is not idempotent (``idempotent=False``: newOrder, finalize) is never repeated
      after an answer that may come after the CA acted on it (a read timeout, a dropped
      connection, 500/502/504): :class:`AmbiguousRequest` is raised instead. badNonce, 429 and 503
      are repeated: the CA rejected those before acting.
    One instance per thread: nonces and the account are per-instance state.
    """

    def __init__(self, *args: t.Any, policy: t.Optional[RetryPolicy] = None,
                 sleep: t.Callable[[float], None] = time.sleep, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._last_response: t.Any = None
        self.request_count = 0
        self._owner = threading.get_ident()

    def _send_request(self, method: str, url: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        response = super()._send_request(method, url, *args, **kwargs)
        self.request_count += 1
        self._last_response = response
        if not response.ok and self.REPLAY_NONCE_HEADER in response.headers:
            # Error responses carry a fresh nonce; the library drops it. Keep it.
            try:
                self._add_nonce(response)
            except Exception:  # noqa: BLE001 - a malformed nonce is simply not kept
                pass
        return response

    def _retry_after(self) -> t.Optional[float]:
        response = self._last_response
        if response is None:
            return None
        return parse_retry_after(response.headers.get("Retry-After"))

    def _status(self) -> t.Optional[int]:
        return None if self._last_response is None else self._last_response.status_code

    def _may_have_acted(self, idempotent: bool) -> bool:
        """A 5xx other than 503 on a request that is not idempotent: the CA may have acted."""
        status = self._status()
        return not idempotent and status in RETRYABLE_STATUS and status not in NOT_ACTED_STATUS

    def _status_retryable(self, idempotent: bool) -> bool:
        return self._status() in (RETRYABLE_STATUS if idempotent else NOT_ACTED_STATUS)

    def _may_retry(self, failures: int, retryable: bool) -> bool:
        """Sleep before a transient retry (Retry-After honoured, capped); False when out of retries."""
        if not retryable or failures >= self.policy.transient_retries:
            return False
        self._sleep(self.policy.transient_delay(failures, self._retry_after()))
        return True

    def _with_retries(self, call: t.Callable[[], t.Any], url: str = "", idempotent: bool = True) -> t.Any:
        nonce_failures = 0
        transient_failures = 0
        while True:
            self._last_response = None
            try:
                return call()
            except messages.Error as error:
                if error.code == "badNonce" and nonce_failures < self.policy.nonce_retries:
                    nonce_failures += 1
                    continue
                if self._may_have_acted(idempotent):
                    raise AmbiguousRequest(url, error)
                if not self._may_retry(transient_failures, self._status_retryable(idempotent)):
                    raise
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
                if not idempotent and not surely_unsent(error):
                    raise AmbiguousRequest(url, error)
                if not self._may_retry(transient_failures, True):
                    raise
            except acme_client.errors.ClientError as error:
                if self._may_have_acted(idempotent):
                    raise AmbiguousRequest(url, error)
                if not self._may_retry(transient_failures, self._status_retryable(idempotent)):
                    raise
            transient_failures += 1

    def post(self, url: str, obj: t.Any, *args: t.Any, idempotent: bool = True, **kwargs: t.Any) -> t.Any:
        return self._with_retries(lambda: self._post_once(url, obj, *args, **kwargs), url,
                                  idempotent or obj is None)

    def get(self, url: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self._with_retries(lambda: super(RetryingNetwork, self).get(url, *args, **kwargs))
