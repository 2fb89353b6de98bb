"""Real Redis topologies for the tests, started from the machine's ``redis-server``.

- ``start_cluster()``: 3 masters + 3 replicas (``--cluster-enabled yes``) joined with
  ``redis-cli --cluster create … --cluster-replicas 1 --cluster-yes``;
- ``start_sentinel()``: 1 master, 1 replica and 3 Sentinels.

Every server listens on a free loopback port, keeps no data on disk and is stopped (and
its directory removed) by ``stop()``. Failover is made fast on purpose: Sentinel's
``down-after-milliseconds`` and the cluster's ``cluster-node-timeout`` are short, so a
killed master is replaced within a few seconds.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from services.redis_clients import (
    CLUSTER,
    SENTINEL,
    ClientSettings,
    RedisClient,
    RedisClients,
    parse_addresses,
)
from services.redis_clients import Topology as ClientTopology

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
REDIS_CLI = shutil.which("redis-cli") or "redis-cli"
MASTER_NAME = "fpmaster"
# Short failure detection: the failover tests wait for it.
SENTINEL_DOWN_AFTER_MS = 800
SENTINEL_FAILOVER_TIMEOUT_MS = 4000
CLUSTER_NODE_TIMEOUT_MS = 1500
START_TIMEOUT_S = 30.0


def available() -> bool:
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, *, with_bus: bool = False) -> list[int]:
    """``count`` free loopback ports (and, for cluster nodes, port + 10000 free too)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port in ports or (with_bus and (port + 10000 > 65535 or not _port_free(port + 10000))):
            continue
        ports.append(port)
    return ports


def wait_until(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``check`` (a server we started has no event to wait on) or fail naming it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Server:
    """One redis-server (or Sentinel) process on 127.0.0.1:port."""

    port: int
    args: list[str]
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.directory / f"redis-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, *self.args], cwd=self.directory, stdout=log, stderr=log
        )
        log.close()

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(
            "127.0.0.1", self.port, socket_timeout=timeout, socket_connect_timeout=timeout
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to replicas or Sentinels."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _data_args(port: int) -> list[str]:
    return [
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
    ]


@dataclass
class Topology:
    """A started set of servers and how an app reaches them (environment variables)."""

    kind: str
    directory: Path
    servers: list[Server] = field(default_factory=list)
    sentinels: list[Server] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """The FLUENTPRO_REDIS_* variables selecting this topology."""
        if self.kind == "cluster":
            return {"FLUENTPRO_REDIS_CLUSTER_NODES": ",".join(s.address for s in self.servers)}
        return {
            "FLUENTPRO_REDIS_SENTINELS": ",".join(s.address for s in self.sentinels),
            "FLUENTPRO_REDIS_SENTINEL_MASTER": MASTER_NAME,
        }

    def config(self) -> dict[str, object]:
        """The same as ``redis`` config section overrides (for in-process apps)."""
        if self.kind == "cluster":
            return {"url": "", "cluster_nodes": tuple(s.address for s in self.servers)}
        return {
            "url": "",
            "sentinels": tuple(s.address for s in self.sentinels),
            "sentinel_master": MASTER_NAME,
        }

    def spec(self) -> str:
        """A one-string form for helper processes: ``cluster:h:p,…`` or ``sentinel:h:p,…``."""
        members = self.servers if self.kind == "cluster" else self.sentinels
        return f"{self.kind}:" + ",".join(s.address for s in members)

    # -- the servers' own view ----------------------------------------------------------
    def masters(self) -> list[Server]:
        """The live servers that are masters now (asked of each one)."""
        out = []
        for server in self.servers:
            if not server.alive():
                continue
            try:
                role = server.client(0.5).execute_command("ROLE")[0]
            except (redis.RedisError, OSError):
                continue
            if role in (b"master", "master"):
                out.append(server)
        return out

    def sentinel_master_port(self) -> int | None:
        """The master port the Sentinels report (first one that answers)."""
        for sentinel in self.sentinels:
            if not sentinel.alive():
                continue
            try:
                _, port = sentinel.client(0.5).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME
                )
                return int(port)
            except (redis.RedisError, OSError, TypeError, ValueError):
                continue
        return None

    def cluster_ok(self) -> bool:
        """Every live node says cluster_state:ok and every master has a live replica
        or is reported so by the node's view."""
        for server in self.servers:
            if not server.alive():
                continue
            info = server.client(0.5).execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text:
                return False
        return True

    def stop(self) -> None:
        for server in [*self.sentinels, *self.servers]:
            server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster() -> Topology:
    """3 masters + 3 replicas, joined and serving every slot."""
    directory = Path(tempfile.mkdtemp(prefix="fp-cluster-"))
    topo = Topology("cluster", directory)
    try:
        for port in free_ports(6, with_bus=True):
            args = [
                *_data_args(port),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{port}.conf",
                "--cluster-node-timeout",
                str(CLUSTER_NODE_TIMEOUT_MS),
                # A replica may always take over (its data age is not held against it).
                "--cluster-replica-validity-factor",
                "0",
            ]
            server = Server(port, args, directory)
            server.start()
            topo.servers.append(server)
        for server in topo.servers:
            wait_until(lambda s=server: bool(s.client(0.5).ping()), f"node {server.port}")
        subprocess.run(
            [
                REDIS_CLI,
                "--cluster",
                "create",
                *(s.address for s in topo.servers),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        wait_until(topo.cluster_ok, "cluster_state:ok on every node")
        wait_until(lambda: len(topo.masters()) == 3, "3 masters")
        return topo
    except BaseException:
        topo.stop()
        raise


def _sentinel_conf(directory: Path, port: int, master_port: int) -> Path:
    path = directory / f"sentinel-{port}.conf"
    path.write_text(
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                "protected-mode no",
                f"dir {directory}",
                f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2",
                f"sentinel down-after-milliseconds {MASTER_NAME} {SENTINEL_DOWN_AFTER_MS}",
                f"sentinel failover-timeout {MASTER_NAME} {SENTINEL_FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {MASTER_NAME} 1",
                "",
            ]
        )
    )
    return path


