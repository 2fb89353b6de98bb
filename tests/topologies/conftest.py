"""Real Redis Cluster and Sentinel topologies, and app processes served by them.

One cluster and one Sentinel group are started for the package (in seconds) and shared
by the smoke tests; the failover tests start their own, because they kill a master.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import ROOT, free_port, server_env, stop, wait_http
from tests.redis_servers import Topology, available, start_cluster, start_sentinel

KINDS = ["cluster", "sentinel"]


def _need_redis() -> None:
    """A developer without redis-server gets a loud skip; in CI (``CI`` set), where
    ``make test`` installs it, its absence is a failure, never a silent pass."""
    if not available():
        reason = "redis-server / redis-cli not installed (make test installs them)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="package")
def redis_cluster() -> Iterator[Topology]:
    """3 masters + 3 replicas on free loopback ports."""
    _need_redis()
    topo = start_cluster()
    yield topo
    topo.stop()


@pytest.fixture(scope="package")
def redis_sentinel() -> Iterator[Topology]:
    """1 master, 1 replica, 3 Sentinels on free loopback ports."""
    _need_redis()
    topo = start_sentinel()
    yield topo
    topo.stop()


@pytest.fixture(scope="package", params=KINDS)
def topology(request: pytest.FixtureRequest) -> Topology:
    """Each smoke test runs once on the cluster and once on the Sentinel group."""
    topo: Topology = request.getfixturevalue(f"redis_{request.param}")
    return topo


@dataclass
class App:
    """One server process (``python -m server``) on its own port; its output goes to a
    file (a pipe nobody reads fills up during a failover's warnings and stalls the app)."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _start_app(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def app_env(database_url: str, topo: Topology, port: int, **extra: str) -> dict[str, str]:
    """The server's environment with Redis chosen by ``topo`` (and no single-server URL)."""
    env = server_env(database_url, "", port, **topo.env())
    env.pop("FLUENTPRO_REDIS_URL", None)
    env.update(
        FLUENTPRO_TASKS_ENGINE_PROCESSES="0",  # two cores shared: batches use threads
        FLUENTPRO_AI_BASE_URL="",
        # Not what these tests are about: on a busy 2-core machine, start-up lag alone
        # can cross the 500 ms ceiling and shed a task creation with 503.
        FLUENTPRO_MONITOR_SHED_LAG_MS="10000",
        **extra,
    )
    return env


def start_apps(database_url: str, topo: Topology, count: int = 2, **extra: str) -> list[App]:
    """Start ``count`` server processes on ``topo`` and wait until each is ready."""
    apps: list[App] = []
    try:
        for _ in range(count):
            port = free_port()
            log = topo.directory / f"app-{port}.log"
            env = app_env(database_url, topo, port, **extra)
            apps.append(App(port, _start_app(env, log), log))
        for app in apps:
            wait_http(f"{app.url}/health/ready", timeout=60, proc=app.proc)
    except BaseException:
        stop_apps(apps)
        raise
    return apps


def stop_apps(apps: list[App]) -> None:
    for app in apps:
        stop(app.proc)


@pytest.fixture(scope="package")
def apps(database_url: str, topology: Topology) -> Iterator[list[App]]:
    """Two app processes on the topology under test: A without a task worker, B with one
    (so the events of a task reach A's clients only through Redis)."""
    started = start_apps(database_url, topology, 1, FLUENTPRO_TASKS_IN_PROCESS_WORKER="false")
    try:
        started += start_apps(database_url, topology, 1)
        yield started
    finally:
        stop_apps(started)
