"""docs/examples/browser.js runs as written in Chromium, on a page of the live server
(cookie authentication, EventSource, WebSocket), under the strict CSP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import Page

from tests.browser.conftest import PASSWORD, new_email

# The browser fixtures live on the module's event loop (tests/browser/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "browser.js"


async def test_browser_example(page: Page) -> None:
    await page.goto("/api/docs/events")  # any page of the server: same origin
    address = new_email("example")
    call = f"\nfluentproExample({json.dumps({'email': address, 'password': PASSWORD})})"
    lines = await page.evaluate(EXAMPLE.read_text() + call)
    assert lines[0] == f"logged in as {address}"
    assert any(line.startswith("role: ") for line in lines), lines
    assert "source: local" in lines
    assert "progress 100%" in lines and "complete" in lines, lines
    assert lines[-3:] == ["ws: welcome", "ws: pong", "ws: replayed complete"], lines
