# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run holds in the store between its calls: leases and the challenges it handed out. Private to this collection.

- ``certs/<name>/lease.json`` ``{run_id, expires}``: the run that ordered or resumed the
  certificate (``order state=pending``) holds it until its ``state=valid`` call ends or the lease
  expires, so another run neither answers its challenges nor removes its tokens meanwhile.
- ``certs/<name>/challenges.json`` ``{entries: [{order_url, run_id, challenge}]}``: every
  challenge handed out for the certificate and not yet reported for cleanup, so the tokens and
  TXT records of a killed run are removed by the run that resumes or abandons its order.

Every function here runs under the certificate's lock.
"""

from __future__ import annotations

import time
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._store.store import Store

LEASE = "lease"
HANDED = "challenges"


def lease_holder(store: Store, name: str, run_id: str, now: float) -> t.Optional[dict]:
    """The live lease of another run on ``name``, or None."""
    lease = store.read_record(name, LEASE)
    if lease and lease.get("run_id") != run_id and float(lease.get("expires", 0)) > now:
        return lease
    return None


def take_lease(store: Store, name: str, run_id: str, seconds: float, now: float) -> dict:
    lease = {"run_id": run_id, "expires": now + seconds,
             "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + seconds))}
    store.write_record(name, LEASE, lease)
    return lease


def holds_lease(store: Store, name: str, run_id: str) -> bool:
    lease = store.read_record(name, LEASE)
    return lease is not None and lease.get("run_id") == run_id


def release_lease(store: Store, name: str, run_id: str) -> None:
    lease = store.read_record(name, LEASE)
    if lease is not None and lease.get("run_id") == run_id:
        store.write_record(name, LEASE, None)


def _key(challenge: dict) -> t.Tuple[t.Any, ...]:
    return challenge.get("type"), challenge.get("identifier"), challenge.get("token")


def handed_out(store: Store, name: str) -> t.List[dict]:
    return list((store.read_record(name, HANDED) or {}).get("entries") or [])


def record_handed(store: Store, name: str, order_url: str, run_id: t.Optional[str],
                  challenges: t.Sequence[dict]) -> None:
    """Add the challenges handed out now to the record (once each)."""
    entries = handed_out(store, name)
    known = set(_key(e["challenge"]) for e in entries)
    new = [{"order_url": order_url, "run_id": run_id, "challenge": c} for c in challenges if _key(c) not in known]
    if new:
        store.write_record(name, HANDED, {"entries": entries + new})


def to_clean(entries: t.Sequence[dict], in_use: t.Sequence[dict], run_id: t.Optional[str]) -> t.List[dict]:
    """The recorded challenges to remove: not handed out again now, and (with a run_id) not this run's."""
    keep = set(_key(c) for c in in_use)
    out = []
    for entry in entries:
        challenge = entry["challenge"]
        if _key(challenge) in keep or (run_id is not None and entry.get("run_id") == run_id):
            continue
        if _key(challenge) not in set(_key(c) for c in out):
            out.append(challenge)
    return out


def clear_handed(store: Store, name: str) -> None:
    store.write_record(name, HANDED, None)
