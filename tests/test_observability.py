"""Observability: /metrics after real traffic, the loop-lag log (once per episode, with
the running handlers), and the system status reading the same figures."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient

from handlers.config import Config
from handlers.keys import LOOP_MONITOR, METRICS, REQUEST_RATE
from server.app import create_app
from services.observability.metrics import LATENCY_BUCKETS, Metrics
from services.observability.monitor import InFlight, LoopLagMonitor
from tests.conftest import AppFactory
from tests.helpers import make_admin, register_user

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]
FAST = {"metrics_interval_s": 0.1}


async def scrape(client: TestClient[Any, Any]) -> tuple[set[str], Series]:
    """Family names and every sample as {(name, sorted labels): value}."""
    r = await client.get("/metrics")
    assert r.status == 200, await r.text()
    families: set[str] = set()
    series: Series = {}
    for family in text_string_to_metric_families(await r.text()):
        families.add(family.name)
        for s in family.samples:
            series[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return families, series


def value(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, tuple(sorted(labels.items()))))


def total(series: Series, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lb), v in series.items() if n == name and want <= set(lb))


async def scrape_until(
    client: TestClient[Any, Any], check: Callable[[Series], bool], within_s: float = 5.0
) -> Series:
    """Scrape until ``check`` holds (figures refreshed by periodic tasks); TimeoutError."""
    async with asyncio.timeout(within_s):
        while True:
            _, series = await scrape(client)
            if check(series):
                return series
            await asyncio.sleep(0.05)


async def test_metrics_after_real_traffic(make_client: AppFactory) -> None:
    client = await make_client(monitor=FAST, tasks={"in_process_worker": False})
    user = await register_user(client)
    admin = await register_user(client)
    await make_admin(client, admin)
    for _ in range(3):
        r = await client.get("/api/v1/me", headers=user.headers)
        assert r.status == 200, await r.text()
    r = await client.post(
        "/api/v1/recommendations/roles",
        json={"job_description": "Python, PostgreSQL and Docker for backend services."},
        headers=user.headers,
    )
    assert r.status == 200, await r.text()
    r = await client.post(
        "/api/v1/tasks", json={"kind": "career_report", "params": {}}, headers=user.headers
    )
    assert r.status == 202, await r.text()
    task = await r.json()
    await scrape_until(
        client, lambda s: value(s, "fluentpro_task_queue_depth", state="queued") == 1
    )

    async with client.get(task["events_url"], headers=user.headers) as stream:
        assert stream.status == 200
        series = await scrape_until(
            client, lambda s: value(s, "fluentpro_open_connections", kind="sse") == 1
        )
        r = await client.get("/api/v1/system/status", headers=admin.headers)
        assert r.status == 200, await r.text()
        status = await r.json()
        assert status["connections"]["sse"] == 1  # the same registry as the gauge
        assert status["tasks"]["queued"] == value(
            series, "fluentpro_task_queue_depth", state="queued"
        )
        r = await client.delete(task["status_url"], headers=user.headers)
        assert r.status == 202, await r.text()
        assert b"event: cancelled" in await stream.content.read()  # the stream ends

    r = await client.post("/api/v1/system/breakers/ai/isolate", headers=admin.headers)
    assert r.status == 200, await r.text()
    series = await scrape_until(
        client,
        lambda s: (
            value(s, "fluentpro_breaker_state", breaker="ai") == 3
            and value(s, "fluentpro_open_connections", kind="sse") == 0
            and value(s, "fluentpro_task_queue_depth", state="queued") == 0
            and (value(s, "fluentpro_event_loop_lag_seconds_count") or 0) > 0
        ),
    )
    families, _ = await scrape(client)

    # Requests and the latency histogram by route template, method and status.
    assert (
        value(
            series, "fluentpro_http_requests_total", route="/api/v1/me", method="GET", status="200"
        )
        == 3
    )
    assert total(series, "fluentpro_http_requests_total", route="/api/v1/tasks/{task_id}") == 1
    me_200 = {"route": "/api/v1/me", "method": "GET", "status": "200"}
    assert value(series, "fluentpro_http_request_seconds_count", **me_200) == 3
    total_s = value(series, "fluentpro_http_request_seconds_sum", **me_200)
    assert total_s is not None and 0 < total_s < 30
    # Loop lag: the monitor observes each sample (every 100 ms) into the histogram.
    assert (value(series, "fluentpro_event_loop_lag_seconds_count") or 0) >= 1
    # Events: the task's channel got published and delivered to the SSE stream.
    assert (value(series, "fluentpro_events_published_total") or 0) >= 1
    assert (value(series, "fluentpro_events_delivered_total") or 0) >= 1
    assert value(series, "fluentpro_events_dropped_total") == 0
    assert value(series, "fluentpro_events_coalesced_total") is not None
    assert value(series, "fluentpro_open_connections", kind="ws") == 0
    # Breakers: state gauge (3 = isolated) and the transition counter.
    assert total(series, "fluentpro_breaker_transitions_total", breaker="ai") >= 1
    # AI calls by feature/source/outcome (no provider configured: local), cache figures.
    assert total(series, "fluentpro_ai_calls_total", source="local") >= 1
    assert value(series, "fluentpro_ai_cache_misses_total") is not None
    assert value(series, "fluentpro_ai_cache_hits_total") is not None
    # Tasks: queue depth (back to 0) and outcomes.
    assert value(series, "fluentpro_task_queue_depth", state="running") == 0
    assert value(series, "fluentpro_tasks_finished_total", status="cancelled") == 1
    # Database pool; load shedding idle.
    size = value(series, "fluentpro_db_pool_size") or 0
    free = value(series, "fluentpro_db_pool_free")
    assert size >= 1 and free is not None and 0 <= free <= size
    assert value(series, "fluentpro_load_shedding") == 0
    assert "fluentpro_load_shed" in families

    # The status's requests_per_s comes from the same request counter (complete seconds).
    async with asyncio.timeout(5):
        while True:
            r = await client.get("/api/v1/system/status", headers=admin.headers)
            rate = (await r.json())["requests_per_s"]
            if rate > 0:
                break
            await asyncio.sleep(0.1)
    assert client.app[REQUEST_RATE] is client.app[METRICS].rate


def test_inflight_names_running_then_recent_slow_requests() -> None:
    reg = InFlight(slow_ms=50)
    reg.start(1, "GET /fast", 10.0)
    reg.finish(1, 10.001)  # fast: forgotten
    reg.start(2, "POST /slow", 10.0)
    reg.finish(2, 10.3)  # slow: remembered
    reg.start(3, "GET /stream", 0.0, stream=True)
    reg.start(4, "GET /busy", 10.2)
    found = reg.culprits(10.5, window_s=1.0)
    assert found == ["GET /busy running 300 ms", "POST /slow took 300 ms", "1 open streams"]
    assert reg.culprits(20.0, window_s=1.0)[1:] == ["1 open streams"]  # too old now
    assert reg.count() == 2


def test_lag_logged_once_per_episode(caplog: pytest.LogCaptureFixture) -> None:
    monitor = LoopLagMonitor(0.1, log_lag_ms=50)
    seen: list[float] = []
    monitor.add_listener(seen.append)
    with caplog.at_level(logging.WARNING, logger="services.observability.monitor"):
        for lag in (10, 80, 120, 90, 20, 5, 70, 60, 10):
            monitor.record(lag)
    lines = [r for r in caplog.records if r.name == "services.observability.monitor"]
    assert len(lines) == 2 and monitor.episodes == 2
    assert "80.0 ms" in lines[0].getMessage() and "70.0 ms" in lines[1].getMessage()
    assert seen == [10, 80, 120, 90, 20, 5, 70, 60, 10]
    assert monitor.summary()["max"] == 120


async def test_lag_log_names_the_running_handler(
    aiohttp_client: AiohttpClient, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler blocks the loop for a measured 250 ms then awaits: the warning names it."""
    app = create_app(config.replace(monitor={"sample_interval_s": 0.02, "log_lag_ms": 100}))
    release = asyncio.Event()

    async def blocking(request: web.Request) -> web.Response:
        time.sleep(0.25)  # noqa: ASYNC251 - the loop is blocked on purpose
        await release.wait()
        return web.json_response({})

    app.router.add_get("/test/blocking", blocking, name="test.blocking")
    client = await aiohttp_client(app)
    monitor = client.app[LOOP_MONITOR]
    lagged, calm = asyncio.Event(), asyncio.Event()

    def on_sample(lag_ms: float) -> None:
        if lag_ms > 100:
            lagged.set()
        elif lagged.is_set():
            calm.set()

    monitor.add_listener(on_sample)
    with caplog.at_level(logging.WARNING, logger="services.observability.monitor"):
        request = asyncio.create_task(client.get("/test/blocking"))
        await asyncio.wait_for(lagged.wait(), 5)
        release.set()
        resp = await request
        assert resp.status == 200
        # The episode ends on the next calm sample: no second line for the same episode.
        await asyncio.wait_for(calm.wait(), 5)
    lines = [r.getMessage() for r in caplog.records if r.name == "services.observability.monitor"]
    assert len(lines) == monitor.episodes, lines  # one line per episode
    named = [line for line in lines if "GET /test/blocking running" in line]
    assert len(named) == 1, lines
    assert monitor.max_ms >= 200


