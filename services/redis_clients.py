"""Every Redis client of the process is built here, for any of the three topologies.

- ``single``: one server named by a URL (``redis://host:port/db`` or ``unix://…``).
- ``sentinel``: the master of a Sentinel-monitored group; each new connection asks the
  Sentinels where the master is, so after a failover the clients follow the promoted
  replica without a restart (a connection to a demoted master is dropped on its first
  READONLY reply).
- ``cluster``: a Redis Cluster found from seed nodes; commands go to the node owning
  the key's slot, and the slot map is refreshed on MOVED and on connection errors.

Every client gets explicit timeouts and retries (redis-py's default is 10 retries with
backoff: with Redis down the first call took 4.9 s). Cluster-only failures that redis-py
does not raise as ``RedisError`` (no node reachable, a slot without an owner while a
replica is being promoted) are raised as ``RedisUnavailable``, a ``ConnectionError``, so
the callers' existing fallbacks (in-process throttle, breaker twin, cache miss) and the
503 + Retry-After of the error middleware apply unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import quote

import redis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import (
    ClusterDownError,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

Address: TypeAlias = tuple[str, int]
RedisClient: TypeAlias = Redis | RedisCluster
UrlResolver = Callable[[], Awaitable[str]]

SINGLE, SENTINEL, CLUSTER = "single", "sentinel", "cluster"

# CLIENT SETINFO metadata, resolved once. Left to its default, redis-py builds a DriverInfo
# for every new connection and looks its own version up with importlib.metadata.version(),
# which reads and parses the package's METADATA file: about 1 ms of CPU on the event loop
# per connection. A burst of 32 logins opens 32 connections at once, and that alone held
# the loop for 30-40 ms (bench/bench_login.py).
DRIVER_INFO = DriverInfo(lib_version=redis.__version__)

# Failures that mean "Redis cannot serve this now" on a cluster, beyond ConnectionError
# and TimeoutError: the slot's master is gone and no replica has been promoted yet.
_CLUSTER_UNAVAILABLE = (
    ClusterDownError,
    TryAgainError,
    SlotNotCoveredError,
    RedisClusterUnreachableError,
)


class RedisUnavailable(RedisConnectionError):
    """Redis cannot serve the command now (a master lost, a failover under way)."""


def parse_addresses(items: tuple[str, ...] | list[str]) -> tuple[Address, ...]:
    """``("h:6379", …)`` → ``(("h", 6379), …)``; ValueError names a malformed item."""
    out: list[Address] = []
    for item in items:
        host, sep, port = item.strip().rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"{item!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return tuple(out)


@dataclass(frozen=True)
class Topology:
    """Where Redis is. Passwords come from the environment and never appear in ``repr``."""

    kind: str = SINGLE
    url: str = ""
    sentinels: tuple[Address, ...] = ()
    master: str = ""
    db: int = 0
    nodes: tuple[Address, ...] = ()
    password: str = field(default="", repr=False)
    sentinel_password: str = field(default="", repr=False)

    def describe(self) -> str:
        """One line for logs and /health/ready: never a password."""
        if self.kind == SENTINEL:
            where = ",".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"sentinel master {self.master!r} db {self.db} via {where}"
        if self.kind == CLUSTER:
            return "cluster seeds " + ",".join(f"{h}:{p}" for h, p in self.nodes)
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        return f"single {urlunsplit(parts)}"


@dataclass(frozen=True)
class ClientSettings:
    """Timeouts, retries and pool size of one client (every one of them explicit)."""

    socket_timeout_s: float
    connect_timeout_s: float
    retries: int = 0
    max_connections: int = 64
    decode_responses: bool = False
    health_check_interval_s: float = 15


def _retry(count: int) -> Retry:
    if count <= 0:
        return Retry(NoBackoff(), 0)
    return Retry(ExponentialBackoff(cap=0.2, base=0.02), count)


class _Pipeline(ClusterPipeline):
    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute(*args, **kwargs)
        except _CLUSTER_UNAVAILABLE as exc:
            raise RedisUnavailable(f"cluster unavailable ({exc.__class__.__name__})") from exc


class Cluster(RedisCluster):
    """RedisCluster whose "no owner for this slot now" failures are ``RedisUnavailable``."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except _CLUSTER_UNAVAILABLE as exc:
            raise RedisUnavailable(f"cluster unavailable ({exc.__class__.__name__})") from exc

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> Any:
        if transaction or shard_hint:
            return super().pipeline(transaction, shard_hint)
        return _Pipeline(self)  # type: ignore[abstract]  # redis-py marks an attribute it sets itself


