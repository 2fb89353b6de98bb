"""The server as real OS processes: config errors, migrations, several workers, SIGTERM."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import psycopg2
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from psycopg2 import sql

from server import infra
from services.career.catalog import load_seed_catalog
from tests.conftest import TEST_DB_NAME
from tests.fake_ai import Behaviour, FakeAI
from tests.helpers import DEFAULT_PASSWORD
from tests.processes import ROOT, free_port, server_env, start, stop, wait_http


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_bad_config_value_gives_one_clear_line(database_url: str, redis_url: str) -> None:
    env = server_env(database_url, redis_url, 0, FLUENTPRO_DATABASE_POOL_MAX="zero")
    done = run(["-m", "server", "migrate"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == ["configuration error: database.pool_max: Not a valid integer."]


@pytest.fixture
def scratch_database(database_url: str) -> str:
    name = TEST_DB_NAME + "_migrations"
    admin = psycopg2.connect(infra.with_database(database_url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield infra.with_database(database_url, name)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def test_migrations_apply_once_when_two_processes_start_together(
    scratch_database: str, redis_url: str
) -> None:
    env = server_env(scratch_database, redis_url, 0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "server", "migrate"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied = [out for out, _ in outputs if "0001_core.sql" in out]
    assert len(applied) == 1, outputs  # exactly one process applied the migrations
    conn = psycopg2.connect(scratch_database)
    with conn.cursor() as cur:
        cur.execute("SELECT version, count(*) FROM schema_migrations GROUP BY version")
        rows = cur.fetchall()
    conn.close()
    assert rows and all(count == 1 for _, count in rows)


def _pid(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=5) as r:
        return int(json.loads(r.read())["pid"])


def _pids(port: int, want: int = 2, within: float = 20.0) -> list[int]:
    """Concurrent requests on fresh connections until ``want`` processes have answered; the
    answering pid of every request sent."""
    answers: list[int] = []
    deadline = time.monotonic() + within
    with ThreadPoolExecutor(16) as pool:
        while len(set(answers)) < want and time.monotonic() < deadline:
            answers.extend(pool.map(lambda _: _pid(port), range(32)))
    return answers


def _live_requests_counted(conn: http.client.HTTPConnection) -> float:
    """``/health/live`` 200s in the aggregated ``/metrics`` of every process."""
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "fluentpro_http_requests_total"
        and sample.labels.get("route") == "/health/live"
        and sample.labels.get("status") == "200"
    )


def test_workers_flag_serves_from_several_processes(database_url: str, redis_url: str) -> None:
    port = free_port()
    proc = start(["-m", "server", "--workers", "2"], server_env(database_url, redis_url, port))
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc)
        answers = _pids(port)
        assert len(set(answers)) == 2
        _metrics_sum_both_workers(port, answers)
    finally:
        assert stop(proc) == 0


def _metrics_sum_both_workers(port: int, answers: list[int]) -> None:
    """/metrics adds up both processes' figures. Scraped over one keep-alive connection, so
    always by the same process: the other one's requests arrive because it copies its
    tallies into the shared files every second by itself."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    deadline = time.monotonic() + 10
    while _live_requests_counted(conn) != len(answers) and time.monotonic() < deadline:
        time.sleep(0.2)  # polling a count that has no event to wait on
    assert _live_requests_counted(conn) == len(answers)
    conn.close()


def test_gunicorn_conf_serves_two_workers_and_sums_their_metrics(
    database_url: str, redis_url: str
) -> None:
    """The README's gunicorn command: gunicorn.conf.py (uvloop worker, multi-process metrics)."""
    port = free_port()
    env = server_env(database_url, redis_url, port, FLUENTPRO_WORKERS="2")
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = start(["-m", "gunicorn", "server.gunicorn_app:app"], env)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc)
        answers = _pids(port)
        assert len(set(answers)) == 2
        _metrics_sum_both_workers(port, answers)
    finally:
        assert stop(proc) == 0


def test_workers_flag_replaces_a_killed_worker(database_url: str, redis_url: str) -> None:
    """SIGKILL one of two workers: a new process serves within 5 s, and the port never
    stops answering meanwhile (the other worker holds it)."""
    port = free_port()
    proc = start(["-m", "server", "--workers", "2"], server_env(database_url, redis_url, port))
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc)
        before = set(_pids(port))
        assert len(before) == 2
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        after: set[int] = set()
        while time.monotonic() - killed_at < 5 and not (after - before):
            try:  # a connection queued on the killed process's socket is reset: ask again
                after.add(_pid(port))
            except OSError:
                continue
        assert after - before, f"no new worker within 5 s (saw {after})"
        assert victim not in set(_pids(port))
    finally:
        assert stop(proc) == 0


def role_answer() -> dict[str, object]:
    """A provider answer naming a real catalog role (the server validates against it)."""
    role = load_seed_catalog().role("Site Reliability Engineer")
    assert role is not None
    return {
        "recommendations": [{"role_id": role.id, "title": role.title, "match_score": 80}],
        "reasoning": ["From the provider."],
        "skill_gaps": [],
        "alternative_suggestions": [],
    }


async def test_sigterm_lets_in_flight_requests_finish(
    database_url: str, redis_url: str, fake_ai: FakeAI, redis: aioredis.Redis
) -> None:
    """A request in progress when SIGTERM arrives (here: waiting 1.5 s on the AI provider)
    still gets its full answer, and the process then exits 0. (The ``redis`` fixture empties
    the suite's Redis DB: an answer cached by an earlier test would skip the provider.)"""
    port = free_port()
    env = server_env(database_url, redis_url, port, FLUENTPRO_AI_BASE_URL=fake_ai.url)
    proc = start(["-m", "server"], env)
    try:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: wait_http(f"http://127.0.0.1:{port}/health/ready", proc=proc)
        )
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            r = await session.post(
                f"{base}/api/v1/auth/register",
                json={"email": "sigterm@example.com", "password": DEFAULT_PASSWORD},
            )
            assert r.status == 201, await r.text()
            token = (await r.json())["token"]
            fake_ai.set(Behaviour(delay=1.5, data=role_answer()))
            pending = asyncio.create_task(
                session.post(
                    f"{base}/api/v1/recommendations/roles",
                    json={"job_description": "Python developer building REST APIs with SQL"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            await fake_ai.wait_calls(1, within_s=10)  # the request is now in flight
            proc.send_signal(signal.SIGTERM)
            r = await asyncio.wait_for(pending, timeout=10)
            assert r.status == 200, await r.text()
            assert (await r.json())["source"] == "ai"
        code = await asyncio.get_running_loop().run_in_executor(None, proc.wait, 10)
        assert code == 0
    finally:
        stop(proc)
