"""Findings 4, 7, 11 and 12 (2026-12-07): the OpenAPI document rebuilt per request, no CSP
on the web app, the session cookie without Secure behind a TLS proxy, /metrics open to
anyone, the development pepper used silently in production, secrets in Config's repr and
database errors quoting input into the logs."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import psycopg2
import pytest

from handlers import docs
from server.config import ConfigError, load_config
from server.logs import JsonFormatter
from tests.conftest import AppFactory
from tests.helpers import DEFAULT_PASSWORD
from tests.processes import ROOT


async def test_openapi_and_docs_are_built_once(
    make_client: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = 0
    real = docs.build_openapi

    def counting(app: Any) -> dict[str, Any]:
        nonlocal builds
        builds += 1
        return real(app)

    monkeypatch.setattr(docs, "build_openapi", counting)
    client = await make_client()
    bodies = set()
    for _ in range(5):
        r = await client.get("/api/openapi.json")
        assert r.status == 200
        bodies.add(await r.read())
        assert (await client.get("/api/docs")).status == 200
    assert builds == 1
    assert len(bodies) == 1
    assert b'"/api/v1/me/sessions"' in bodies.pop()


async def test_web_app_page_has_a_csp(make_client: AppFactory) -> None:
    client = await make_client()
    r = await client.get("/")
    assert r.status == 200
    assert r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_cookie_is_secure_behind_a_tls_proxy_and_hsts_is_sent(
    make_client: AppFactory,
) -> None:
    client = await make_client(server={"trust_forwarded_for": True})
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": "tls@example.com", "password": DEFAULT_PASSWORD},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10"},
    )
    assert r.status == 201, await r.text()
    cookie = r.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    # Plain HTTP, no proxy saying otherwise: no Secure, no HSTS.
    r = await client.post(
        "/api/v1/auth/login", json={"email": "tls@example.com", "password": DEFAULT_PASSWORD}
    )
    assert "Secure" not in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in r.headers


async def test_metrics_need_a_local_peer_or_the_token(make_client: AppFactory) -> None:
    client = await make_client(server={"trust_forwarded_for": True})
    assert (await client.get("/metrics")).status == 200  # a local scraper
    r = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status == 403  # came through the proxy: a stranger
    assert r.content_type == "application/problem+json"

    cfg = load_config(
        env={"FLUENTPRO_PEPPER": "p" * 20, "FLUENTPRO_METRICS_TOKEN": "scrape-secret-0123"},
        overrides={"server": {"metrics_access": "token", "gc_freeze": False}},
    )
    client = await make_client(server=cfg.server, metrics_token=cfg.metrics_token)
    assert (await client.get("/metrics")).status == 403
    wrong = {"Authorization": "Bearer scrape-secret-0124"}
    assert (await client.get("/metrics", headers=wrong)).status == 403
    right = {"Authorization": "Bearer scrape-secret-0123"}
    r = await client.get("/metrics", headers=right)
    assert r.status == 200 and "fluentpro" in await r.text()


def test_production_refuses_the_development_pepper_and_auto_cookies() -> None:
    with pytest.raises(ConfigError, match="FLUENTPRO_PEPPER"):
        load_config(env={"FLUENTPRO_ENV": "production"})
    with pytest.raises(ConfigError, match="cookie_secure"):
        load_config(env={"FLUENTPRO_ENV": "production", "FLUENTPRO_PEPPER": "x" * 32})
    cfg = load_config(
        env={
            "FLUENTPRO_ENV": "production",
            "FLUENTPRO_PEPPER": "x" * 32,
            "FLUENTPRO_AUTH_COOKIE_SECURE": "always",
        }
    )
    assert cfg.server.environment == "production"
    with pytest.raises(ConfigError, match="FLUENTPRO_METRICS_TOKEN"):
        load_config(env={"FLUENTPRO_SERVER_METRICS_ACCESS": "token"})


async def test_production_server_does_not_start_without_a_pepper() -> None:
    env = {"FLUENTPRO_ENV": "production", "PATH": "/usr/bin:/bin"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "FLUENTPRO_PEPPER" in lines[0], err


def test_config_repr_shows_no_secret() -> None:
    cfg = load_config(
        env={
            "FLUENTPRO_PEPPER": "pepper-secret-value",
            "FLUENTPRO_AI_API_KEY": "sk-ai-secret-value",
            "FLUENTPRO_METRICS_TOKEN": "metrics-secret-value",
            "FLUENTPRO_DATABASE_URL": "postgresql://app:db-secret-value@db/fluentpro",
            "FLUENTPRO_REDIS_URL": "redis://:redis-secret-value@cache:6379/0",
        }
    )
    text = repr(cfg) + str(cfg)
    for secret in ("pepper-secret", "sk-ai-secret", "metrics-secret", "db-secret", "redis-secret"):
        assert secret not in text, secret
    assert "postgresql://app:***@db/fluentpro" in text
    assert cfg.pepper == "pepper-secret-value"  # still there for the code that needs it


SECRET_INPUT = "-".join(("hunter2", "password", "in", "wrong", "field"))


def test_database_errors_do_not_quote_input_into_logs(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            try:
                cur.execute("SELECT %s::uuid", (SECRET_INPUT,))
            except psycopg2.Error:
                record = logging.LogRecord(
                    "x", logging.ERROR, __file__, 1, "unhandled", None, sys.exc_info()
                )
    finally:
        conn.close()
    line = JsonFormatter().format(record)
    assert SECRET_INPUT not in line
    assert "InvalidTextRepresentation" in line and "22P02" in line