class RedisClients:
    """Builds clients for one topology; one instance per process (``redis_ctx``).

    The Sentinel manager is shared by every client of the process: its connections to
    the Sentinels are few and only used to look the master up.
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._sentinel: Sentinel | None = None
        if topology.kind == SENTINEL:
            # Sentinel look-ups are short replies: a short timeout moves on to the next
            # Sentinel quickly when one is down (redis-py tries them in turn).
            self._sentinel = Sentinel(
                list(topology.sentinels),
                sentinel_kwargs={
                    "socket_timeout": 0.5,
                    "socket_connect_timeout": 0.5,
                    "password": topology.sentinel_password or None,
                    "retry": Retry(NoBackoff(), 0),
                },
            )

    def client(self, settings: ClientSettings) -> RedisClient:
        """A new client (with its own pool) for the configured topology."""
        common: dict[str, Any] = {
            "socket_timeout": settings.socket_timeout_s,
            "socket_connect_timeout": settings.connect_timeout_s,
            "retry": _retry(settings.retries),
            "decode_responses": settings.decode_responses,
            "health_check_interval": settings.health_check_interval_s,
            "driver_info": DRIVER_INFO,
        }
        kind = self.topology.kind
        if kind == CLUSTER:
            return Cluster(
                startup_nodes=[ClusterNode(h, p) for h, p in self.topology.nodes],
                max_connections=settings.max_connections,
                password=self.topology.password or None,
                # A slot whose master is lost fails fast instead of stalling every
                # command: the others keep working (require_full_coverage=False).
                require_full_coverage=False,
                **common,
            )
        if kind == SENTINEL and self._sentinel is not None:
            client: Redis = self._sentinel.master_for(
                self.topology.master,
                db=self.topology.db,
                password=self.topology.password or None,
                max_connections=settings.max_connections,
                **common,
            )
            return client
        # A blocking pool: at the connection cap a caller waits (up to the socket timeout)
        # for a free connection instead of failing at once with MaxConnectionsError.
        pool = BlockingConnectionPool.from_url(
            self.topology.url,
            max_connections=settings.max_connections,
            timeout=settings.socket_timeout_s,
            **common,
        )
        return Redis.from_pool(pool)  # closing the client closes its pool

    async def pubsub_url(self) -> str:
        """A URL of a server on which a plain SUBSCRIBE hears every PUBLISH, looked up now.

        Single: the URL. Sentinel: the current master (asked of the Sentinels on every
        call, so a reconnect after a failover lands on the promoted replica). Cluster: any
        node (classic pub/sub is broadcast cluster-wide), picked at random so a dead seed
        is not retried forever.
        """
        topo = self.topology
        auth = f":{quote(topo.password, safe='')}@" if topo.password else ""
        if topo.kind == SENTINEL and self._sentinel is not None:
            host, port = await self._sentinel.discover_master(topo.master)
            return f"redis://{auth}{host}:{port}/{topo.db}"
        if topo.kind == CLUSTER:
            host, port = random.choice(topo.nodes)
            return f"redis://{auth}{host}:{port}/0"
        return topo.url

    async def aclose(self) -> None:
        """Close the Sentinel look-up connections (clients are closed by their owners)."""
        if self._sentinel is not None:
            for sentinel in self._sentinel.sentinels:
                await sentinel.aclose()


def is_cluster(client: object) -> bool:
    """True for a cluster client (callers that must route pub/sub per shard ask this)."""
    return isinstance(client, RedisCluster)


async def ping(client: RedisClient) -> None:
    """Raise unless Redis serves: on a cluster, every master answers (a master lost and
    not yet replaced by its replica means some keys cannot be served)."""
    if isinstance(client, RedisCluster):
        await client.ping(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.ping()
