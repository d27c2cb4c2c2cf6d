# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install certificate sets on a TLS node and roll them back (logic of cert_install). Private to this collection."""

from __future__ import annotations

import datetime
import os
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import (
    CertfleetError, InputError, TargetError)
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import validate_certificate_name
from ansible_collections.certfleet.acme.plugins.module_utils._common.policy import utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._targets import files, nginx, x509

FILE_NAMES = (("cert", "cert.pem"), ("chain", "chain.pem"), ("fullchain", "fullchain.pem"),
              ("privkey", "privkey.pem"))
# Rename order once everything is staged: the key and the full chain (what servers read) first.
COMMIT_ORDER = ("privkey", "fullchain", "cert", "chain", "nginx_snippet")
KEY_MODE = 0o600
DIR_MODE = 0o755
DEFAULT_DEST_DIR = "/etc/certfleet/certs"


class Prepared(t.NamedTuple):
    """One validated certificate set, ready to compare with the disk and write."""

    name: str
    dest: str
    paths: t.Dict[str, str]
    contents: t.Dict[str, bytes]
    summary: t.Dict[str, t.Any]


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# The collection's one certificate-name rule (the store's too), checked before any path is built.
validate_name = validate_certificate_name


def item_dest(item: t.Dict[str, t.Any], dest_dir: str) -> str:
    return item.get("dest") or os.path.join(dest_dir or DEFAULT_DEST_DIR, item["name"])


def item_paths(dest: str, snippet: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, str]:
    paths = dict((key, os.path.join(dest, filename)) for key, filename in FILE_NAMES)
    if snippet:
        paths["nginx_snippet"] = os.path.join(dest, snippet.get("file_name") or nginx.DEFAULT_FILE_NAME)
    return paths