def test_request_tallies_expose_what_prometheus_observe_would() -> None:
    """Requests are tallied in plain Python and copied into the histogram in batches; the
    exposition must be the one observing each value would give, bucket bounds included."""
    rng = random.Random(7)
    values = [rng.choice(LATENCY_BUCKETS) for _ in range(300)]  # exactly on a bound
    values += [rng.uniform(0, 12) for _ in range(300)]  # everywhere, +Inf included
    metrics = Metrics()
    registry = CollectorRegistry()
    reference = Histogram(
        "fluentpro_http_request_seconds",
        "reference",
        ["route", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    for i, seconds in enumerate(values):
        metrics.observe_request("/api/v1/me", "GET", 200, seconds)
        reference.labels("/api/v1/me", "GET", "200").observe(seconds)
        if i == 250:
            metrics.flush_requests()  # a flush in the middle changes nothing either

    def histogram_lines(text: bytes) -> list[str]:
        return [
            line
            for line in text.decode().splitlines()
            if line.startswith("fluentpro_http_request_seconds_")
            and not line.startswith("fluentpro_http_request_seconds_created")
        ]

    served = histogram_lines(metrics.render())  # a scrape flushes what is still tallied
    expected = histogram_lines(generate_latest(registry))
    # Buckets and count exactly; the sum up to float rounding (added in another order).
    assert [x for x in served if "_sum{" not in x] == [x for x in expected if "_sum{" not in x]
    sums = [float(x.rsplit(" ", 1)[1]) for x in served + expected if "_sum{" in x]
    assert len(sums) == 2 and sums[0] == pytest.approx(sums[1], rel=1e-12)
    count = 'fluentpro_http_request_seconds_count{method="GET",route="/api/v1/me",status="200"}'
    assert f"{count} 600.0" in served
