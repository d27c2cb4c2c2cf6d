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
from ansible_collections.certfleet.acme.plugins.module_utils._common.identifiers import is_safe_name, validate_certificate_name
from ansible_collections.certfleet.acme.plugins.module_utils._common.times import iso, utcnow
from ansible_collections.certfleet.acme.plugins.module_utils._common import files
from ansible_collections.certfleet.acme.plugins.module_utils._pki import x509
from ansible_collections.certfleet.acme.plugins.module_utils._targets import apache_site, hooks, nginx, nginx_site

FILE_NAMES = (("cert", "cert.pem"), ("chain", "chain.pem"), ("fullchain", "fullchain.pem"),
              ("privkey", "privkey.pem"))
# Rename order once everything is staged: the key and the full chain (what servers read) first.
COMMIT_ORDER = ("privkey", "fullchain", "cert", "chain", "nginx_snippet")
KEY_MODE = 0o600
DIR_MODE = 0o755
DEFAULT_DEST_DIR = "/etc/certfleet/certs"

# The options of cert_install (its DOCUMENTATION is tested against this).
ARGUMENT_SPEC = dict(
    certificates=dict(type="list", elements="dict", required=True, options=dict(
        name=dict(type="str", required=True),
        cert=dict(type="str"),
        chain=dict(type="str", default=""),
        privatekey=dict(type="str", no_log=True),
        dest=dict(type="path"),
        nginx_server=dict(type="dict", options=dict(
            server_names=dict(type="list", elements="str", required=True),
            extra=dict(type="str", default=""),
        )),
        nginx_loads=dict(type="bool", default=False),
        apache_vhost=dict(type="dict", options=dict(
            server_names=dict(type="list", elements="str", required=True),
            extra=dict(type="str", default=""),
        )),
        apache_loads=dict(type="bool", default=False),
        deploy_hooks=dict(type="list", elements="raw", default=[]),
    )),
    dest_dir=dict(type="path", default=DEFAULT_DEST_DIR),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw", default="0644"),
    dir_mode=dict(type="raw", default="0755"),
    nginx_snippet=dict(type="dict", options=dict(
        enabled=dict(type="bool", default=True),
        file_name=dict(type="str", default="nginx-tls.conf"),
        listen=dict(type="list", elements="str"),
        http2=dict(type="bool", default=True),
        protocols=dict(type="list", elements="str", default=["TLSv1.2", "TLSv1.3"]),
        nginx_version=dict(type="str"),
        nginx_path=dict(type="path", default="nginx"),
    )),
    nginx=dict(type="dict", options=nginx_site.OPTIONS),
    absent=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        dest=dict(type="path"),
    )),
    apache=dict(type="dict", options=apache_site.OPTIONS),
    deploy_hooks=dict(type="list", elements="raw", default=[]),
    backup=dict(type="bool", default=True),
    state=dict(type="str", choices=["present", "rollback", "commit"], default="present"),
)