def snippet_options(params: t.Dict[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """The nginx_snippet option when enabled (a dict with ``enabled`` true), else None."""
    options = params.get("nginx_snippet")
    if not options or not options.get("enabled", True):
        return None
    file_name = options.get("file_name") or nginx.DEFAULT_FILE_NAME
    try:
        plain = validate_certificate_name(file_name) not in dict(FILE_NAMES).values()
    except InputError:
        plain = False
    if not plain:
        raise InputError("nginx_snippet.file_name %r must be a plain file name other than the PEM files"
                         % (file_name,))
    return options


def with_snippet(prep: Prepared, options: t.Dict[str, t.Any],
                 version: t.Optional[t.Tuple[int, int, int]]) -> Prepared:
    """``prep`` plus the nginx server snippet that points at its files."""
    paths = item_paths(prep.dest, options)
    data = nginx.render(prep.name, paths["fullchain"], paths["privkey"], options, version)
    contents = dict(prep.contents, nginx_snippet=data)
    return prep._replace(paths=paths, contents=contents)


def summarize(info: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
    """What diffs and results show of a certificate: never key material."""
    return {"serial": info["serial"], "names": info["dns_names"] + info["ip_addresses"],
            "not_after": iso(info["not_after"])}


def summary_of_file(path: str) -> t.Dict[str, t.Any]:
    """Summary of the certificate in a PEM file; {} when absent or unreadable."""
    data = files.read_bytes(path)
    if not data:
        return {}
    try:
        for label, der in x509.pem_blocks(data):
            if label == "CERTIFICATE":
                return summarize(x509.parse_certificate(der))
    except InputError:
        pass
    return {}


def _certificates(text: str, field: str) -> t.List[bytes]:
    """DER of every certificate in ``text``; any other PEM block (a key!) is an error."""
    blocks = x509.pem_blocks(text or "")
    others = sorted(set(label for label, _der in blocks if label != "CERTIFICATE"))
    if others:
        raise InputError("%s contains %s block(s); only certificates belong there"
                         % (field, ", ".join(others)))
    if (text or "").strip() and not blocks:
        raise InputError("%s is not PEM (no BEGIN CERTIFICATE block)" % field)
    for _label, der in blocks:
        x509.parse_certificate(der)
    return [der for _label, der in blocks]


def prepare(item: t.Dict[str, t.Any], dest_dir: str, now: datetime.datetime) -> Prepared:
    """Validate one item for state=present; InputError names the certificate."""
    name = validate_name(item.get("name"))
    try:
        if not item.get("cert"):
            raise InputError("cert is required for state=present")
        if not item.get("privatekey"):
            raise InputError("privatekey is required for state=present")
        leaf_and_more = _certificates(item["cert"], "cert")
        if not leaf_and_more:
            raise InputError("cert holds no certificate")
        chain = _certificates(item.get("chain") or "", "chain")
        if len(leaf_and_more) > 1:
            if chain:
                raise InputError("cert holds %d certificates and chain is set too; pass the leaf "
                                 "alone in cert" % len(leaf_and_more))
            chain = leaf_and_more[1:]
        leaf = x509.parse_certificate(leaf_and_more[0])
        if x509.private_key_spki_sha256(item["privatekey"]) != leaf["spki_sha256"]:
            raise InputError("the private key does not match the certificate (serial %s)"
                             % leaf["serial"])
        if now < leaf["not_before"]:
            raise InputError("certificate serial %s is not valid before %s"
                             % (leaf["serial"], iso(leaf["not_before"])))
        if now >= leaf["not_after"]:
            raise InputError("certificate serial %s expired on %s"
                             % (leaf["serial"], iso(leaf["not_after"])))
        privkey = x509.normalize_private_key_pem(item["privatekey"])
    except CertfleetError as exc:
        raise InputError("certificate %s: %s" % (name, exc.msg), certificate=name) from None
    cert_pem = x509.der_to_pem("CERTIFICATE", leaf_and_more[0])
    chain_pem = "".join(x509.der_to_pem("CERTIFICATE", der) for der in chain)
    dest = item_dest(item, dest_dir)
    contents = {"cert": cert_pem, "chain": chain_pem, "fullchain": cert_pem + chain_pem,
                "privkey": privkey}
    return Prepared(name, dest, item_paths(dest),
                    dict((key, value.encode("ascii")) for key, value in contents.items()),
                    summarize(leaf))


def _check_unique(dests: t.Sequence[t.Tuple[str, str]]) -> None:
    seen = {}  # type: t.Dict[str, str]
    for name, dest in dests:
        real = os.path.realpath(dest)
        if real in seen:
            raise InputError("certificates %s and %s would both be installed in %s"
                             % (seen[real], name, dest))
        seen[real] = name


def pending_files(prep: Prepared, modes: t.Dict[str, int], uid: t.Optional[int],
                  gid: t.Optional[int]) -> t.List[str]:
    """The keys (cert, chain, fullchain, privkey) whose file needs content, mode or owner work."""
    return [key for key in prep.contents
            if files.file_needs_update(prep.paths[key], prep.contents[key], modes[key], uid, gid)]


def _result(name: str, changed: bool, summary: t.Dict[str, t.Any],
            previous: t.Dict[str, t.Any], dest: str, paths: t.Dict[str, str]) -> t.Dict[str, t.Any]:
    return {"name": name, "changed": changed, "serial": summary.get("serial"),
            "names": summary.get("names", []), "not_after": summary.get("not_after"),
            "previous_serial": previous.get("serial"), "dest": dest, "paths": paths}


def install(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
            now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=present: validate every item, then stage all files and rename them into place."""
    now = now or utcnow()
    mode = files.parse_mode(params.get("mode"), 0o644)
    modes = {"cert": mode, "chain": mode, "fullchain": mode, "privkey": KEY_MODE, "nginx_snippet": mode}
    uid, gid = files.resolve_owner(params.get("owner")), files.resolve_group(params.get("group"))
    prepared = [prepare(item, params.get("dest_dir"), now) for item in params["certificates"]]
    snippet = snippet_options(params)
    if snippet:
        version = nginx.parse_version(snippet.get("nginx_version")) if snippet.get("nginx_version") \
            else nginx.detect_version(snippet.get("nginx_path") or "nginx")
        prepared = [with_snippet(prep, snippet, version) for prep in prepared]
    _check_unique([(prep.name, prep.dest) for prep in prepared])
    plans = []
    for prep in prepared:
        dir_changed = files.ensure_dir(prep.dest, DIR_MODE, uid, gid, check_mode=True)
        plans.append((prep, dir_changed, pending_files(prep, modes, uid, gid),
                      summary_of_file(prep.paths["cert"])))
    if not check_mode:
        _apply(plans, modes, uid, gid, bool(params.get("backup", True)))
    results = []
    diff = {"before": {}, "after": {}}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for prep, dir_changed, pending, previous in plans:
        results.append(_result(prep.name, dir_changed or bool(pending), prep.summary, previous,
                               prep.dest, prep.paths))
        diff["before"][prep.name] = previous
        diff["after"][prep.name] = prep.summary
    out = {"certificates": results}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = diff
    return any(item["changed"] for item in results), out


def _apply(plans: t.Sequence[t.Any], modes: t.Dict[str, int], uid: t.Optional[int],
           gid: t.Optional[int], backup: bool) -> None:
    staged = []  # type: t.List[t.Tuple[str, str]]
    attr_only = []  # type: t.List[t.Tuple[str, int]]
    try:
        for prep, dir_changed, pending, _previous in plans:
            if dir_changed:
                files.ensure_dir(prep.dest, DIR_MODE, uid, gid)
            if not pending:
                continue
            if backup:
                files.backup_set([prep.paths[key] for key in COMMIT_ORDER if key in prep.paths])
            for key in COMMIT_ORDER:
                if key not in pending:
                    continue
                path = prep.paths[key]
                if files.read_bytes(path) == prep.contents[key] and not os.path.islink(path):
                    attr_only.append((path, modes[key]))
                else:
                    staged.append((files.stage_file(path, prep.contents[key], modes[key], uid, gid),
                                   path))
    except BaseException:
        files.discard_staged(staged)
        raise
    files.commit_staged(staged)
    for path, file_mode in attr_only:
        files.set_attrs(path, file_mode, uid, gid)


def rollback(params: t.Dict[str, t.Any], check_mode: bool = False,
             want_diff: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=rollback: restore each named set from its ``.certfleet-prev`` backup."""
    targets = []
    for item in params["certificates"]:
        name = validate_name(item.get("name"))
        dest = item_dest(item, params.get("dest_dir"))
        paths = [path for _key, path in sorted(item_paths(dest, snippet_options(params)).items())]
        if not files.has_backup(paths):
            raise TargetError("certificate %s: no backup to roll back to (no %s%s files in %s)"
                              % (name, "*.pem", files.BACKUP_SUFFIX, dest), certificate=name)
        targets.append((name, dest, paths))
    _check_unique([(name, dest) for name, dest, _paths in targets])
    results = []
    diff = {"before": {}, "after": {}}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for name, dest, paths in targets:
        cert_path = item_paths(dest)["cert"]
        before = summary_of_file(cert_path)
        changed = files.restore_set(paths, dry_run=check_mode)
        after = summary_of_file(files.backup_path(cert_path) if check_mode else cert_path)
        results.append(_result(name, changed, after, before, dest,
                               item_paths(dest, snippet_options(params))))
        diff["before"][name] = before
        diff["after"][name] = after
    out = {"certificates": results}  # type: t.Dict[str, t.Any]
    if want_diff:
        out["diff"] = diff
    return any(item["changed"] for item in results), out


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    if params.get("state") == "rollback":
        return rollback(params, check_mode, want_diff)
    return install(params, check_mode, want_diff, now)
