# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""http-01 token files under a web root. Private to this collection."""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.certfleet.acme.plugins.module_utils._common.errors import InputError, TargetError
from ansible_collections.certfleet.acme.plugins.module_utils._common import files

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_THUMBPRINT_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
CHALLENGE_DIR = os.path.join(".well-known", "acme-challenge")
FILE_MODE = 0o644
DIR_MODE = 0o755


def validate_token(token: t.Any) -> str:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise InputError("invalid http-01 token %r: expected 1-256 base64url characters"
                         % (token if isinstance(token, str) and len(token) < 300 else type(token).__name__))
    return token


def validate_key_authorization(token: str, content: t.Any) -> str:
    """The key authorization ``<token>.<account key thumbprint>``, whitespace stripped."""
    if not isinstance(content, str):
        raise InputError("http-01 content for token %s is missing" % token)
    value = content.strip()
    prefix, dot, thumbprint = value.partition(".")
    if prefix != token or not dot or not _THUMBPRINT_RE.fullmatch(thumbprint):
        raise InputError("http-01 content for token %s is not a key authorization "
                         "'<token>.<thumbprint>'" % token)
    return value


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def check_webroot(webroot: t.Optional[str]) -> str:
    if not webroot:
        raise InputError("webroot is required for http-01 challenges")
    if not os.path.isdir(webroot):
        raise InputError("webroot %s does not exist or is not a directory" % webroot, webroot=webroot)
    return webroot


def token_path(webroot: str, token: str) -> str:
    """``<webroot>/.well-known/acme-challenge/<token>``, refusing anything that resolves outside
    the web root (a symlinked challenge directory or token file pointing elsewhere)."""
    validate_token(token)
    check_webroot(webroot)
    root = os.path.realpath(webroot)
    directory = os.path.join(webroot, CHALLENGE_DIR)
    path = os.path.join(directory, token)
    real_dir = os.path.realpath(directory)
    if not _inside(real_dir, root):
        raise TargetError("%s resolves to %s, outside the web root %s" % (directory, real_dir, root),
                          path=directory)
    if os.path.lexists(path) and os.path.dirname(os.path.realpath(path)) != real_dir:
        raise TargetError("%s is a link that leaves the challenge directory" % path, path=path)
    return path


def deploy(webroot: str, challenges: t.Sequence[t.Tuple[str, str]],
           owner: t.Optional[str] = None, group: t.Optional[str] = None,
           check_mode: bool = False) -> t.List[str]:
    """Write each ``(token, key_authorization)``; return the paths written (or to be written).

    Validates everything before touching the disk. Files get 0644, created directories 0755.
    """
    uid, gid = files.resolve_owner(owner), files.resolve_group(group)
    planned = []
    for token, content in challenges:
        path = token_path(webroot, token)
        data = validate_key_authorization(token, content).encode("ascii")
        if files.file_needs_update(path, data, FILE_MODE, uid, gid):
            planned.append((path, data))
    if check_mode or not planned:
        return [path for path, _data in planned]
    well_known = os.path.join(webroot, ".well-known")
    files.ensure_dir(well_known, DIR_MODE, uid, gid)
    files.ensure_dir(os.path.join(webroot, CHALLENGE_DIR), DIR_MODE, uid, gid)
    written = []
    for path, data in planned:
        token_path(webroot, os.path.basename(path))  # re-check now that the directories exist
        if os.path.isdir(path) and not os.path.islink(path):
            raise TargetError("%s is a directory, expected a token file" % path, path=path)
        files.commit_staged([(files.stage_file(path, data, FILE_MODE, uid, gid), path)])
        written.append(path)
    return written


def remove(webroot: str, tokens: t.Sequence[str], check_mode: bool = False) -> t.List[str]:
    """Remove the token files; return the paths removed (or to be removed). Directories stay."""
    paths = [token_path(webroot, token) for token in tokens]
    present = [path for path in paths if os.path.lexists(path)]
    if check_mode:
        return present
    return [path for path in present if files.remove_file(path)]


def existing(webroot: str, tokens: t.Sequence[str]) -> t.List[str]:
    """Which of the tokens' files exist now (for diffs)."""
    return [path for path in (token_path(webroot, token) for token in tokens) if os.path.lexists(path)]
