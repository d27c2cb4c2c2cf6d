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

    def _may_retry(self, failures: int, retryable: bool) -> bool:
        """Sleep before a transient retry (Retry-After honoured, capped); False when out of retries."""
        if not retryable or failures >= self.policy.transient_retries:
            return False
        self._sleep(self.policy.transient_delay(failures, self._retry_after()))
        return True

    def _with_retries(self, call: t.Callable[[], t.Any]) -> t.Any:
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
                if not self._may_retry(transient_failures, self._status() in RETRYABLE_STATUS):
                    raise
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
                if not self._may_retry(transient_failures, True):
                    raise
            except acme_client.errors.ClientError:
                if not self._may_retry(transient_failures, self._status() in RETRYABLE_STATUS):
                    raise
            transient_failures += 1

    def post(self, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self._with_retries(lambda: self._post_once(*args, **kwargs))

    def get(self, url: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
        return self._with_retries(lambda: super(RetryingNetwork, self).get(url, *args, **kwargs))
