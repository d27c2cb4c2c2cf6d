# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Orders for many certificates: what is due, pending orders and their challenges, finalization. Private to this collection."""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import (
    CertfleetError, InputError, ProtocolError)
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import (
    normalize_identifier, normalize_identifiers, validate_certificate_name, validate_safe_name)
from ansible_collections.certfleet.acme.plugins.module_utils._common.policy import renewal_due
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, parse_iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._pki import keys, x509
from ansible_collections.certfleet.acme.plugins.module_utils._acme import ari
from ansible_collections.certfleet.acme.plugins.module_utils._acme import authz as authzs_, chains
from ansible_collections.certfleet.acme.plugins.module_utils._acme.client import (
    AcmeConnection, directory_profiles, plain_get, read_directory)
from ansible_collections.certfleet.acme.plugins.module_utils._acme.spec import open_account, verify_setting

LIVE_ORDER = ("pending", "ready", "processing", "valid")
ALREADY_REPLACED = "urn:ietf:params:acme:error:alreadyReplaced"
# What a CA answers to ``replaces`` naming a certificate another account ordered (a new account
# renews a certificate the old one issued, as after certfleet_account_name changes).
NOT_THE_REQUESTER = "urn:ietf:params:acme:error:unauthorized"


class Want(object):
    """One requested certificate, validated."""

    def __init__(self, item: t.Dict[str, t.Any], defaults: t.Dict[str, t.Any]) -> None:
        self.name = validate_certificate_name(item.get("name"))
        self.challenge = item.get("challenge") or defaults.get("challenge") or "http-01"
        self.identifiers = normalize_identifiers(item.get("identifiers"), self.challenge, self.name)
        self.key_type = item.get("key_type") or defaults.get("key_type") or "ec-p256"
        if self.key_type not in keys.KEY_TYPES:
            raise InputError("Certificate %r: unknown key_type %r; choose one of %s"
                             % (self.name, self.key_type, ", ".join(keys.KEY_TYPES)))
        rbd = item.get("renew_before_days", defaults.get("renew_before_days"))
        self.renew_before_days = None if rbd is None else float(rbd)
        self.force = bool(item.get("force") or defaults.get("force"))
        self.profile = item.get("profile") or defaults.get("profile")
        self.reuse_key = bool(item.get("reuse_key"))
        self.preferred_chain = item.get("preferred_chain") or defaults.get("preferred_chain")

    def acme_identifiers(self) -> t.List[t.Tuple[str, str]]:
        return [normalize_identifier(i, self.challenge, self.name) for i in self.identifiers]


def parse_wants(items: t.Any, defaults: t.Dict[str, t.Any]) -> t.List[Want]:
    if not isinstance(items, list) or not items:
        raise InputError("certificates must be a non-empty list")
    wants = [Want(item if isinstance(item, dict) else {}, defaults) for item in items]
    names = [w.name for w in wants]
    dupes = sorted(set(n for n in names if names.count(n) > 1))
    if dupes:
        raise InputError("Certificate names must be unique; repeated: %s" % ", ".join(dupes))
    return wants


def needs_issuance(have: t.Optional[dict], cert_pem: t.Optional[str], want: Want, directory_url: str,
                   now: datetime.datetime, advice: t.Optional[ari.Advice] = None) -> t.Tuple[bool, str]:
    """Return ``(due, reason)``: whether the stored certificate must be (re)issued for ``want``.
    ``advice`` is the CA's ARI answer for it, None when the CA has none (or an unusable one)."""
    reason = change_reason(have, cert_pem, want, directory_url)
    if reason is not None:
        return True, reason
    return renewal_decision(t.cast(dict, have), want, now, advice)


def renewal_decision(have: dict, want: Want, now: datetime.datetime,
                     advice: t.Optional[ari.Advice] = None) -> t.Tuple[bool, str]:
    """The time rule for an otherwise unchanged certificate. With ARI the CA's window decides
    (its chosen time, or at once once it has passed); an explicit ``renew_before_days`` still
    renews earlier. Without ARI: the lifetime rule (``renewal_due``). An expired one is always due."""
    not_before, not_after = parse_iso(have["not_before"]), parse_iso(have["not_after"])
    lifetime = renewal_due(not_before, not_after, now, want.renew_before_days)
    if advice is None or now >= not_after or (want.renew_before_days is not None and lifetime[0]):
        return lifetime
    return advice.decide(now)


