"""The foundation: health, errors as problem details, request ids, headers, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from handlers.keys import PASSWORDS
from tests.conftest import AppFactory


async def test_live(client: TestClient[Any, Any]) -> None:
    r = await client.get("/health/live")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["status"] == "ok" and isinstance(body["pid"], int)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert len(r.headers["X-Request-ID"]) >= 16


async def test_ready_ok(client: TestClient[Any, Any]) -> None:
    r = await client.get("/health/ready")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_ready_names_unreachable_redis(make_client: AppFactory) -> None:
    # Port 1 on loopback: nothing listens there, connections are refused at once.
    client = await make_client(redis={"url": "redis://127.0.0.1:1/0"})
    r = await client.get("/health/ready")
    assert r.status == 503, await r.text()
    body = await r.json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"
    assert r.headers["Retry-After"]


async def test_request_id_echoed_when_valid(client: TestClient[Any, Any]) -> None:
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["X-Request-ID"] != "bad id\twith spaces"


async def test_unknown_route_is_problem_404(client: TestClient[Any, Any]) -> None:
    r = await client.get("/api/v1/nope", headers={"X-Request-ID": "rid-404"})
    assert r.status == 404
    assert r.content_type == "application/problem+json"
    body = await r.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["request_id"] == "rid-404"


async def test_wrong_method_is_problem_405(client: TestClient[Any, Any]) -> None:
    r = await client.post("/health/live", json={})
    assert r.status == 405
    assert r.content_type == "application/problem+json"
    assert "GET" in r.headers["Allow"]


async def test_openapi_valid_and_lists_every_route(client: TestClient[Any, Any]) -> None:
    r = await client.get("/api/openapi.json")
    assert r.status == 200
    doc = await r.json()
    validate(doc)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    app = client.server.app
    assert app is not None
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if route.method == "HEAD" or path.startswith("/static") or path == "/":
            continue
        assert (route.method, path) in documented, (route.method, path)


async def test_docs_page(client: TestClient[Any, Any]) -> None:
    r = await client.get("/api/docs")
    assert r.status == 200
    assert "/api/openapi.json" in await r.text()
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


async def test_static_traversal_refused(client: TestClient[Any, Any]) -> None:
    for path in ("/static/../server/config.py", "/static/%2e%2e/setup.cfg"):
        r = await client.get(path)
        assert r.status in (403, 404), path


async def test_metrics_counts_requests_by_route_template(client: TestClient[Any, Any]) -> None:
    for _ in range(3):
        assert (await client.get("/health/live")).status == 200
    await client.get("/api/v1/no-such-thing")
    r = await client.get("/metrics")
    assert r.status == 200
    text = await r.text()
    assert (
        'fluentpro_http_requests_total{method="GET",route="/health/live",status="200"} 3.0' in text
    )
    assert 'route="unmatched"' not in text or 'status="404"' in text
    assert "fluentpro_http_request_seconds_bucket" in text


async def test_unexpected_error_is_a_generic_500_without_internals(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = client.server.app
    assert app is not None

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail at /srv/app.py line 42")

    monkeypatch.setattr(app[PASSWORDS], "analyze_async", broken)
    r = await client.post("/api/v1/passwords/analyze", json={"password": "x" * 12})
    assert r.status == 500
    assert r.content_type == "application/problem+json"
    text = await r.text()
    assert "secret" not in text and "Traceback" not in text and "RuntimeError" not in text
    body = await r.json()
    assert body["detail"] == "An unexpected error occurred." and body["request_id"]
    assert any("secret internal detail" in str(rec.exc_info) for rec in caplog.records)
