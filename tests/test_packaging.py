"""Reproducible installs: the lock files pin, with hashes, a version of every dependency
setup.cfg declares, inside its bounds; the runtime lock holds no test or dev tool. A
dependency added to setup.cfg without `make lock` fails here, naming it."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def declared(*extras: str) -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    blocks = [cfg["options"]["install_requires"]]
    blocks += [cfg["options.extras_require"][extra] for extra in extras]
    lines = [ln.strip() for block in blocks for ln in block.splitlines()]
    return [Requirement(ln) for ln in lines if ln and not ln.startswith("#")]


def pins(lock: str) -> dict[str, list[tuple[str, Marker | None]]]:
    found: dict[str, list[tuple[str, Marker | None]]] = {}
    text = (ROOT / "requirements" / lock).read_text()
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            name, version, marker = match.groups()
            found.setdefault(canonicalize_name(name), []).append(
                (version, Marker(marker) if marker else None)
            )
    assert "--hash=sha256:" in text, f"{lock} has no hashes"
    return found


def check(lock: str, requirements: list[Requirement]) -> None:
    locked = pins(lock)
    problems = []
    for req in requirements:
        if req.marker is not None and not req.marker.evaluate():
            continue
        versions = [
            v for v, m in locked.get(canonicalize_name(req.name), []) if not m or m.evaluate()
        ]
        if not versions:
            problems.append(f"{req.name}: not in requirements/{lock} (run `make lock`)")
        elif not any(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{req.name}: locked {versions} outside {req.specifier} (`make lock`)")
    assert not problems, problems


def test_runtime_lock_covers_the_runtime_dependencies() -> None:
    check("runtime.txt", declared())


def test_test_lock_covers_runtime_test_and_dev_dependencies() -> None:
    check("test.txt", declared("test", "dev"))


def test_bench_lock_covers_everything() -> None:
    check("bench.txt", declared("test", "dev", "bench"))


def test_runtime_lock_installs_no_test_or_dev_tool() -> None:
    runtime = pins("runtime.txt")
    for tool in ("pytest", "ruff", "mypy", "playwright", "hypothesis", "fastapi", "uv"):
        assert tool not in runtime, tool


def test_the_same_version_in_every_lock() -> None:
    """The test lock is compiled against the runtime lock: tests run what production runs."""
    runtime, test = pins("runtime.txt"), pins("test.txt")
    for name, locked in runtime.items():
        versions = sorted(v for v, _ in locked)
        assert sorted(v for v, _ in test.get(name, [])) == versions, name