def change_reason(have: t.Optional[dict], cert_pem: t.Optional[str], want: Want,
                  directory_url: str) -> t.Optional[str]:
    """Why the stored certificate must be re-issued whatever its time, or None."""
    if have is None or not cert_pem:
        return "no certificate in the store"
    if want.force:
        return "forced"
    if have.get("directory_url") != directory_url:
        return "issued by another ACME directory (%s)" % have.get("directory_url")
    old, new = set(have.get("identifiers") or []), set(want.identifiers)
    if old != new:
        parts = []
        if new - old:
            parts.append("added " + ", ".join(sorted(new - old)))
        if old - new:
            parts.append("removed " + ", ".join(sorted(old - new)))
        return "identifiers changed (%s)" % "; ".join(parts)
    if have.get("key_type") != want.key_type:
        return "key type changed from %s to %s" % (have.get("key_type"), want.key_type)
    if want.profile and have.get("profile") != want.profile:
        return "profile changed to %s" % want.profile
    return None


def check_profiles(wants: t.Sequence[Want], offered: t.Optional[t.Dict[str, str]], directory_url: str) -> None:
    """Raise InputError unless every profile asked for is one the directory offers."""
    asked = [w for w in wants if w.profile]
    if not asked:
        return
    if not offered:
        raise InputError("Certificate %s asks for the profile %r, but the ACME directory %s offers no "
                         "profiles (no meta.profiles): remove profile" % (asked[0].name, asked[0].profile,
                                                                          directory_url))
    for want in asked:
        if want.profile not in offered:
            raise InputError("Certificate %s: unknown profile %r; the ACME directory %s offers: %s"
                             % (want.name, want.profile, directory_url, ", ".join(
                                 "%s (%s)" % (name, offered[name]) if offered[name] else name
                                 for name in sorted(offered))))


def _pending_matches(pending: t.Optional[dict], want: Want, directory_url: str) -> bool:
    return bool(pending) and pending.get("directory_url") == directory_url \
        and pending.get("identifiers") == want.identifiers and pending.get("key_type") == want.key_type \
        and pending.get("challenge") == want.challenge and pending.get("profile") == want.profile


def _challenge_entry(conn: AcmeConnection, want: Want, authz: t.Any, chall_body: t.Any) -> t.Dict[str, t.Any]:
    ident = authz.identifier.value
    chall = chall_body.chall
    entry = {"certificate": want.name, "identifier": ("*." + ident) if authz.wildcard else ident,
             "type": chall.typ, "token": chall.encode("token"), "url": chall_body.uri}
    if chall.typ == "http-01":
        entry["path"] = chall.path.lstrip("/")
        entry["content"] = conn.key_authorization(chall)
    else:
        entry["record"] = "_acme-challenge." + ident
        entry["value"] = conn.dns_value(chall)
    return entry


def _find_challenge(authz: t.Any, typ: str, cert_name: str) -> t.Any:
    for chall_body in authz.challenges:
        if chall_body.chall.typ == typ:
            return chall_body
    offered = ", ".join(c.chall.typ for c in authz.challenges) or "none"
    raise ProtocolError("Certificate %s: the CA offers no %s challenge for %s (offered: %s)"
                        % (cert_name, typ, authz.identifier.value, offered))


