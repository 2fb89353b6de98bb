"""The admin's task table (queued, running, failed across users) with a confirmed cancel,
at phone and desktop sizes. The server here runs no task worker, so tasks stay queued
until someone acts on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.config import Config
from tests.browser.conftest import SIZES, LiveServer, register, sign_in_as_admin

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture(scope="module")
def browser_config(browser_config: Config) -> Config:
    return browser_config.replace(tasks={"in_process_worker": False})


@pytest.mark.parametrize("viewport", list(SIZES.values()), ids=list(SIZES))
async def test_admin_cancels_a_users_queued_task(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    artifacts: Path,
    make_admin: Any,
    viewport: dict[str, int],
) -> None:
    size = "phone" if viewport["width"] < 760 else "desktop"
    # Someone else's task, waiting in the queue.
    other_ctx = await browser.new_context(base_url=live_server.url)
    try:
        other = await other_ctx.new_page()
        owner = await register(other, name="Task Owner")
        task_id = await other.evaluate(
            """() => fetch('/api/v1/tasks', {method: 'POST',
                 headers: {'Content-Type': 'application/json'},
                 body: JSON.stringify({kind: 'career_report', params: {}})})
               .then(r => r.json()).then(b => b.task_id)"""
        )
    finally:
        await other_ctx.close()

    email = await register(page, name="Task Admin")
    await sign_in_as_admin(page, email, make_admin)
    await page.goto("/#/system")
    row = page.locator(f"[data-testid=admin-tasks] tr[data-task-id='{task_id}']")
    await expect(row).to_have_attribute("data-status", "queued")
    await expect(row).to_contain_text(owner)
    await row.scroll_into_view_if_needed()
    await page.screenshot(path=str(artifacts / f"flow-admin-tasks-{size}.png"), full_page=True)

    # Cancel asks first; dismissing the question leaves the task alone.
    await row.get_by_role("button", name="Cancel").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text(owner)
    await dialog.get_by_role("button", name="Keep it").click()
    await expect(row).to_have_attribute("data-status", "queued")
    await row.get_by_role("button", name="Cancel").click()
    await page.get_by_role("dialog").get_by_role("button", name="Cancel the task").click()
    await expect(page.locator(".toast", has_text="Task cancelled")).to_be_visible()
    await expect(row).to_have_count(0)  # cancelled tasks leave the queued/running/failed table
    status = await page.evaluate(
        "(id) => fetch('/api/v1/system/tasks?status=queued').then(r => r.json())"
        ".then(b => b.items.some(t => t.task_id === id))",
        task_id,
    )
    assert status is False


@pytest.mark.parametrize("viewport", list(SIZES.values()), ids=list(SIZES))
async def test_task_list_and_panel_tell_the_same_state(
    page: Page, browser: Browser, live_server: LiveServer, make_admin: Any
) -> None:
    """One source, the task's events: an unfinished task from an earlier visit gets its
    live panel, and when it ends (here: an admin cancels it) list and panel both say so."""
    await register(page, name="Waiting User")
    task_id = await page.evaluate(
        """() => fetch('/api/v1/tasks', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({kind: 'career_report', params: {}})})
           .then(r => r.json()).then(b => b.task_id)"""
    )
    await page.goto("/#/tasks")
    row = page.locator(f".task-list li[data-task-id='{task_id}']")
    panel = page.locator(f".task-panel[data-task-id='{task_id}']")
    await expect(row).to_have_attribute("data-status", "queued")
    await expect(panel).to_have_attribute("data-status", "queued")

    admin_ctx = await browser.new_context(base_url=live_server.url)
    try:
        admin = await admin_ctx.new_page()
        email = await register(admin, name="Ops")
        await sign_in_as_admin(admin, email, make_admin)
        status = await admin.evaluate(
            "(id) => fetch('/api/v1/system/tasks/' + id, {method: 'DELETE'}).then(r => r.status)",
            task_id,
        )
        assert status == 202
    finally:
        await admin_ctx.close()
    await expect(panel).to_have_attribute("data-status", "cancelled")
    await expect(row).to_have_attribute("data-status", "cancelled")
    await expect(row.locator(".badge-status")).to_have_text("Cancelled")
