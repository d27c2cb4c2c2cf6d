# -*- coding: utf-8 -*-
# Copyright: certfleet.acme contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/execution-environment.yml and the requirement files: runtime apart from lab and tests."""

from __future__ import annotations

import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
META = os.path.join(ROOT, "meta")


def _ee():
    with open(os.path.join(META, "execution-environment.yml")) as f:
        return yaml.safe_load(f)


def _bindep(path):
    """(package, profiles) per entry; platform:... selectors are not profiles."""
    entries = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _sep, rest = line.partition(" ")
            selectors = re.findall(r"\[([^]]*)\]", rest)
            words = " ".join(selectors).split()
            entries.append((name, [w for w in words if not w.startswith(("platform:", "!"))]))
    return entries


@pytest.mark.parametrize("kind", ["python", "system"])
def test_dependency_files_resolve_for_builder_and_introspection(kind):
    """ansible-builder reads the paths relative to meta/, its introspection relative to the root."""
    path = _ee()["dependencies"][kind]
    builder = os.path.join(META, path)
    introspection = os.path.join(ROOT, path)
    assert os.path.isfile(builder) and not os.path.islink(builder)
    assert os.path.realpath(introspection) == os.path.realpath(builder)


def test_runtime_bindep_has_no_profiles():
    assert [e for e in _bindep(os.path.join(META, "bindep.txt")) if e[1]] == []


def test_lab_bindep_entries_all_carry_a_lab_or_test_profile():
    entries = _bindep(os.path.join(ROOT, "tests", "lab", "bindep.txt"))
    assert entries
    for name, profiles in entries:
        assert profiles and set(profiles) <= {"lab", "test"}, name


def test_lab_installer_packages_are_declared():
    with open(os.path.join(ROOT, "tests", "lab", "install.sh")) as f:
        body = re.search(r"^PACKAGES=\((.*?)^\)", f.read(), re.M | re.S).group(1)
    installed = {line.split("#", 1)[0].strip() for line in body.splitlines()} - {""}
    declared = {name for name, _profile in _bindep(os.path.join(META, "bindep.txt"))}
    declared |= {name for name, _profile in _bindep(os.path.join(ROOT, "tests", "lab", "bindep.txt"))}
    assert installed - declared == set()


def test_ansible_core_pin_matches_requirements():
    with open(os.path.join(META, "requirements.txt")) as f:
        core = [line.strip() for line in f if line.startswith("ansible-core")]
    assert core == [_ee()["dependencies"]["ansible_core"]["package_pip"]]
