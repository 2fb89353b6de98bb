"""Shared fixtures: a migrated PostgreSQL database per session, a Redis DB per test run,
an app built by create_app, and the fake OpenAI-compatible server.

The suite never touches the application's own data: its database is ``fluentpro_test``
(plus ``FLUENTPRO_TEST_DB_SUFFIX``) and its Redis DB number is ``FLUENTPRO_TEST_REDIS_DB``
(default 9); both are wiped only because the suite created them.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import psycopg2
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient
from psycopg2 import sql
from pytest_aiohttp import AiohttpClient
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from db.migrate import apply_migrations
from db.pool import Database, PoolSettings
from handlers.config import Config
from server import infra
from server.app import create_app
from server.config import load_config
from services import aio_compat

# The Python 3.11 wait_for fix, as create_app and the entry points install it; tests that
# build services without an app rely on it too.
aio_compat.install()

TEST_DB_NAME = "fluentpro_test" + os.environ.get("FLUENTPRO_TEST_DB_SUFFIX", "")
TEST_REDIS_DB = int(os.environ.get("FLUENTPRO_TEST_REDIS_DB", "9"))
TEST_PEPPER = "test-pepper-not-secret"

pytest_plugins = ["tests.ai_fixtures"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze the heap built by importing everything (~130k objects, 80k of them the openai
    client's types), as the server does at start-up (``server.app.tune_gc``): otherwise
    each full collection of the test process scans it and stops the loop for ~100 ms in
    the middle of whatever test is measuring loop lag."""
    gc.collect()
    gc.freeze()


def _recreate_database(base_url: str, name: str) -> str:
    admin = psycopg2.connect(infra.with_database(base_url, "postgres"), connect_timeout=5)
    try:
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            ident = sql.Identifier(name)  # our own test database
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(ident))
    finally:
        admin.close()
    return infra.with_database(base_url, name)


@pytest.fixture(scope="session")
def located() -> Iterator[dict[str, infra.Located]]:
    """PostgreSQL and Redis as `make test` resolves them (env URL, local, else embedded)."""
    var = infra.var_dir()
    pg = infra.locate_postgres(os.environ.get("FLUENTPRO_DATABASE_URL", ""), "", var)
    rd = infra.locate_redis(os.environ.get("FLUENTPRO_REDIS_URL", ""), TEST_REDIS_DB, var)
    yield {"postgres": pg, "redis": rd}


@pytest.fixture(scope="session")
def database_url(located: dict[str, infra.Located]) -> str:
    """A freshly created, migrated test database."""
    url = _recreate_database(located["postgres"].url, TEST_DB_NAME)

    async def migrate() -> None:
        db = await Database.connect(PoolSettings(dsn=url, minsize=1, maxsize=2))
        try:
            await apply_migrations(db)
            from db.catalog_seed import load_seed

            await load_seed(db)
        finally:
            await db.close()

    asyncio.run(migrate())
    return url


@pytest.fixture(scope="session")
def redis_url(located: dict[str, infra.Located]) -> str:
    url = located["redis"].url
    if located["redis"].how == "configured":
        # A configured URL names a server; the suite still uses its own DB number.
        base = url.rsplit("/", 1)[0] if url.startswith("redis://") else url
        url = f"{base}/{TEST_REDIS_DB}"
    return url


USER_TABLES = (
    "users",
    "auth_sessions",
    "recommendations",
    "learning_paths",
    "interactions",
    "learning_sessions",
    "adaptive_recommendations",
    "tasks",
)


def truncate_user_data(url: str) -> None:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(USER_TABLES) + " CASCADE")
            cur.execute(
                "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename LIKE 'procrastinate_jobs'"
            )
            jobs = cur.fetchone()[0]
            if jobs:
                cur.execute("TRUNCATE procrastinate_jobs CASCADE")
    finally:
        conn.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """The suite's own Redis DB, emptied before each test."""
    client = aioredis.Redis.from_url(
        redis_url, socket_timeout=2, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def config(database_url: str, redis_url: str, redis: aioredis.Redis) -> Config:
    """Test configuration: own database and Redis DB, cheap bcrypt, local AI engine."""
    truncate_user_data(database_url)
    return load_config(
        env={"FLUENTPRO_PEPPER": TEST_PEPPER},
        overrides={
            "database": {"url": database_url, "pool_max": 10},
            "redis": {"url": redis_url},
            "auth": {"bcrypt_cost": 4},
            "ai": {"base_url": ""},
            "server": {"shutdown_grace_s": 2, "gc_freeze": False},
            "logging": {"level": "INFO"},
            # Tests register many users from one address; tests/security checks the limits.
            "limits": {"register_per_address_per_minute": 100_000, "register_per_minute": 100_000},
            # Load shedding has its own tests (test_load_shedding.py sets its thresholds);
            # elsewhere a loop stall of a loaded CI machine (a full collection of the test
            # process's heap: 885 ms was seen) must not turn answers into 503s.
            "monitor": {"shed_lag_ms": 60_000},
        },
    )


AppFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, config: Config) -> AppFactory:
    """Build a client for an app made from ``config`` with some sections replaced."""

    async def factory(cfg: Config | None = None, **sections: Any) -> TestClient[Any, Any]:
        base = cfg or config
        app: web.Application = create_app(base.replace(**sections) if sections else base)
        return await aiohttp_client(app)

    return factory


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient[Any, Any]:
    return await make_client()
