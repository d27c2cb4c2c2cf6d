# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils is layered by where its code runs; the imports (read with ast) must say so.

    _common  ->  _pki  ->  _acme, _store, _dns, _probe  ->  _targets  ->  modules

A package imports only itself and lower layers (siblings never import each other), there are no
cycles and no function-local imports of collection code. AnsiballZ ships every file a module
imports: a node-side module's closure holds only the standard library, AnsibleModule, the
node-side files and the packages named in NODE_OPTIONAL, imported at module level in a ``try``
that catches ImportError (only store-host paths use them, e.g. idna in _common.idna2008).
"""

from __future__ import annotations

import ast
import os
import sys
import typing as t

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 4))
PREFIX = "ansible_collections.certfleet.acme."
LAYERS = {"_common": 0, "_pki": 1, "_acme": 2, "_store": 2, "_dns": 2, "_probe": 2, "_targets": 3}
MODULES_LAYER = 4
NODE_MODULES = ("challenge", "cert_install", "cert_info", "haproxy_cert", "traefik_cert")
NODE_ALLOWED = ("_common.", "_pki.x509", "_probe.", "_targets.")
# Outside packages a node-side file may import if guarded by ImportError, because no node-side
# code path needs them (a guarded cryptography import is still required: it is not listed here).
NODE_OPTIONAL = {"idna"}
ANSIBLE_ALLOWED = {"ansible.module_utils.basic"}  # AnsibleModule: every module has it anyway
MU = PREFIX + "plugins.module_utils."


def _path_of(name: str) -> t.Optional[str]:
    """The file of a collection module name, or None if it is not one."""
    if not name.startswith(PREFIX):
        return None
    base = os.path.join(ROOT, *name[len(PREFIX):].split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _name_of(path: str) -> str:
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return PREFIX + (rel[:-len(".__init__")] if rel.endswith(".__init__") else rel)


def _files() -> t.List[str]:
    found = []
    for top in ("plugins/module_utils", "plugins/modules"):
        for dirpath, _dirs, names in os.walk(os.path.join(ROOT, top)):
            found.extend(os.path.join(dirpath, n) for n in names if n.endswith(".py"))
    return sorted(found)


class Import(t.NamedTuple):
    target: str  # a module name (collection file or outside package)
    top_level: bool
    optional: bool = False  # module level, in a try whose handler catches ImportError


def _catches_import_error(node: ast.Try) -> bool:
    names = []
    for handler in node.handlers:
        kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        names.extend(k.id for k in kinds if isinstance(k, ast.Name))
    return bool({"ImportError", "ModuleNotFoundError"} & set(names))


def _imports(path: str) -> t.List[Import]:
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    top, optional = set(), set()
    for node in tree.body:  # module level, also inside a try at module level
        for inner in ast.walk(node) if isinstance(node, ast.Try) else [node]:
            top.add(id(inner))
        if isinstance(node, ast.Try) and _catches_import_error(node):
            optional.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, id(node) in top, id(node) in optional) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "%s: relative import" % path
            if node.module == "__future__":
                continue
            for alias in node.names:
                sub = "%s.%s" % (node.module, alias.name)
                found.append(Import(sub if _path_of(sub) else node.module, id(node) in top, id(node) in optional))
    return found


GRAPH = dict((_name_of(p), _imports(p)) for p in _files())


def _layer(name: str) -> t.Optional[t.Tuple[int, str]]:
    if name.startswith(PREFIX + "plugins.modules."):
        return MODULES_LAYER, "modules"
    if name.startswith(MU):
        package = name[len(MU):].split(".")[0]
        assert package in LAYERS, "%s: module_utils package %s has no layer" % (name, package)
        return LAYERS[package], package
    return None


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_go_down_only(name):
    mine = _layer(name)
    for imp in GRAPH[name]:
        theirs = _layer(imp.target)
        if theirs is None:
            continue
        assert imp.top_level, "%s imports %s inside a function" % (name, imp.target)
        if theirs[1] == mine[1] and mine[1] != "modules":
            continue  # inside one package
        assert theirs[0] < mine[0], "%s (%s) must not import %s (%s)" % (name, mine[1], imp.target, theirs[1])


def test_no_cycles():
    state = {}  # type: t.Dict[str, int]  # 1 visiting, 2 done

    def visit(name: str, stack: t.List[str]) -> None:
        state[name] = 1
        for imp in GRAPH.get(name, []):
            if imp.target not in GRAPH:
                continue
            if state.get(imp.target) == 1:
                cycle = stack[stack.index(imp.target):] + [imp.target] if imp.target in stack else [name, imp.target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if imp.target not in state:
                visit(imp.target, stack + [imp.target])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def closure(name: str, required_only: bool = False) -> t.Set[str]:
    """Every module name a module imports, transitively through the collection's files
    (with ``required_only``, without the guarded imports of NODE_OPTIONAL packages)."""
    seen = set()  # type: t.Set[str]
    todo = [name]
    while todo:
        for imp in GRAPH.get(todo.pop(), []):
            if required_only and imp.optional and imp.target.split(".")[0] in NODE_OPTIONAL:
                continue
            if imp.target not in seen:
                seen.add(imp.target)
                if imp.target in GRAPH:
                    todo.append(imp.target)
    return seen


def _node_side_violations(name: str) -> t.List[str]:
    bad = []
    for target in sorted(closure(name, required_only=True)):
        if target.startswith(MU):
            if not target[len(MU):].startswith(NODE_ALLOWED):
                bad.append(target)
        elif target.startswith("ansible"):
            if target not in ANSIBLE_ALLOWED:
                bad.append(target)
        elif target.split(".")[0] not in sys.stdlib_module_names:
            bad.append(target)
    return bad


@pytest.mark.parametrize("module", NODE_MODULES)
def test_node_side_modules_ship_no_store_host_code(module):
    name = PREFIX + "plugins.modules." + module
    assert name in GRAPH
    assert _node_side_violations(name) == []


def test_the_checks_would_catch_a_store_host_import():
    """The node-side check is not vacuous: store-host modules fail it, for the right reasons."""
    dns = _node_side_violations(PREFIX + "plugins.modules.dns_challenge")
    assert MU + "_dns.challenge" in dns and "dns" in [n.split(".")[0] for n in dns]
    # idna reaches the node-side modules only as an optional import (guarded by ImportError)
    challenge = PREFIX + "plugins.modules.challenge"
    assert "idna" in closure(challenge) and "idna" not in closure(challenge, required_only=True)
    order = _node_side_violations(PREFIX + "plugins.modules.order")
    assert MU + "_pki.keys" in order and MU + "_store.store" in order and "cryptography" in [
        n.split(".")[0] for n in order]