class OrderRunner(object):
    """Runs the per-certificate order work, concurrently, against one connection."""

    def __init__(self, store: t.Any, directory_url: str, connect: t.Callable[[], AcmeConnection],
                 check_mode: bool = False, concurrency: int = 8,
                 now: t.Optional[datetime.datetime] = None,
                 read_profiles: t.Optional[t.Callable[[], t.Optional[t.Dict[str, str]]]] = None,
                 advisor: t.Optional[ari.Advisor] = None) -> None:
        self.store = store
        self.directory_url = directory_url
        self._connect = connect
        # Check mode asks the directory without the account; otherwise the connection's directory.
        self._read_profiles = read_profiles
        self._conn: t.Optional[AcmeConnection] = None
        self.check_mode = check_mode
        self.concurrency = max(1, concurrency)
        self.now = now or utcnow()
        # ARI (None: the lifetime rule only); its answers are read in check mode too (plain GETs).
        self.advisor = advisor
        self.warnings: t.List[str] = []
        self._warn_lock = threading.Lock()

    @property
    def conn(self) -> AcmeConnection:
        if self._conn is None:  # opened only when something needs the CA
            self._conn = self._connect()
        return self._conn

    # -- the decision -----------------------------------------------------------------------
    def warn(self, text: str) -> None:
        with self._warn_lock:
            if text not in self.warnings:
                self.warnings.append(text)

    def advice(self, want: Want, have: t.Optional[dict], cert_pem: t.Optional[str]) -> t.Optional[ari.Advice]:
        """The CA's ARI answer for a stored certificate of this directory, or None (no ARI, or an
        unusable answer: then with a warning, and the lifetime rule decides)."""
        if self.advisor is None or not have or not cert_pem or have.get("directory_url") != self.directory_url:
            return None
        try:
            return self.advisor.advise(want.name, cert_pem, self.now)
        except ari.NoAri:
            return None
        except ProtocolError as exc:   # the directory could not be read
            self.warn("ARI: %s; the lifetime rule decides" % exc.msg)
        except ValueError as exc:
            self.warn("Certificate %s: no usable ARI answer (%s); the lifetime rule decides" % (want.name, exc))
        return None

    def assess(self, want: Want) -> t.Dict[str, t.Any]:
        have, cert_pem = self.store.read_cert(want.name)
        advice = self.advice(want, have, cert_pem)
        due, reason = needs_issuance(have, cert_pem, want, self.directory_url, self.now, advice)
        pending = self.store.read_pending(want.name)[0]
        if not due and _pending_matches(pending, want, self.directory_url) and pending.get("forced"):
            due, reason = True, "forced (pending order)"
        # replaces (RFC 9773 section 5): the old certificate's ID, when the CA has ARI and the new
        # order shares an identifier with it (CAs refuse a replacement for other names)
        shares = bool(set((have or {}).get("identifiers") or []) & set(want.identifiers))
        return {"name": want.name, "identifiers": want.identifiers, "due": due, "reason": reason,
                "action": ("issue" if have is None else "renew") if due else "none",
                "have": have, "pending": pending, "ari": advice.to_result() if advice else None,
                "replaces": advice.cid if advice and shares else None}

    def run_all(self, wants: t.List[Want], work: t.Callable[[Want, dict], dict]) -> t.List[dict]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.concurrency, len(wants) or 1)) as pool:
            assessed = list(pool.map(self.assess, wants))   # ARI queries at once, not one by one
        todo = [(w, a) for w, a in zip(wants, assessed) if a["due"] or (a["pending"] and not self.check_mode)]
        results: t.Dict[str, dict] = {}
        due = [w for w, a in todo if a["due"]]
        if any(w.profile for w in due):
            # Before any order: every profile asked for must be one the CA offers.
            offered = self._read_profiles() if self._read_profiles and self.check_mode else self.conn.profiles()
            check_profiles(due, offered, self.directory_url)
        if todo and not self.check_mode:
            self.conn.directory  # fail fast (unreachable directory) before any thread starts
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(todo)))) as pool:
            futures = {pool.submit(self._guarded, work, w, a): w.name for w, a in todo}
            for future in concurrent.futures.as_completed(futures):
                results[futures[future]] = future.result()
        out = []
        for want, assessment in zip(wants, assessed):
            out.append(results.get(want.name) or self.unchanged(want, assessment))
        return out

    def _guarded(self, work: t.Callable[[Want, dict], dict], want: Want, assessment: dict) -> dict:
        try:
            return work(want, assessment)
        except CertfleetError as exc:
            return self.result(want, assessment, status="failed", error=exc.msg, **exc.details)

    def result(self, want: Want, assessment: dict, **fields: t.Any) -> dict:
        base = {"name": want.name, "identifiers": want.identifiers, "action": assessment["action"],
                "reason": assessment["reason"], "challenge": want.challenge, "changed": False,
                "ari": assessment.get("ari")}
        base.update(fields)
        return base

    def unchanged(self, want: Want, assessment: dict) -> dict:
        have = assessment["have"] or {}
        return self.result(want, assessment, status="valid" if have else "absent",
                           serial=have.get("serial"), not_after=have.get("not_after"), profile=have.get("profile"))

    # -- state=pending ----------------------------------------------------------------------
    def prepare(self, want: Want, assessment: dict) -> dict:
        if self.check_mode:
            return self.result(want, assessment, status="would_order", changed=assessment["due"], challenges=[])
        conn = self.conn
        pending = self.store.read_pending(want.name)[0]
        order = None
        resumed = False
        if pending and not _pending_matches(pending, want, self.directory_url):
            authzs_.deactivate_order(conn, pending.get("order_url"))   # given up: start clean
        if _pending_matches(pending, want, self.directory_url):
            try:
                order = conn.get_order(pending["order_url"])
                resumed = order.status.name in LIVE_ORDER
            except ProtocolError:
                order = None
        if not resumed:
            if not assessment["due"]:
                self.store.clear_pending(want.name)
                return self.unchanged(want, assessment)
            key = None
            if want.reuse_key:
                old = self.store.read_key(want.name)
                if old:
                    key = keys.load_key(old, "stored certificate key")
                    if keys.key_type_of(key) != want.key_type:
                        key = None
            key = key or keys.generate_key(want.key_type)
            order_url, order, replaces = self.new_order(conn, want, assessment.get("replaces"))
            self.store.write_pending(want.name, {
                "order_url": order_url, "directory_url": self.directory_url, "identifiers": want.identifiers,
                "key_type": want.key_type, "challenge": want.challenge, "profile": want.profile,
                "forced": want.force, "created": iso(self.now), "account_uri": conn.account_uri,
                "replaces": replaces,
            }, keys.key_to_pem(key))
            pending = {"order_url": order_url, "replaces": replaces}
        challenges = []
        if order.status.name == "pending":
            for url in order.authorizations:
                authz = conn.get_authorization(url)
                if authz.status.name == "pending":
                    challenges.append(_challenge_entry(conn, want, authz,
                                                       _find_challenge(authz, want.challenge, want.name)))
        return self.result(want, assessment, status="pending", changed=True, resumed=resumed,
                           order_url=pending["order_url"], order_status=order.status.name, challenges=challenges,
                           replaces=pending.get("replaces"))

    def new_order(self, conn: AcmeConnection, want: Want,
                  replaces: t.Optional[str]) -> t.Tuple[str, t.Any, t.Optional[str]]:
        """``(order_url, order, replaces sent)``. A CA that says the old certificate is already
        replaced (another order replaced it), or that this account may not replace it (another
        account ordered it), gets the order again without ``replaces``."""
        try:
            return conn.new_order(want.acme_identifiers(), profile=want.profile, replaces=replaces) + (replaces,)
        except ProtocolError as exc:
            refused = (exc.details.get("acme_error") or {}).get("type")
            if not replaces or refused not in (ALREADY_REPLACED, NOT_THE_REQUESTER):
                raise
        return conn.new_order(want.acme_identifiers(), profile=want.profile, replaces=None) + (None,)

    def abandon(self, want: Want, pending: dict, reason: str) -> None:
        """Give up an order that cannot give a usable certificate: the next call orders anew."""
        authzs_.deactivate_order(self.conn, pending.get("order_url"))
        self.store.write_record(want.name, "abandoned", {"order_url": pending.get("order_url"), "reason": reason,
                                                         "at": iso(utcnow())})
        self.store.clear_pending(want.name)
        raise ProtocolError("Certificate %s: %s; the order %s is abandoned and the next run "
                            "(state=pending) creates a new one" % (want.name, reason, pending.get("order_url")),
                            abandoned_order=pending.get("order_url"))

    # -- state=valid ------------------------------------------------------------------------
    def complete(self, want: Want, assessment: dict) -> dict:
        if self.check_mode:
            return self.result(want, assessment, status="would_issue", changed=assessment["due"])
        pending, key_pem = self.store.read_pending(want.name)
        if not _pending_matches(pending, want, self.directory_url) or not key_pem:
            if assessment["due"]:
                raise InputError("Certificate %s is due (%s) but has no pending order: run "
                                 "certfleet.acme.order with state=pending and deploy its challenges first"
                                 % (want.name, assessment["reason"]))
            return self.unchanged(want, assessment)
        conn = self.conn
        started = time.monotonic()
        order_url = pending["order_url"]
        order = conn.get_order(order_url)
        poller = conn.poller()
        if order.status.name == "pending":
            authzs = [conn.get_authorization(url) for url in order.authorizations]
            for authz in authzs:
                if authz.status.name == "pending":
                    conn.answer(_find_challenge(authz, want.challenge, want.name).uri)
            done = conn.wait_authorizations(order.authorizations, poller)
            failed = [a for a in done.values() if a.status.name != "valid"]
            if failed:
                authzs_.deactivate_pending(conn, order.authorizations)
                self.store.clear_pending(want.name)
                raise ProtocolError("Certificate %s: validation failed: %s" % (want.name, "; ".join(
                    _authz_failure(a) for a in failed)))
            order = conn.get_order(order_url)
        key = keys.load_key(key_pem, "pending certificate key")
        if order.status.name in ("ready", "processing"):
            order = conn.finalize(order_url, order, keys.make_csr(key, want.identifiers), poller)
        if order.status.name != "valid" or not order.certificate:
            authzs_.deactivate_pending(conn, order.authorizations)
            self.store.clear_pending(want.name)
            detail = order.error.detail if getattr(order, "error", None) else "status %s" % order.status.name
            raise ProtocolError("Certificate %s: the order %s failed: %s" % (want.name, order_url, detail))
        pem, chain_info = chains.download_preferred(conn, order.certificate, want.preferred_chain)
        parts = x509.split_pem_chain(pem)
        if not parts:
            raise ProtocolError("Certificate %s: the CA returned no certificate" % want.name)
        leaf, chain = parts[0], "".join(parts[1:])
        info = x509.parse_certificate_pem(leaf)
        missing = set(want.identifiers) - set(info["names"])
        if info["spki_sha256"] != keys.spki_sha256(key):
            self.abandon(want, pending, "the issued certificate does not match the order's key")
        if missing:
            self.abandon(want, pending, "the issued certificate lacks %s" % ", ".join(sorted(missing)))
        meta = {"name": want.name, "identifiers": want.identifiers, "key_type": want.key_type,
                "directory_url": self.directory_url, "serial": info["serial"], "issuer": info["issuer"],
                "not_before": iso(info["not_before"]), "not_after": iso(info["not_after"]),
                "issued_at": iso(utcnow()), "order_url": order_url, "challenge": want.challenge,
                "profile": want.profile}
        self.store.write_cert(want.name, key_pem.encode(), leaf, chain, meta)
        self.store.clear_pending(want.name)
        return self.result(want, assessment, status="valid", changed=True, serial=info["serial"],
                           not_before=meta["not_before"], not_after=meta["not_after"], order_url=order_url,
                           profile=want.profile, **chain_info,
                           seconds=round(time.monotonic() - started, 3))


