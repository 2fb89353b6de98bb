"""/api/docs in a real browser: Swagger UI renders the OpenAPI document under the strict
CSP (the page fixture fails the test on any CSP violation or page error), and "Try it
out" calls this server; the events page links back and forth."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

# The browser fixtures live on the module's event loop (tests/browser/conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_swagger_ui_renders_and_tries_a_route(page: Page, artifacts: Path) -> None:
    await page.goto("/api/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("FluentPro API")
    live = page.locator(".opblock-summary-path", has_text="/health/live").first
    await expect(live).to_be_visible()
    await live.click()
    await page.get_by_role("button", name="Try it out").click()
    await page.get_by_role("button", name="Execute").click()
    await expect(
        page.locator(".live-responses-table tbody .response-col_status").first
    ).to_have_text("200")
    await page.screenshot(path=str(artifacts / "api-docs.png"))
    await page.get_by_role("link", name="Events: SSE and WebSocket (AsyncAPI)").click()
    await expect(page.get_by_role("heading", name="WebSocket /ws")).to_be_visible()
    await expect(page.locator("#schema-TaskProgress")).to_be_visible()