class Prepared(t.NamedTuple):
    """One validated certificate set, ready to compare with the disk and write."""

    name: str
    dest: str
    paths: t.Dict[str, str]
    contents: t.Dict[str, bytes]
    summary: t.Dict[str, t.Any]


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
    if not is_safe_name(file_name) or file_name in dict(FILE_NAMES).values():
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
    return {"serial": info["serial"], "names": info["names"],
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
    name = validate_certificate_name(item.get("name"))
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


class Plan(t.NamedTuple):
    """What state=present does to one certificate set."""

    prep: Prepared
    dir_changed: bool
    pending: t.List[str]
    previous: t.Dict[str, t.Any]
    server: t.Optional[nginx.Server]
    loads: bool = False
    vhost: t.Optional[apache_site.VirtualHost] = None
    apache_loads: bool = False
    hooks: t.Sequence[hooks.Hook] = ()
    content_changed: bool = False


class Site(t.NamedTuple):
    """A web server this call tests and reloads: its option, its managed file (or None), and
    whether it loads a file this call changes."""

    label: str
    options: t.Dict[str, t.Any]
    confs: t.Sequence[nginx_site.Conf]
    loads: t.Callable[[Plan], bool]
    test_and_reload: t.Callable[[t.Dict[str, t.Any], nginx_site.Undo], t.Tuple[bool, bool]]
    reload_after_rollback: t.Callable[[t.Dict[str, t.Any]], bool]

    def changed(self) -> bool:
        return any(conf.changed for conf in self.confs)


def _site_entry(item: t.Dict[str, t.Any], prep: Prepared, options: t.Optional[t.Dict[str, t.Any]],
                key: str, server: str, module: t.Any) -> t.Optional[nginx.Server]:
    """The item's block in the ``server`` option's file (``key``: nginx_server or apache_vhost),
    checked by ``module`` (nginx or apache_site); None when the item has no ``key``."""
    spec = item.get(key)
    if not spec:
        return None
    what = "certificate %s: %s" % (prep.name, key)
    if options is None or not options.get("conf_path"):
        raise InputError("%s needs the %s option (%s.conf_path)" % (what, server, server), certificate=prep.name)
    return nginx.Server(prep.name, module.server_names(spec.get("server_names"), what),
                        prep.paths["fullchain"], prep.paths["privkey"],
                        module.directive_lines(spec.get("extra"), what + ".extra"))


def server_of(item: t.Dict[str, t.Any], prep: Prepared,
              site: t.Optional[t.Dict[str, t.Any]]) -> t.Optional[nginx.Server]:
    """The item's nginx server block, checked; None when it has no ``nginx_server``."""
    return _site_entry(item, prep, site, "nginx_server", "nginx", nginx)


def vhost_of(item: t.Dict[str, t.Any], prep: Prepared,
             options: t.Optional[t.Dict[str, t.Any]]) -> t.Optional[apache_site.VirtualHost]:
    """The item's Apache ``<VirtualHost>``, checked; None when it has no ``apache_vhost``."""
    return _site_entry(item, prep, options, "apache_vhost", "apache", apache_site)


def item_hooks(params: t.Dict[str, t.Any], item: t.Dict[str, t.Any], name: str) -> t.List[hooks.Hook]:
    """The deploy hooks of one certificate: its own, then the node's (O(deploy_hooks))."""
    return (hooks.parse(item.get("deploy_hooks"), "certificate %s: deploy_hooks" % name)
            + hooks.parse(params.get("deploy_hooks"), "deploy_hooks"))


def _content_changed(prep: Prepared, pending: t.Sequence[str]) -> bool:
    return any(files.read_bytes(prep.paths[key]) != prep.contents[key] for key in pending)


def _sites(nginx_options: t.Optional[t.Dict[str, t.Any]], nginx_confs: t.Sequence[nginx_site.Conf],
           apache_options: t.Optional[t.Dict[str, t.Any]],
           apache_confs: t.Sequence[nginx_site.Conf]) -> t.List[Site]:
    sites = []
    if nginx_options is not None:
        sites.append(Site("nginx", nginx_options, nginx_confs, lambda plan: plan.loads,
                          nginx_site.test_and_reload, nginx_site.reload_after_rollback))
    if apache_options is not None:
        sites.append(Site("apache", apache_options, apache_confs, lambda plan: plan.apache_loads,
                          apache_site.test_and_reload, apache_site.reload_after_rollback))
    return sites


class Removal(t.NamedTuple):
    """What state=present does to one set named in ``absent``: the files it removes."""

    name: str
    dest: str
    existing: t.List[str]
    previous: t.Dict[str, t.Any]


def removals(params: t.Dict[str, t.Any], present: t.Sequence[Prepared]) -> t.List[Removal]:
    """The sets of ``absent``, checked (names, no overlap with a set installed by the same call),
    each with the files (and backups) of it that exist."""
    out = []
    taken = dict((os.path.realpath(prep.dest), prep.name) for prep in present)
    snippet = snippet_options(params)
    for item in params.get("absent") or []:
        name = validate_certificate_name(item.get("name"))
        dest = item_dest(item, params.get("dest_dir"))
        if name in taken.values() or os.path.realpath(dest) in taken:
            raise InputError("certificate %s is both installed and absent (%s)" % (name, dest),
                             certificate=name)
        taken[os.path.realpath(dest)] = name
        paths = [path for _key, path in sorted(item_paths(dest, snippet).items())]
        existing = [p for path in paths for p in (path, files.backup_path(path)) if os.path.lexists(p)]
        out.append(Removal(name, dest, existing, summary_of_file(item_paths(dest)["cert"])))
    return out


def install(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
            now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=present: validate every item and the nginx file, then write them as one transaction
    (tested and reloaded when nginx loads something that changed, all put back on a failure)."""
    now = now or utcnow()
    mode = files.parse_mode(params.get("mode"), 0o644)
    modes = {"cert": mode, "chain": mode, "fullchain": mode, "privkey": KEY_MODE, "nginx_snippet": mode}
    dir_mode = files.parse_mode(params.get("dir_mode"), DIR_MODE)
    uid, gid = files.resolve_owner(params.get("owner")), files.resolve_group(params.get("group"))
    site = nginx_site.options_of(params)
    prepared = [prepare(item, params.get("dest_dir"), now) for item in params["certificates"]]
    snippet = snippet_options(params)
    if snippet:
        version = nginx.parse_version(snippet.get("nginx_version")) if snippet.get("nginx_version") \
            else nginx.detect_version(snippet.get("nginx_path") or "nginx")
        prepared = [with_snippet(prep, snippet, version) for prep in prepared]
    _check_unique([(prep.name, prep.dest) for prep in prepared])
    gone = removals(params, prepared)
    servers = [server_of(item, prep, site) for item, prep in zip(params["certificates"], prepared)]
    conf = nginx_site.plan(site, [server for server in servers if server]) \
        if site and site.get("conf_path") else None
    http_conf = nginx_site.plan_http(site) if site and site.get("http_server") else None
    apache = apache_site.options_of(params)
    vhosts = [vhost_of(item, prep, apache) for item, prep in zip(params["certificates"], prepared)]
    apache_conf = apache_site.plan(apache, [vhost for vhost in vhosts if vhost]) \
        if apache and apache.get("conf_path") else None
    plans = []
    for item, prep, server, vhost in zip(params["certificates"], prepared, servers, vhosts):
        pending = pending_files(prep, modes, uid, gid)
        plans.append(Plan(prep, files.ensure_dir(prep.dest, dir_mode, uid, gid, check_mode=True),
                          pending, summary_of_file(prep.paths["cert"]), server,
                          bool(server or item.get("nginx_loads")), vhost,
                          bool(vhost or item.get("apache_loads")), item_hooks(params, item, prep.name),
                          _content_changed(prep, pending)))
    sites = _sites(site, [c for c in (conf, http_conf) if c is not None], apache,
                   [apache_conf] if apache_conf is not None else [])
    done = dict((s.label, (False, False)) for s in sites)  # type: t.Dict[str, t.Tuple[bool, bool]]
    hook_results = []  # type: t.List[t.Dict[str, t.Any]]
    if not check_mode:
        done, hook_results = _transaction(plans, sites, modes, dir_mode, uid, gid,
                                          bool(params.get("backup", True)), gone)
    tested, reloaded = done.get("nginx", (False, False))
    results = []
    diff = {"before": {}, "after": {}}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for plan in plans:
        entry = _result(plan.prep.name, plan.dir_changed or bool(plan.pending), plan.prep.summary,
                        plan.previous, plan.prep.dest, plan.prep.paths)
        entry["nginx_server"] = plan.server is not None
        entry["apache_vhost"] = plan.vhost is not None
        entry["deploy_hooks"] = [hook.label for hook in plan.hooks] if plan.content_changed else []
        results.append(entry)
        diff["before"][plan.prep.name] = plan.previous
        diff["after"][plan.prep.name] = plan.prep.summary
    out = {"certificates": results, "deploy_hooks": hook_results, "absent": [
        {"name": r.name, "dest": r.dest, "changed": bool(r.existing), "removed": r.existing,
         "previous_serial": r.previous.get("serial")} for r in gone]}  # type: t.Dict[str, t.Any]
    for removal in gone:
        diff["before"][removal.name] = removal.previous
        diff["after"][removal.name] = {}
    changed = any(item["changed"] for item in results + out["absent"])
    if apache is not None:
        out["apache"] = dict(nginx_site.result(apache_conf, *done["apache"]), conf_path=apache_conf.path) \
            if apache_conf is not None else {"conf_path": None, "changed": False, "previous_content": None,
                                             "content": None, "tested": done["apache"][0],
                                             "reloaded": done["apache"][1]}
        changed = changed or bool(apache_conf and apache_conf.changed)
    if conf is not None:
        out["nginx"] = nginx_site.result(conf, tested, reloaded)
        changed = changed or conf.changed
    elif site is not None:
        out["nginx"] = {"conf_path": None, "changed": False, "previous_content": None, "content": None,
                        "tested": tested, "reloaded": reloaded}
    if http_conf is not None:
        out["nginx"]["http_server"] = nginx_site.result(http_conf, tested, reloaded)
        out["nginx"]["changed"] = out["nginx"]["changed"] or http_conf.changed
        changed = changed or http_conf.changed
    if want_diff:
        texts = [{"before_header": "%s_conf %s" % (site_.label, one.path),
                  "after_header": "%s_conf %s" % (site_.label, one.path),
                  "before": (one.before or b"").decode("utf-8", "replace"), "after": one.content.decode("utf-8")}
                 for site_ in sites for one in site_.confs]
        out["diff"] = [diff] + texts if texts else diff
    return changed, out


def _transaction(plans: t.Sequence[Plan], sites: t.Sequence[Site], modes: t.Dict[str, int],
                 dir_mode: int, uid: t.Optional[int], gid: t.Optional[int], backup: bool,
                 gone: t.Sequence[Removal] = ()
                 ) -> t.Tuple[t.Dict[str, t.Tuple[bool, bool]], t.List[t.Dict[str, t.Any]]]:
    """Write, and remove the ``absent`` sets; test and reload each server that loads a changed
    file (every server when a set was removed); run the deploy hooks of the changed certificates.
    On any failure put every file this call touched (sets, backups, the servers' files) back as it
    was, remove the directories it made, reload the servers again and rerun the hooks that had
    succeeded (on the previous files). The directory of a removed set goes once all passed.
    Returns ((tested, reloaded) per server label, the hook results)."""
    done = dict((site.label, (False, False)) for site in sites)
    work = [plan for plan in plans if plan.dir_changed or plan.pending]
    gone = [removal for removal in gone if removal.existing]
    if not work and not gone and not any(site.changed() for site in sites):
        return done, []
    touched = []  # type: t.List[str]
    created = []  # type: t.List[str]
    for plan in work:
        created += files.missing_dirs(plan.prep.dest)
        for key in COMMIT_ORDER:
            if key in plan.prep.paths:
                touched += [plan.prep.paths[key], files.backup_path(plan.prep.paths[key])]
    for site in sites:
        for conf in site.confs:
            created += files.missing_dirs(os.path.dirname(conf.path))
            touched += nginx_site.touched_paths(conf.path)
    touched += [path for removal in gone for path in removal.existing]
    saved = files.snapshot(touched)

    def undo() -> t.List[str]:
        restored = files.restore_snapshot(saved, touched)
        files.remove_empty_dirs(created)
        return restored

    try:
        _apply(work, modes, dir_mode, uid, gid, backup)
        for site in sites:
            for conf in site.confs:
                nginx_site.write(conf, backup)
        for path in (path for removal in gone for path in removal.existing):
            files.remove_file(path)
    except BaseException:
        undo()
        raise
    reloaded_sites = []  # type: t.List[Site]
    for site in sites:
        if gone or site.changed() or any(site.loads(plan) for plan in work):
            try:
                done[site.label] = site.test_and_reload(site.options, undo)
            except TargetError:
                for other in reloaded_sites:   # the files are back: so must the servers be
                    _quiet_reload(other)
                raise
            reloaded_sites.append(site)
    results = _run_hooks(work, reloaded_sites, undo)
    for removal in gone:  # empty now, unless something of someone else's is in it
        files.remove_empty_dirs([removal.dest])
    return done, results


def _quiet_reload(site: Site) -> t.Optional[str]:
    try:
        site.reload_after_rollback(site.options)
    except TargetError as exc:
        return exc.msg
    return None


def _run_hooks(work: t.Sequence[Plan], reloaded: t.Sequence[Site],
               undo: t.Callable[[], t.List[str]]) -> t.List[t.Dict[str, t.Any]]:
    """The deploy hooks of every certificate whose files changed; a failure undoes the call."""
    results = []  # type: t.List[t.Dict[str, t.Any]]
    ran = []  # type: t.List[t.Tuple[hooks.Hook, t.Dict[str, str]]]
    for plan in work:
        if not plan.content_changed:
            continue
        prep = plan.prep
        env = hooks.environment(prep.name, prep.dest, prep.paths, prep.summary, plan.previous.get("serial"))
        for hook in plan.hooks:
            result = hooks.run(hook, env)
            results.append(result)
            if result["ok"]:
                ran.append((hook, env if plan.previous else {}))
                continue
            restored = undo()
            notes = [note for note in (_quiet_reload(site) for site in reloaded) if note]
            if reloaded and not notes:
                notes.append("reloaded %s with the previous files" % ", ".join(site.label for site in reloaded))
            again = [hooks.run(hook_, dict(env_, CERTFLEET_ROLLBACK="1")) for hook_, env_ in ran if env_]
            if again:
                notes.append("reran %d hook(s) on the previous files (%d failed)"
                             % (len(again), len([r for r in again if not r["ok"]])))
            raise TargetError("%s%s%s" % (hooks.describe(result), nginx_site.restored_note(restored),
                                          "".join("; " + note for note in notes)),
                              rc=result["rc"], stderr=result["stderr"], restored=restored,
                              deploy_hooks=results)
    return results


def _apply(plans: t.Sequence[Plan], modes: t.Dict[str, int], dir_mode: int, uid: t.Optional[int],
           gid: t.Optional[int], backup: bool) -> None:
    staged = []  # type: t.List[t.Tuple[str, str]]
    attr_only = []  # type: t.List[t.Tuple[str, int]]
    try:
        for plan in plans:
            prep = plan.prep
            if plan.dir_changed:
                files.ensure_dir(prep.dest, dir_mode, uid, gid)
            if not plan.pending:
                continue
            if backup:
                files.backup_set([prep.paths[key] for key in COMMIT_ORDER if key in prep.paths])
            for key in COMMIT_ORDER:
                if key not in plan.pending:
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


def _named_sets(params: t.Dict[str, t.Any]) -> t.List[t.Tuple[str, str, t.List[str]]]:
    """(name, dest, paths of the set) of each item of state=rollback or commit."""
    targets = []
    for item in params["certificates"]:
        name = validate_certificate_name(item.get("name"))
        dest = item_dest(item, params.get("dest_dir"))
        targets.append((name, dest, [path for _key, path in
                                     sorted(item_paths(dest, snippet_options(params)).items())]))
    _check_unique([(name, dest) for name, dest, _paths in targets])
    return targets


def rollback(params: t.Dict[str, t.Any], check_mode: bool = False,
             want_diff: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=rollback: restore each named set and the nginx file from their backups, then reload.

    A set without a backup (a first installation) is reported, not an error."""
    site = nginx_site.options_of(params)
    apache = apache_site.options_of(params)
    items = dict((validate_certificate_name(item.get("name")), item) for item in params["certificates"])
    results = []
    rerun = []  # type: t.List[t.Tuple[t.List[hooks.Hook], t.Dict[str, str]]]
    diff = {"before": {}, "after": {}}  # type: t.Dict[str, t.Dict[str, t.Any]]
    for name, dest, paths in _named_sets(params):
        cert_path = item_paths(dest)["cert"]
        before = summary_of_file(cert_path)
        has_backup = files.has_backup(paths)
        changed = has_backup and files.restore_set(paths, dry_run=check_mode)
        after = summary_of_file(files.backup_path(cert_path)) if check_mode and has_backup else \
            summary_of_file(cert_path)
        entry = _result(name, changed, after, before, dest, item_paths(dest, snippet_options(params)))
        entry["rolled_back"] = has_backup
        if not has_backup:
            entry["reason"] = "no previous files"
        elif changed:
            rerun.append((item_hooks(params, items[name], name),
                          dict(hooks.environment(name, dest, entry["paths"], after, before.get("serial")),
                               CERTFLEET_ROLLBACK="1")))
        results.append(entry)
        diff["before"][name] = before
        diff["after"][name] = after
    changed = any(item["changed"] for item in results)
    out = {"certificates": results}  # type: t.Dict[str, t.Any]
    if site is not None:
        each = [nginx_site.rollback(path, dry_run=check_mode) for path in nginx_site.managed_paths(site)]   # all of them
        restored = any(each)
        changed = changed or restored
        reloaded = changed and not check_mode and nginx_site.reload_after_rollback(site)
        out["nginx"] = {"conf_path": site.get("conf_path"), "restored": restored, "reloaded": reloaded}
    if apache is not None:
        restored = bool(apache.get("conf_path")) and nginx_site.rollback(apache["conf_path"], dry_run=check_mode)
        changed = changed or restored
        reloaded = changed and not check_mode and apache_site.reload_after_rollback(apache)
        out["apache"] = {"conf_path": apache.get("conf_path"), "restored": restored, "reloaded": reloaded}
    out["deploy_hooks"] = [] if check_mode else \
        [hooks.run(hook, env) for item_hooks_, env in rerun for hook in item_hooks_]
    failed = [result for result in out["deploy_hooks"] if not result["ok"]]
    if failed:
        raise TargetError("the previous files are back, but %s" % hooks.describe(failed[0]), **out)
    if want_diff:
        out["diff"] = diff
    return changed, out


def commit(params: t.Dict[str, t.Any], check_mode: bool = False) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    """state=commit: the new sets are good; remove their backups (old private keys included) and
    the nginx file's backup, so nothing old stays on the node."""
    site = nginx_site.options_of(params)
    results = []
    for name, dest, paths in _named_sets(params):
        removed = nginx_site.remove_backups([files.backup_path(path) for path in paths], check_mode)
        results.append({"name": name, "dest": dest, "changed": bool(removed), "removed": removed})
    out = {"certificates": results}  # type: t.Dict[str, t.Any]
    changed = any(item["changed"] for item in results)
    for label, options in (("nginx", site), ("apache", apache_site.options_of(params))):
        paths = nginx_site.managed_paths(options) if label == "nginx" else \
            [options["conf_path"]] if options and options.get("conf_path") else []
        if paths:
            removed = nginx_site.remove_backups([backup for path in paths
                                                 for backup in nginx_site.backup_paths(path)], check_mode)
            out[label] = {"conf_path": options.get("conf_path"), "changed": bool(removed), "removed": removed}
            changed = changed or bool(removed)
    return changed, out


def run(params: t.Dict[str, t.Any], check_mode: bool = False, want_diff: bool = False,
        now: t.Optional[datetime.datetime] = None) -> t.Tuple[bool, t.Dict[str, t.Any]]:
    if params.get("state") == "rollback":
        return rollback(params, check_mode, want_diff)
    if params.get("state") == "commit":
        return commit(params, check_mode)
    return install(params, check_mode, want_diff, now)