def _authz_failure(authz: t.Any) -> str:
    for chall_body in authz.challenges:
        error = getattr(chall_body, "error", None)
        if error is not None:
            typ = (error.typ or "").replace("urn:ietf:params:acme:error:", "")
            return "%s: %s: %s" % (authz.identifier.value, typ, error.detail)
    return "%s: authorization %s" % (authz.identifier.value, authz.status.name)


def _once(call: t.Callable[[], t.Any]) -> t.Callable[[], t.Any]:
    """``call`` run at most once (thread-safe); later callers get its value."""
    lock = threading.Lock()
    box: t.List[t.Any] = []

    def get() -> t.Any:
        with lock:
            if not box:
                box.append(call())
            return box[0]
    return get


def run_orders(params: t.Dict[str, t.Any], check_mode: bool, store: t.Any,
               lock: t.Callable[[t.List[str]], t.ContextManager[t.Any]], ledger: t.Any = None,
               wait: float = 60.0, warn: t.Callable[[str], None] = lambda text: None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """The order module: validate everything, lock the names, prepare or complete every order.

    The caller opens the ``store`` (a ``_store.store.Store``) and passes ``lock(names)``, a context
    manager that holds the store's locks of those certificate names (``_store.lock.locked``), and
    the ``ledger`` of runs (``_store.runs``: leases and the challenges handed out), waiting up to
    ``wait`` seconds for a certificate another run holds. ``warn(text)`` gets the module's
    warnings (an unusable ARI answer).
    """
    defaults = {k: params.get(k) for k in ("challenge", "key_type", "renew_before_days", "force", "profile",
                                           "preferred_chain")}
    wants = parse_wants(params["certificates"], defaults)
    verify = verify_setting(params)
    url = params["directory_url"]
    run_id = params.get("run_id") or None
    if run_id is not None:
        validate_safe_name(run_id, "run_id")
    if params["state"] == "released":
        return release_leases(store, lock, ledger, [w.name for w in wants], run_id, check_mode)
    timeout = params.get("request_timeout") or 20.0
    directory = _once(lambda: read_directory(url, verify, timeout))   # plain GET, no account
    advisor = ari.Advisor(directory, lambda ri_url: plain_get(ri_url, verify, timeout), store, check_mode) \
        if params.get("ari", True) else None
    runner = OrderRunner(store, url, lambda: open_account(params, store), check_mode=check_mode,
                         concurrency=params["concurrency"],
                         read_profiles=lambda: directory_profiles(directory()), advisor=advisor)
    work = runner.prepare if params["state"] == "pending" else runner.complete
    if check_mode:
        results, cleanup = runner.run_all(wants, work), []
    else:
        results, cleanup = _run_leased(store, runner, wants, work, params, run_id, lock, ledger, wait)

    if params["state"] == "valid":
        for res in results:
            if res.get("status") == "valid":
                res["files"] = store.cert_paths(res["name"])
                if params["return_content"]:
                    res["cert"], res["chain"] = store.read_issued(res["name"])
    for text in runner.warnings:
        warn(text)
    challenges = [c for res in results for c in res.pop("challenges", None) or []]
    failed = [r for r in results if r.get("status") == "failed"]
    summary = {"certificates": results, "challenges": challenges, "cleanup_challenges": cleanup,
               "due": [r["name"] for r in results if r["action"] != "none"]}
    if failed:
        raise CertfleetError("%d of %d certificates failed: %s" % (
            len(failed), len(results), " | ".join("%s: %s" % (r["name"], r["error"]) for r in failed)), **summary)
    return any(r.get("changed") for r in results) or bool(cleanup), summary


def release_leases(store: t.Any, lock: t.Callable[[t.List[str]], t.ContextManager[t.Any]], runs: t.Any,
                   names: t.List[str], run_id: t.Optional[str], check_mode: bool) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=released: a run that stops before validation gives up its leases (store only, no
    request to the CA), so that the next run need not wait for them to expire."""
    if not run_id:
        raise InputError("state=released needs run_id")
    released = []
    if runs is not None:
        with lock(names):
            for name in names:
                if runs.holds_lease(store, name, run_id):
                    released.append(name)
                    if not check_mode:
                        runs.release_lease(store, name, run_id)
    return bool(released), {"certificates": [], "challenges": [], "cleanup_challenges": [], "due": [],
                            "released": released}


def _run_leased(store: t.Any, runner: OrderRunner, wants: t.List[Want], work: t.Callable[[Want, dict], dict],
                params: t.Dict[str, t.Any], run_id: t.Optional[str],
                lock: t.Callable[[t.List[str]], t.ContextManager[t.Any]], runs: t.Any,
                wait: float) -> t.Tuple[t.List[dict], t.List[dict]]:
    """Run ``work`` under the certificate locks and (with a run_id) the runs' leases; return the
    results and the challenges earlier runs handed out that are to be removed now."""
    names = [w.name for w in wants]
    deadline = time.time() + wait
    while True:
        with lock(names):
            held = [(n, runs.lease_holder(store, n, run_id, time.time())) for n in names] \
                if run_id and runs is not None else []
            held = [(n, lease) for n, lease in held if lease]
            if not held:
                return _run_recorded(store, runner, wants, work, params, run_id, runs)
        if time.time() >= deadline:
            raise CertfleetError("Certificate %s is held by run %s until %s; waited %.0f s" % (
                held[0][0], held[0][1].get("run_id"), held[0][1].get("expires_at"), wait),
                lease=held[0][1])
        time.sleep(1.0)


def _run_recorded(store: t.Any, runner: OrderRunner, wants: t.List[Want], work: t.Callable[[Want, dict], dict],
                  params: t.Dict[str, t.Any], run_id: t.Optional[str],
                  runs: t.Any) -> t.Tuple[t.List[dict], t.List[dict]]:
    if runs is None:   # no ledger of runs: no leases, no record of the challenges handed out
        return runner.run_all(wants, work), []
    pending_state = params["state"] == "pending"
    earlier = dict((w.name, runs.handed_out(store, w.name)) for w in wants)
    try:
        results = runner.run_all(wants, work)
    finally:
        if run_id and not pending_state:
            for want in wants:
                runs.release_lease(store, want.name, run_id)
    cleanup: t.List[dict] = []
    for res in results:
        name, handed = res["name"], res.get("challenges") or []
        cleanup.extend(runs.to_clean(earlier[name], handed, run_id))
        if res.get("status") == "failed":
            continue   # kept: reported again by the next call, in case this one's caller stops here
        if not pending_state:
            runs.clear_handed(store, name)
            continue
        if res.get("status") == "pending":
            runs.record_handed(store, name, res["order_url"], run_id, handed)
            if run_id:
                res["lease_expires"] = runs.take_lease(store, name, run_id, params["lease_seconds"],
                                                       time.time())["expires_at"]
        elif earlier[name]:
            runs.clear_handed(store, name)   # nothing pending any more: reported once, now
    return results, cleanup
