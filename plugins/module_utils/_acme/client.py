# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ACME client on certbot's acme library: fast bounded polling, per-thread state. Private to this collection."""

from __future__ import annotations

import threading
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import (
    CertfleetError, InputError, ProtocolError)
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys
from ansible_collections.certfleet.acme.plugins.module_utils._acme.network import (
    AmbiguousRequest, RetryingNetwork, RetryPolicy)

try:
    import josepy as jose
    import requests
    from acme import challenges, errors as acme_errors, messages
    HAS_ACME = True
    ACME_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by the module
    HAS_ACME = False
    ACME_IMPORT_ERROR = _exc

USER_AGENT = "certfleet.acme/0.1"
ACCOUNT_GONE = "urn:ietf:params:acme:error:accountDoesNotExist"
PEM_CHAIN = "application/pem-certificate-chain"

if HAS_ACME:
    class NewOrderWithReplaces(messages.NewOrder):
        """newOrder with the ARI ``replaces`` field (RFC 9773), which the library lacks."""
        replaces: t.Optional[str] = jose.field("replaces", omitempty=True)


def describe_acme_error(error: t.Any) -> str:
    """One line for an ACME problem document: type, detail, subproblems."""
    typ = getattr(error, "typ", None) or "about:blank"
    text = "%s: %s" % (typ.replace("urn:ietf:params:acme:error:", ""), getattr(error, "detail", None) or "")
    subs = getattr(error, "subproblems", None) or ()
    if subs:
        text += " (" + "; ".join(
            "%s %s" % (getattr(getattr(s, "identifier", None), "value", ""), describe_acme_error(s)) for s in subs) + ")"
    return text.strip()


def translate_errors(what: str, call: t.Callable[[], t.Any]) -> t.Any:
    """Run ``call``; turn library and network errors into ProtocolError naming ``what``."""
    try:
        return call()
    except CertfleetError:
        raise
    except messages.Error as error:
        raise ProtocolError("ACME server refused %s: %s" % (what, describe_acme_error(error)),
                            acme_error={"type": error.typ, "detail": error.detail})
    except requests.exceptions.RequestException as error:
        raise ProtocolError("Cannot reach the ACME server for %s: %s" % (what, error))
    except acme_errors.Error as error:
        raise ProtocolError("ACME protocol error during %s: %s" % (what, error))


def directory_profiles(directory: t.Any) -> t.Optional[t.Dict[str, str]]:
    """The directory's ``meta.profiles`` (name -> description), or None when it offers none."""
    meta = getattr(directory, "meta", None)
    profiles = getattr(meta, "profiles", None) if meta else None
    return dict(profiles) if profiles else None


def read_directory(url: str, verify: t.Union[bool, str], timeout: float) -> t.Any:
    """GET the directory without an account (check mode asks it for the profiles)."""
    def fetch() -> t.Any:
        response = requests.get(url, verify=verify, timeout=timeout, headers={"User-Agent": USER_AGENT})
        response.raise_for_status()
        return messages.Directory.from_json(response.json())
    try:
        return translate_errors("the directory", fetch)
    except ProtocolError as exc:
        raise ProtocolError("Cannot use the ACME directory %s: %s" % (url, exc.msg))
    except ValueError as exc:  # not JSON, not a directory
        raise ProtocolError("%s is not an ACME directory: %s" % (url, exc))


def plain_get(url: str, verify: t.Union[bool, str], timeout: float) -> t.Tuple[int, t.Mapping[str, str], bytes]:
    """``(status, headers, body)`` of an unauthenticated GET (ARI's renewalInfo, RFC 9773 section
    4.1); ValueError when the server cannot be reached."""
    try:
        response = requests.get(url, verify=verify, timeout=timeout, headers={"User-Agent": USER_AGENT})
    except requests.exceptions.RequestException as error:
        raise ValueError("cannot reach %s: %s" % (url, error))
    return response.status_code, response.headers, response.content


class AccountDeactivated(ProtocolError):
    """The CA knows the key, but its account is deactivated (final)."""