def start_sentinel() -> Topology:
    """1 master, 1 replica, 3 Sentinels that know each other and the replica."""
    directory = Path(tempfile.mkdtemp(prefix="fp-sentinel-"))
    topo = Topology("sentinel", directory)
    try:
        master_port, replica_port, *sentinel_ports = free_ports(5)
        master = Server(master_port, _data_args(master_port), directory)
        replica = Server(
            replica_port,
            [*_data_args(replica_port), "--replicaof", "127.0.0.1", str(master_port)],
            directory,
        )
        for server in (master, replica):
            server.start()
            topo.servers.append(server)
        for server in topo.servers:
            wait_until(lambda s=server: bool(s.client(0.5).ping()), f"server {server.port}")
        wait_until(
            lambda: replica.client(0.5).info("replication").get("master_link_status") == "up",
            "the replica in sync",
        )
        for port in sentinel_ports:
            conf = _sentinel_conf(directory, port, master_port)
            sentinel = Server(port, [str(conf), "--sentinel"], directory)
            sentinel.start()
            topo.sentinels.append(sentinel)

        def sentinels_ready() -> bool:
            for s in topo.sentinels:
                c = s.client(0.5)
                if len(c.execute_command("SENTINEL", "SENTINELS", MASTER_NAME)) < 2:
                    return False
                if len(c.execute_command("SENTINEL", "REPLICAS", MASTER_NAME)) < 1:
                    return False
            return True

        wait_until(sentinels_ready, "3 Sentinels that see each other and the replica")
        return topo
    except BaseException:
        topo.stop()
        raise


def clients_for(spec: str) -> RedisClients:
    """Client factory for ``Topology.spec()`` strings (``cluster:h:p,…``, ``sentinel:…``)
    or a plain ``redis://`` URL, as the app would build it."""
    kind, _, members = spec.partition(":")
    if kind == "cluster":
        return RedisClients(ClientTopology(CLUSTER, nodes=parse_addresses(members.split(","))))
    if kind == "sentinel":
        return RedisClients(
            ClientTopology(
                SENTINEL, sentinels=parse_addresses(members.split(",")), master=MASTER_NAME
            )
        )
    return RedisClients(ClientTopology(url=spec))


def breaker_client(spec: str, timeout_s: float = 0.2) -> RedisClient:
    """A client as the breaker's own: short timeouts, no retries, str responses."""
    return clients_for(spec).client(
        ClientSettings(
            socket_timeout_s=timeout_s,
            connect_timeout_s=timeout_s,
            retries=0,
            max_connections=64,
            decode_responses=True,
            health_check_interval_s=0,
        )
    )
