"""The lock files (``make lock``) pin exactly what pyproject.toml asks for, so the two cannot drift:
a dependency added, removed or re-ranged without ``make lock`` fails here."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "requirements" / "runtime.txt"
DEV = ROOT / "requirements" / "dev.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(group: str) -> list[Requirement]:
    project = _project()
    raw = project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    return [Requirement(line) for line in raw]


def _lines(path: Path) -> list[str]:
    """The lock's requirement lines (pip-compile's comments and blank lines left out)."""
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _pins(path: Path) -> dict[str, Version]:
    pins = {}
    for line in _lines(path):
        match = PIN.match(line)
        assert match, f"{path.name}: « {line} » n'est pas une version exacte (nom==version)"
        pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


@pytest.mark.parametrize("path", [RUNTIME, DEV], ids=["runtime", "dev"])
def test_every_line_of_a_lock_file_is_an_exact_version(path):
    """Each lock file holds only name==version lines: no range, no URL, no option."""
    assert _lines(path)
    _pins(path)


@pytest.mark.parametrize(
    ("path", "groups"),
    [(RUNTIME, ["runtime"]), (DEV, ["runtime", "dev"])],
    ids=["runtime", "dev"],
)
def test_every_dependency_of_pyproject_is_pinned_within_its_range(path, groups):
    """Every dependency pyproject.toml declares, and each extra it asks for, is pinned in the
    lock at a version its range allows."""
    pins = _pins(path)
    for group in groups:
        for requirement in _requirements(group):
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement.name} manque dans {path.name} : make lock"
            assert requirement.specifier.contains(pins[name], prereleases=True), (
                f"{path.name} fixe {name}=={pins[name]}, hors de « {requirement} » : make lock"
            )


def test_extras_asked_for_are_pinned_too():
    """What an extra brings (redis[hiredis], psycopg[binary]) is pinned in the runtime lock."""
    pins = _pins(RUNTIME)
    brought = set()
    for requirement in _requirements("runtime"):
        for extra in requirement.extras:
            for line in metadata.requires(requirement.name) or []:
                needed = Requirement(line)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    brought.add(canonicalize_name(needed.name))
    assert {"hiredis", "psycopg-binary"} <= brought
    assert brought - set(pins) == set()


def test_the_dev_lock_holds_the_runtime_versions():
    """What both lock files pin is pinned at the same version: tests run what production runs."""
    runtime, dev = _pins(RUNTIME), _pins(DEV)
    assert set(runtime) <= set(dev)
    assert {name: dev[name] for name in runtime} == runtime


def test_the_runtime_lock_brings_no_dev_tool():
    """make run installs only the service's dependencies: no test, lint or type tool."""
    runtime = _pins(RUNTIME)
    dev_only = {canonicalize_name(r.name) for r in _requirements("dev")} - {
        canonicalize_name(r.name) for r in _requirements("runtime")
    }
    assert dev_only & set(runtime) == set()
    assert {"pytest", "ruff", "mypy"} <= dev_only


def _origins(path: Path) -> dict[str, list[str]]:
    """Each pin and what pip-compile wrote it for (its ``# via`` lines)."""
    origins: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            current = canonicalize_name(match[1])
            origins[current] = []
        elif current and line.startswith("    #"):
            origin = line.strip("# ").removeprefix("via").strip()
            if origin:
                origins[current].append(origin)
        else:
            current = None
    return origins


@pytest.mark.parametrize(
    ("path", "groups"),
    [(RUNTIME, ["runtime"]), (DEV, ["runtime", "dev"])],
    ids=["runtime", "dev"],
)
def test_nothing_is_pinned_for_a_dependency_pyproject_dropped(path, groups):
    """Each pin was written by make lock for a reason, and one pinned for pyproject.toml itself is
    still declared there (a dependency removed without make lock fails)."""
    declared = {canonicalize_name(r.name) for group in groups for r in _requirements(group)}
    origins = _origins(path)
    assert [name for name, via in origins.items() if not via] == []
    stale = [
        name
        for name, via in origins.items()
        if "catalogue_svc (pyproject.toml)" in via and name not in declared
    ]
    assert stale == [], f"{path.name} fixe encore {stale} : make lock"