class Poller(object):
    """Polls with a short first interval that grows, inside a total deadline."""

    def __init__(self, timeout: float, first: float = 0.02, factor: float = 1.6, cap: float = 1.0,
                 sleep: t.Callable[[float], None] = time.sleep,
                 clock: t.Callable[[], float] = time.monotonic) -> None:
        self.deadline = clock() + timeout
        self.timeout = timeout
        self.first, self.factor, self.cap = first, factor, cap
        self._sleep, self._clock = sleep, clock

    def until(self, fetch: t.Callable[[], t.Any], done: t.Callable[[t.Any], bool], what: str,
              retry_after: t.Callable[[], t.Optional[float]] = lambda: None) -> t.Any:
        interval = self.first
        while True:
            value = fetch()
            if done(value):
                return value
            remaining = self.deadline - self._clock()
            if remaining <= 0:
                raise ProtocolError("Timed out after %.0f s waiting for %s" % (self.timeout, what))
            hinted = retry_after()
            wait = min(max(interval, min(hinted, 10.0)) if hinted else interval, remaining)
            self._sleep(wait)
            interval = min(interval * self.factor, self.cap)


class AcmeConnection(object):
    """The account key, the directory and per-thread ClientNetworks over one ACME server."""

    def __init__(self, directory_url: str, account_key: t.Any, verify: t.Union[bool, str] = True,
                 timeout: float = 20.0, poll_timeout: float = 120.0,
                 policy: t.Optional[RetryPolicy] = None) -> None:
        self.directory_url = directory_url
        self.key = account_key
        self.jwk, self.alg = keys.jwk_and_alg(account_key)
        self.verify = verify
        self.timeout = timeout
        self.poll_timeout = poll_timeout
        self.policy = policy or RetryPolicy()
        self.account_uri: t.Optional[str] = None
        self.account_uri_cached = False  # True while the URI is the store's, not confirmed by the CA
        self._local = threading.local()
        self._directory: t.Any = None
        self._lock = threading.RLock()

    # -- plumbing ---------------------------------------------------------------------------
    def net(self) -> RetryingNetwork:
        net = getattr(self._local, "net", None)
        if net is None:
            net = RetryingNetwork(key=self.jwk, alg=self.alg, verify_ssl=self.verify,
                                  user_agent=USER_AGENT, timeout=self.timeout, policy=self.policy)
            self._local.net = net
        if self.account_uri and (net.account is None or net.account.uri != self.account_uri):
            net.account = messages.RegistrationResource(uri=self.account_uri, body=messages.Registration())
        return net

    @property
    def directory(self) -> t.Any:
        with self._lock:
            if self._directory is None:
                def fetch() -> t.Any:
                    return messages.Directory.from_json(self.net().get(self.directory_url).json())
                try:
                    self._directory = translate_errors("the directory", fetch)
                except ProtocolError as exc:
                    raise ProtocolError("Cannot use the ACME directory %s: %s" % (self.directory_url, exc.msg))
                except (ValueError, Exception) as exc:  # not JSON, not a directory
                    raise ProtocolError("%s is not an ACME directory: %s" % (self.directory_url, exc))
            return self._directory

    def post(self, url: str, obj: t.Any, what: str, **kwargs: t.Any) -> t.Any:
        def call() -> t.Any:
            return self.net().post(url, obj, new_nonce_url=self.directory["newNonce"], **kwargs)
        try:
            return translate_errors(what, call)
        except ProtocolError as exc:
            if not self.account_uri_cached or (exc.details.get("acme_error") or {}).get("type") != ACCOUNT_GONE:
                raise
        # The URI came from the store but the CA no longer knows it (a test CA restarted, an
        # account re-registered elsewhere): look the key up once and try again.
        with self._lock:
            if self.account_uri_cached:
                self.account_uri_cached = False
                if self.find_account() is None:
                    raise InputError("The ACME server has no account for this key any more: run "
                                     "certfleet.acme.account with state=present")
        return translate_errors(what, call)

    def post_as_get(self, url: str, what: str, **kwargs: t.Any) -> t.Any:
        return self.post(url, None, what, **kwargs)

    def poller(self) -> Poller:
        return Poller(self.poll_timeout)

    def _retry_after(self) -> t.Optional[float]:
        return self.net()._retry_after()

    # -- account ----------------------------------------------------------------------------
    def find_account(self) -> t.Optional[t.Tuple[str, t.Any]]:
        """Return ``(uri, Registration)`` of the key's existing account, or None."""
        net = self.net()
        net.account = None
        body = messages.NewRegistration(only_return_existing=True)
        try:
            response = net.post(self.directory["newAccount"], body, new_nonce_url=self.directory["newNonce"])
        except messages.Error as error:
            if error.code == "accountDoesNotExist":
                return None
            if error.code == "unauthorized" and "deactivated" in (error.detail or ""):
                raise AccountDeactivated("The account of this key is deactivated at the CA: "
                                         "it cannot be used again; use another account key")
            raise ProtocolError("ACME server refused the account lookup: %s" % describe_acme_error(error))
        except requests.exceptions.RequestException as error:
            raise ProtocolError("Cannot reach the ACME server for the account lookup: %s" % error)
        uri = response.headers.get("Location")
        self.account_uri = uri
        return uri, messages.Registration.from_json(response.json())

    def create_account(self, contact: t.Sequence[str], terms_agreed: bool,
                       eab: t.Optional[t.Dict[str, str]] = None) -> t.Tuple[str, t.Any]:
        directory = self.directory
        fields: t.Dict[str, t.Any] = {"contact": tuple(contact), "terms_of_service_agreed": terms_agreed}
        if eab:
            fields["external_account_binding"] = translate_errors("the external account binding", lambda: (
                messages.ExternalAccountBinding.from_data(
                    account_public_key=self.jwk.public_key(), kid=eab["kid"], hmac_key=eab["hmac_key"],
                    directory=directory, hmac_alg=eab.get("alg") or "HS256")))
        net = self.net()
        net.account = None
        response = self.post(directory["newAccount"], messages.NewRegistration(**fields), "the new account")
        self.account_uri = response.headers.get("Location")
        return self.account_uri, messages.Registration.from_json(response.json())

    def update_account(self, update: t.Dict[str, t.Any], what: str) -> t.Any:
        self.net().account = None
        response = self.post(self.account_uri, messages.UpdateRegistration(**update), what)
        return messages.Registration.from_json(response.json())

    def terms_of_service(self) -> t.Optional[str]:
        meta = getattr(self.directory, "meta", None)
        return getattr(meta, "terms_of_service", None) if meta else None

    def external_account_required(self) -> bool:
        meta = getattr(self.directory, "meta", None)
        return bool(getattr(meta, "external_account_required", False)) if meta else False

    def profiles(self) -> t.Optional[t.Dict[str, str]]:
        return directory_profiles(self.directory)

    # -- orders -----------------------------------------------------------------------------
    def new_order(self, identifiers: t.Sequence[t.Tuple[str, str]], profile: t.Optional[str] = None,
                  replaces: t.Optional[str] = None) -> t.Tuple[str, t.Any]:
        idents = [messages.Identifier(typ=messages.IdentifierType(typ), value=value) for typ, value in identifiers]
        body = NewOrderWithReplaces(identifiers=idents, profile=profile or None, replaces=replaces)
        try:
            response = self.post(self.directory["newOrder"], body, "a new order", idempotent=False)
        except AmbiguousRequest as lost:
            # The CA may have created the order: find it rather than create a second one.
            found = self.find_order([value for _typ, value in identifiers], lost)
            if found is not None:
                return found
            # The CA lists no such order, so the request did not create one: sending it is safe.
            try:
                response = self.post(self.directory["newOrder"], body, "a new order", idempotent=False)
            except AmbiguousRequest as again:
                raise ProtocolError("The newOrder request for %s got no answer twice (%s); not sent a "
                                    "third time: run again later" % (", ".join(v for _t, v in identifiers),
                                                                     again.cause))
        return response.headers.get("Location"), messages.Order.from_json(response.json())

    def find_order(self, names: t.Sequence[str], lost: AmbiguousRequest) -> t.Optional[t.Tuple[str, t.Any]]:
        """The newest pending or ready order of the account for exactly ``names``, from the
        account's orders list; raises ProtocolError when the CA offers no such list."""
        account = self.post_as_get(self.account_uri, "the account").json() if self.account_uri else {}
        orders_url = account.get("orders") if isinstance(account, dict) else None
        if not orders_url:
            raise ProtocolError("The newOrder request for %s got no answer (%s) and may have created an "
                                "order at the CA; the CA offers no orders list to find it, so the request "
                                "is not sent again: run again (an unused order expires on its own)"
                                % (", ".join(names), lost.cause))
        urls = (self.post_as_get(orders_url, "the account's orders").json() or {}).get("orders") or []
        best = None
        for url in urls[-50:]:
            order = self.get_order(url)
            if order.status.name in ("pending", "ready") and \
                    sorted(i.value for i in order.identifiers) == sorted(names):
                if best is None or (order.expires and best[1].expires and order.expires > best[1].expires):
                    best = (url, order)
        return best

    def get_order(self, url: str) -> t.Any:
        return messages.Order.from_json(self.post_as_get(url, "the order").json())

    def get_authorization(self, url: str) -> t.Any:
        return messages.Authorization.from_json(self.post_as_get(url, "the authorization").json())

    def answer(self, challenge_url: str) -> None:
        """Answer a challenge. When the answer to an earlier attempt was lost (a dropped
        connection after the CA acted), the repeated answer is refused because the challenge is
        no longer pending: re-read it, and a challenge the CA is processing or done with counts
        as answered."""
        try:
            self.post(challenge_url, challenges.HTTP01Response(), "the challenge answer")
        except ProtocolError as refused:
            try:
                status = self.post_as_get(challenge_url, "the challenge").json().get("status")
            except (ProtocolError, ValueError, AttributeError):
                status = None
            if status not in ("processing", "valid", "invalid"):
                raise refused

    def wait_authorizations(self, urls: t.Sequence[str], poller: Poller) -> t.Dict[str, t.Any]:
        """Poll every authorization until none is pending; return url -> Authorization."""
        result: t.Dict[str, t.Any] = {}
        for url in urls:
            result[url] = poller.until(
                lambda url=url: self.get_authorization(url),
                lambda authz: authz.status.name not in ("pending", "processing"),
                "the validation of %s" % url, self._retry_after)
        return result

    def finalize(self, order_url: str, order: t.Any, csr: t.Any, poller: Poller) -> t.Any:
        for _attempt in range(2):
            if order.status.name != "ready":
                break
            try:
                response = self.post(order.finalize, messages.CertificateRequest(csr=csr), "the finalization",
                                     idempotent=False)
                order = messages.Order.from_json(response.json())
            except AmbiguousRequest:
                # The CA may be processing it: a second finalize would fail with orderNotReady.
                # Read the order; only if it is still ready did the CA not act, and sending is safe.
                order = self.get_order(order_url)
        return poller.until(lambda: self.get_order(order_url),
                            lambda o: o.status.name in ("valid", "invalid"),
                            "the certificate of order %s" % order_url, self._retry_after)

    def download_chain(self, url: str) -> str:
        response = self.post_as_get(url, "the certificate download",
                                    headers={"Content-Type": "application/jose+json", "Accept": PEM_CHAIN})
        return response.text

    def key_authorization(self, chall: t.Any) -> str:
        return chall.key_authorization(self.jwk)

    def dns_value(self, chall: t.Any) -> str:
        return chall.validation(self.jwk)


def require_terms(conn: AcmeConnection, terms_agreed: bool) -> None:
    tos = conn.terms_of_service()
    if tos and not terms_agreed:
        raise InputError("The CA requires agreement to its terms of service (%s): set terms_agreed: true" % tos)
