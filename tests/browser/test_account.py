"""The account page at phone and desktop sizes: download my data (the NDJSON export), change
the password (other sessions signed out), see and end sessions, delete the account."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import PASSWORD, SIZES, LiveServer, login, register

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
sizes = pytest.mark.parametrize("viewport", list(SIZES.values()), ids=list(SIZES))
NEW_PASSWORD = "Quartz-Meadow-Falcon-Ribbon-88"


def security_endpoints(server: LiveServer) -> bool:
    """The account endpoints come from the security issue (#21); the UI is built to its
    contract and tested end to end once they are merged."""
    return server.has_route("/api/v1/me/sessions") and server.has_route("/api/v1/me/password")


@sizes
async def test_download_my_data(page: Page, artifacts: Path, viewport: dict[str, int]) -> None:
    size = "phone" if viewport["width"] < 760 else "desktop"
    await register(page)
    await page.goto("/#/account")
    async with page.expect_download() as info:
        await page.get_by_test_id("export-link").click()
    download = await info.value
    assert download.suggested_filename.startswith("fluentpro-export-")
    text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8")
    lines = [json.loads(x) for x in text.splitlines()]
    assert lines[0]["type"] == "profile" and lines[-1]["type"] == "end"
    await page.screenshot(path=str(artifacts / f"flow-account-{size}.png"), full_page=True)


@sizes
async def test_password_sessions_and_deletion(
    page: Page, browser: Browser, live_server: LiveServer, viewport: dict[str, int]
) -> None:
    assert security_endpoints(live_server), "the account endpoints are missing from the routes"
    email = await register(page)
    # A second device signed in to the same account.
    other_ctx = await browser.new_context(base_url=live_server.url)
    other = await other_ctx.new_page()
    try:
        await login(other, email)
        await page.goto("/#/account")
        sessions = page.locator("[data-testid=sessions] li[data-session-id]")
        await expect(sessions).to_have_count(2)
        await expect(page.locator("[data-current='1']")).to_contain_text("This device")

        # Sign the other device out from here.
        await (
            sessions.filter(has_not=page.locator(".badge"))
            .get_by_role("button", name="Sign out")
            .click()
        )
        await expect(sessions).to_have_count(1)
        status = await other.evaluate("fetch('/api/v1/me').then(r => r.status)")
        assert status == 401

        # Change the password: the current one is required; other sessions end.
        await login(other, email)
        await page.reload()
        await expect(sessions).to_have_count(2)
        form = page.get_by_test_id("password-form")
        await form.get_by_label("Current password").fill("wrong-password-entirely")
        await form.get_by_label("New password").fill(NEW_PASSWORD)
        await form.get_by_role("button", name="Change password").click()
        await expect(form.locator("[data-field=current_password] .field-error")).to_contain_text(
            "not your current password"
        )
        await form.get_by_label("Current password").fill(PASSWORD)
        await form.get_by_role("button", name="Change password").click()
        await expect(page.locator(".toast", has_text="Password changed")).to_be_visible()
        await expect(sessions).to_have_count(1)
        assert await other.evaluate("fetch('/api/v1/me').then(r => r.status)") == 401

        # "Sign out everywhere else" asks first.
        await login(other, email, NEW_PASSWORD)
        await page.reload()
        await expect(sessions).to_have_count(2)
        await page.get_by_role("button", name="Sign out everywhere else").click()
        confirm = page.get_by_role("dialog").get_by_role("button", name="Sign out other sessions")
        await confirm.click()
        await expect(sessions).to_have_count(1)

        # Delete the account: confirmation with the password.
        await page.get_by_role("button", name="Delete my account…").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Your password").fill("not-it-at-all-really")
        await dialog.get_by_role("button", name="Delete my account").click()
        await expect(dialog).to_contain_text("not your password")
        await dialog.get_by_label("Your password").fill(NEW_PASSWORD)
        await dialog.get_by_role("button", name="Delete my account").click()
        await expect(page.locator(".toast", has_text="deleted")).to_be_visible()
        await page.goto("/#/login")
        await page.get_by_label("E-mail").fill(email)
        await page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator(".form-alert")).to_be_visible()
    finally:
        await other_ctx.close()
