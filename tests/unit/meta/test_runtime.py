# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/runtime.yml against the modules: the action group and the ansible-core floor."""

from __future__ import annotations

import ast
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = os.path.join(ROOT, "plugins", "modules")
SHARED = ("store_dir", "directory_url", "account_name")


def _runtime():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as f:
        return yaml.safe_load(f)


ACTIONS = os.path.join(os.path.dirname(MODULES), "action")


def _module_names():
    """The modules with code (a module file beside an action plugin of its name is documentation only)."""
    return sorted(n[:-3] for n in os.listdir(MODULES) if n.endswith(".py") and n != "__init__.py"
                  and not os.path.exists(os.path.join(ACTIONS, n)))


def _main_source(name):
    """Source of the module's main() (where the argument spec is built)."""
    with open(os.path.join(MODULES, name + ".py")) as f:
        source = f.read()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "main":
            return ast.get_source_segment(source, node), source
    raise AssertionError("%s has no main()" % name)


def _takes_shared_options(name):
    main, _source = _main_source(name)
    return "acme_argument_spec" in main or any(re.search(r"\b%s\s*=" % o, main) for o in SHARED)


@pytest.mark.parametrize("name", _module_names())
def test_action_group_holds_every_module_with_shared_options(name):
    group = _runtime()["action_groups"]["acme"]
    _main, source = _main_source(name)
    documented = "certfleet.acme.attributes.ACTIONGROUP_ACME" in source
    if _takes_shared_options(name):
        assert name in group, "%s takes the shared options but is not in group/certfleet.acme.acme" % name
        assert documented, "%s is in the action group but does not document it" % name
    else:
        assert name not in group and not documented


def test_requires_ansible_matches_requirements():
    floor = re.match(r">=(\d+\.\d+)", _runtime()["requires_ansible"]).group(1)
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        core = [line for line in f if line.startswith("ansible-core")][0]
    assert ">=%s" % floor in core
