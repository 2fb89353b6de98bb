"""The hub's live link on Redis Cluster: one LiveLink per master that owns a channel.

A shard channel (``SSUBSCRIBE``) is served only by the node owning its slot, and the
publish script sends each event there (its stream key and shard channel share a name,
hence a slot). So on a cluster the hub keeps one pub/sub connection per master that owns
at least one of its channels — a handful, whatever the number of channels or clients —
and routes each channel to its owner's connection.

When a master fails, its link cannot reconnect. Every ``poll_s`` while any link is down
(and every ``REFRESH_EVERY_S`` anyway, to follow resharding), the slot map is refreshed
and each channel whose owner changed moves: dropped from the old link, announced to the
hub (``on_resubscribe``: it holds live events and fills the gap from history) and
subscribed on the new owner's link. A link left without channels is closed.

redis-py's asyncio cluster client has a ``ClusterPubSub``, but the hub's LiveLink reads
raw replies on a plain connection; keeping that code path for both topologies means one
implementation of ordering, gap filling and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import ConnectionPool
from redis.crc import key_slot

from services.events.live import LINK_ERRORS, LiveLink, OnBroadcast, OnMessages, OnResubscribe
from services.events.wire import stream_key

log = logging.getLogger(__name__)

Address = tuple[str, int]
REFRESH_EVERY_S = 10.0


def make_live_link(
    redis: Any,
    *,
    broadcast: str,
    on_messages: OnMessages,
    on_broadcast: OnBroadcast,
    on_resubscribe: OnResubscribe,
    poll_s: float = 1.0,
) -> LiveLink | ShardedLiveLink:
    """A LiveLink on a single server or Sentinel master; a ShardedLiveLink on a cluster."""
    kwargs = {
        "broadcast": broadcast,
        "on_messages": on_messages,
        "on_broadcast": on_broadcast,
        "on_resubscribe": on_resubscribe,
        "poll_s": poll_s,
    }
    if isinstance(redis, RedisCluster):
        return ShardedLiveLink(redis, **kwargs)  # type: ignore[arg-type]
    return LiveLink(redis, **kwargs)  # type: ignore[arg-type]


class ShardedLiveLink:
    """The LiveLink interface over one LiveLink per master owning a wanted channel."""

    def __init__(
        self,
        cluster: RedisCluster,
        *,
        broadcast: str,
        on_messages: OnMessages,
        on_broadcast: OnBroadcast,
        on_resubscribe: OnResubscribe,
        poll_s: float = 1.0,
    ) -> None:
        self._cluster = cluster
        self._broadcast = broadcast
        self._on_messages = on_messages
        self._on_broadcast = on_broadcast
        self._on_resubscribe = on_resubscribe
        self._poll_s = poll_s
        self._links: dict[Address, LiveLink] = {}
        self._clients: dict[Address, Redis] = {}
        self._route: dict[str, Address] = {}  # channel → the master it is subscribed on
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.moves = 0  # channels moved to another master (failover, resharding)

    # -- the LiveLink interface ------------------------------------------------------

    @property
    def connects(self) -> int:
        return sum(link.connects for link in self._links.values())

    @property
    def wanted(self) -> set[str]:
        return set(self._route)

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="sharded-live-link")

    async def _broadcast_home(self) -> Address:
        """Where the link that must exist even without channels lives (for the
        revocation broadcast): the owner of slot 0, so every process agrees."""
        manager = self._cluster.nodes_manager
        if not manager.slots_cache:
            await self._cluster.initialize()
        node = manager.get_node_from_slot(0)
        return node.host, int(node.port)

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for address in list(self._links):
            await self._drop(address)

    def is_live(self, channel: str) -> bool:
        address = self._route.get(channel)
        link = self._links.get(address) if address else None
        return link is not None and link.is_live(channel)

    async def subscribe(self, channel: str) -> None:
        """Subscribe on the owner of the channel's slot (looked up now)."""
        address = await self._owner(channel)
        previous = self._route.get(channel)
        if previous is not None and previous != address:
            self._leave(channel, previous)
        self._route[channel] = address
        await self._link(address).subscribe(channel)

    def unsubscribe(self, channel: str) -> None:
        address = self._route.pop(channel, None)
        if address is not None:
            self._leave(channel, address)

    # -- routing ---------------------------------------------------------------------

    async def _owner(self, channel: str) -> Address:
        manager = self._cluster.nodes_manager
        if not manager.slots_cache:
            await self._cluster.initialize()
        node = manager.get_node_from_slot(key_slot(stream_key(channel).encode()))
        return node.host, int(node.port)

    def _link(self, address: Address) -> LiveLink:
        link = self._links.get(address)
        if link is None:
            client = self._node_client(address)
            link = LiveLink(
                client,
                broadcast=self._broadcast,
                on_messages=self._on_messages,
                # Every link hears the broadcast; one of them is enough to act on it,
                # and acting twice is harmless (a revoked session's closers run once).
                on_broadcast=self._on_broadcast,
                on_resubscribe=self._on_resubscribe,
                poll_s=self._poll_s,
            )
            self._links[address] = link
            self._clients[address] = client
            link.start()
        return link

    def _node_client(self, address: Address) -> Redis:
        """A plain client on one node, with the cluster client's connection settings."""
        node = self._cluster.get_node(host=address[0], port=address[1])
        kwargs = dict(node.connection_kwargs) if node is not None else {}
        kwargs.update(host=address[0], port=address[1])
        kwargs.pop("connection_pool", None)
        return Redis(connection_pool=ConnectionPool(max_connections=4, **kwargs))

    def _leave(self, channel: str, address: Address) -> None:
        link = self._links.get(address)
        if link is not None:
            link.unsubscribe(channel)

    async def _drop(self, address: Address) -> None:
        link = self._links.pop(address, None)
        client = self._clients.pop(address, None)
        if link is not None:
            await link.stop()
        if client is not None:
            with contextlib.suppress(*LINK_ERRORS):
                await client.aclose()

    async def _watch(self) -> None:
        """Follow failovers and resharding: move channels to their slot's new owner."""
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        with contextlib.suppress(*LINK_ERRORS):
            self._link(await self._broadcast_home())
        while not self._stopping:
            await asyncio.sleep(self._poll_s)
            down = [a for a, link in self._links.items() if not link.connected]
            if not down and loop.time() - refreshed < REFRESH_EVERY_S:
                continue
            refreshed = loop.time()
            try:
                async with asyncio.timeout(5):
                    await self._cluster.nodes_manager.initialize()
                await self._reroute()
            except Exception as exc:  # keep following the cluster; the next round retries
                log.warning("live link: slot map refresh failed (%s)", exc.__class__.__name__)

    async def _reroute(self) -> None:
        moved: list[str] = []
        for channel, address in list(self._route.items()):
            owner = await self._owner(channel)
            if owner != address:
                self._leave(channel, address)
                self._route[channel] = owner
                moved.append(channel)
        home = await self._broadcast_home()
        keep = {*self._route.values(), home}
        for address in [a for a in self._links if a not in keep]:
            await self._drop(address)  # no channel left there (or the node is gone)
        self._link(home)
        if moved:
            self.moves += len(moved)
            log.warning("live link: %d channel(s) moved to a new master", len(moved))
            # The hub holds their live events, subscribes them again (on the new owner,
            # through subscribe()) and fills what was missed from history.
            self._on_resubscribe(moved)
