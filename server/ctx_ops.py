"""Operations wiring: the breaker registry (admin API, `system` channel, metrics), the
career-coach chat for the WebSocket, and the subsystems' counters for /metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import web

from handlers.keys import (
    ACCOUNTS,
    AI_GATEWAY,
    BREAKER_STATES,
    BREAKERS,
    CHAT_SERVICE,
    DB,
    EVENT_BUS,
    EVENT_STATS,
    METRICS,
    SSE_STREAMS,
    WS_CONNECTIONS,
)
from services.breaker.registry import BreakerRegistry
from services.career.chat import CoachChat
from services.events.channels import SYSTEM

log = logging.getLogger(__name__)

Labels = tuple[tuple[str, str], ...]


def _breaker_transition_publisher(app: web.Application) -> Any:
    """Publish every breaker transition on the `system` channel and count it."""
    transitions: dict[tuple[str, str], int] = {}

    async def on_transition(change: dict[str, Any]) -> None:
        key = (str(change.get("name")), str(change.get("state")))
        transitions[key] = transitions.get(key, 0) + 1
        log.warning(
            "circuit %s: %s -> %s", change.get("name"), change.get("previous"), change.get("state")
        )
        bus = app.get(EVENT_BUS)
        if bus is not None:
            try:
                await bus.publish(SYSTEM, "breaker", change)
            except Exception:  # Redis down: the transition is still logged and counted
                log.warning("could not publish breaker transition", exc_info=True)

    on_transition.transitions = transitions  # type: ignore[attr-defined]
    return on_transition


def _metric_sources(app: web.Application, transitions: Mapping[tuple[str, str], int]) -> Any:
    def sample() -> dict[str, dict[tuple[str, Labels], float]]:
        counters: dict[tuple[str, Labels], float] = {}
        gauges: dict[tuple[str, Labels], float] = {}
        stats = app.get(EVENT_STATS)
        if stats is not None:
            snap = stats.snapshot()
            for name in ("published", "delivered", "replayed", "dropped", "coalesced"):
                counters[(f"fluentpro_events_{name}", ())] = float(snap.get(name, 0))
        # The registries the system snapshot counts too: the same figures.
        for kind, key in (("sse", SSE_STREAMS), ("ws", WS_CONNECTIONS)):
            conns = app.get(key)
            if conns is not None:
                gauges[("fluentpro_open_connections", (("kind", kind),))] = float(conns.count())
        gateway = app.get(AI_GATEWAY)
        if gateway is not None:
            ai = gateway.stats.snapshot()
            for call in ai["calls"]:
                labels: Labels = (
                    ("feature", call["feature"]),
                    ("source", call["source"]),
                    ("outcome", call["outcome"]),
                )
                counters[("fluentpro_ai_calls", labels)] = float(call["count"])
            counters[("fluentpro_ai_cache_hits", ())] = float(ai["cache_hits"])
            counters[("fluentpro_ai_cache_misses", ())] = float(ai["cache_misses"])
        for (name, state), count in transitions.items():
            counters[("fluentpro_breaker_transitions", (("breaker", name), ("state", state)))] = (
                float(count)
            )
        accounts = app.get(ACCOUNTS)
        if accounts is not None:
            for tier, count in accounts.lookups.items():
                counters[("fluentpro_session_lookups", (("tier", tier),))] = float(count)
        db = app.get(DB)
        if db is not None:
            gauges[("fluentpro_db_pool_size", ())] = float(db.size)
            gauges[("fluentpro_db_pool_free", ())] = float(db.freesize)
        return {"counters": counters, "gauges": gauges}

    return sample


async def ops_ctx(app: web.Application) -> AsyncIterator[None]:
    """Needs the AI gateway, accounts, the event bus and metrics (registered after them)."""
    gateway = app[AI_GATEWAY]
    publish = _breaker_transition_publisher(app)
    registry = BreakerRegistry()
    gateway.breaker.on_transition = publish
    registry.add(gateway.breaker)
    app[BREAKERS] = registry

    async def breaker_states() -> dict[str, str]:
        return {s["name"]: s["state"] for s in await registry.states()}

    app[BREAKER_STATES] = breaker_states

    accounts = app[ACCOUNTS]

    async def load_profile(user_id: str) -> Mapping[str, Any]:
        user = await accounts.get_user(user_id)
        return dict(user.get("profile") or {})

    app[CHAT_SERVICE] = CoachChat(gateway, load_profile)
    metrics = app[METRICS]
    source = _metric_sources(app, publish.transitions)
    metrics.sources.append(source)
    try:
        yield
    finally:
        metrics.sources.remove(source)
