"""End-to-end: the web app in headless Chromium against the real app on a real port."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page, expect

from handlers.keys import CHAT_SERVICE
from services.adaptive import EVENT_NAME
from services.events import EventBus
from services.events.channels import recommendations_channel
from tests.browser.conftest import (
    LiveServer,
    login,
    metrics_seen,
    new_email,
    register,
    save_profile,
    wait_live,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def shot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


async def user_id(page: Page) -> str:
    return str(await page.evaluate("fetch('/api/v1/me').then(r => r.json()).then(u => u.id)"))


async def test_register_roles_learning_path(page: Page, artifacts: Path) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await shot(page, artifacts, "01-sign-in")

    # A refused password: one plain message beside the field (the flow of error copy is
    # checked in detail in test_flows.py).
    await page.goto("/#/register")
    await page.get_by_label("E-mail").fill(new_email())
    await page.get_by_label("Password", exact=True).fill("password")
    await expect(page.locator(".meter")).to_have_attribute("data-strength", "very_weak")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator("[data-field=password] .field-error")).not_to_be_empty()
    await expect(page.get_by_text("Unprocessable")).to_have_count(0)
    await shot(page, artifacts, "02-register-refused")

    await register(page)
    await save_profile(page)
    await shot(page, artifacts, "03-profile")

    await page.get_by_role("link", name="Role match").click()
    await page.get_by_role("button", name="Use a sample").click()
    await page.get_by_role("button", name="Find matching roles").click()
    cards = page.locator(".role-card")
    await expect(cards.first).to_be_visible()
    assert await cards.count() >= 3
    score = await cards.first.locator(".score-value").inner_text()
    assert 0 <= int(score) <= 100
    await expect(page.locator(".results .badge-source").first).to_have_text("Source: Local engine")
    await expect(cards.first.locator(".reasoning")).to_contain_text("description")
    title = await cards.first.locator("h3").inner_text()
    await shot(page, artifacts, "04-role-match")

    await cards.first.get_by_role("link", name="Build a learning path").click()
    await expect(page.get_by_label("Target role")).to_have_value(title)
    await page.get_by_role("button", name="Build learning path").click()
    milestones = page.locator("[data-testid=milestones] > li")
    await expect(milestones.first).to_be_visible()
    await expect(page.locator("#path-title")).to_contain_text(title)
    await expect(page.locator(".path-list a")).to_have_count(1)
    await shot(page, artifacts, "05-learning-path")

    # Courses arrive one by one from the NDJSON stream.
    await page.get_by_role("link", name="Courses").click()
    await expect(page.get_by_label("Learning goals")).to_have_value("machine learning, kubernetes")
    await page.get_by_role("button", name="Recommend courses").click()
    await expect(page.locator(".stream-status")).to_contain_text("recommended")
    assert await page.locator("[data-testid=course-stream] .course-card").count() >= 2
    await shot(page, artifacts, "06-courses-stream")

    # The overview's onboarding checklist reflects all of it.
    await page.get_by_role("link", name="Overview").click()
    await expect(page.locator("[data-step=learning_path_created]")).to_have_attribute(
        "data-done", "1"
    )
    await expect(page.locator("[data-step=roles_viewed]")).to_have_attribute("data-done", "1")
    await shot(page, artifacts, "07-overview")

    # Sign out, sign back in.
    email = await page.evaluate("fetch('/api/v1/me').then(r => r.json()).then(u => u.email)")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await login(page, email)
    await expect(page.locator("#user-name")).to_have_text("Ada Lovelace")


async def test_task_progress_to_100(page: Page, artifacts: Path) -> None:
    await register(page)
    await page.get_by_role("link", name="Reports & tasks").click()
    await page.get_by_label("What to run").select_option("batch_role_match")
    await page.get_by_label("Job descriptions").fill(
        "Senior Python engineer, PostgreSQL, Kubernetes\n---\n"
        "Registered nurse for an intensive care unit\n---\n"
        "Data analyst with SQL, Tableau and statistics"
    )
    await page.get_by_role("button", name="Start").click()
    panel = page.locator(".task-panel").first
    await expect(panel.locator("[data-testid=task-percent]")).to_have_text("100%", timeout=20_000)
    await expect(panel).to_have_attribute("data-status", "succeeded")
    await expect(panel.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "100")
    await expect(panel.locator(".task-result tbody tr")).to_have_count(3)

    await page.get_by_label("What to run").select_option("career_report")
    await page.get_by_role("button", name="Start").click()
    report = page.locator(".task-panel").first
    await expect(report.locator("[data-testid=task-percent]")).to_have_text("100%")
    await expect(report.locator(".task-result")).to_contain_text("Best-fitting roles")
    await expect(page.locator(".task-list li")).to_have_count(2)
    # The list says what the panels say: both finished, at 100 %.
    await expect(page.locator(".task-list li[data-status=succeeded]")).to_have_count(2)
    await shot(page, artifacts, "08-tasks")


async def test_adaptive_recommendation_after_interactions(page: Page, artifacts: Path) -> None:
    await register(page)
    await page.get_by_role("link", name="Courses").click()
    await wait_live(page)
    await page.get_by_label("Level").select_option("advanced")
    await page.get_by_role("button", name="Search").click()
    cards = page.locator("[data-testid=course-search] .course-card")
    await expect(cards.nth(3)).to_be_visible()
    await cards.nth(0).get_by_role("button", name=re.compile("^View")).click()
    await expect(cards.nth(0).locator(".ack")).to_have_attribute("data-acked", "view")
    for i in range(3):  # three skipped advanced courses trigger an easier prerequisite
        await cards.nth(i).get_by_role("button", name=re.compile("^Skip")).click()
        await expect(cards.nth(i).locator(".ack")).to_have_attribute("data-acked", "skip")
    await expect(cards.nth(0).locator(".ack")).to_contain_text("(live)")  # went over the WS
    item = page.locator("[data-testid=adaptive-feed] .adaptive-item.is-new")
    await expect(item.first).to_be_visible()
    await expect(item.first).to_have_attribute("data-type", "easier_prerequisite")
    await cards.nth(3).get_by_label(re.compile("^Rate")).select_option("4")
    await expect(cards.nth(3).locator(".ack")).to_have_attribute("data-acked", "rate")
    await shot(page, artifacts, "09-adaptive")


async def test_coach_chat_streams_tokens(
    page: Page, live_server: LiveServer, artifacts: Path
) -> None:
    assert live_server.app is not None
    assert live_server.app.get(CHAT_SERVICE) is not None, "the career-coach chat is not wired"
    await register(page)
    await save_profile(page)
    await page.get_by_role("link", name="Career coach").click()
    await wait_live(page)
    # The view renders after the click returns (the socket was live before it).
    await page.wait_for_selector("[data-testid=chat-log]")
    await page.evaluate(
        """() => {
          window.__chatUpdates = 0;
          new MutationObserver((muts) => { window.__chatUpdates += muts.length; })
            .observe(document.querySelector('[data-testid=chat-log]'),
                     {subtree: true, childList: true, characterData: true});
        }"""
    )
    await page.get_by_label("Message to the coach").fill(
        "What should I learn next to become a ML engineer?"
    )
    await page.keyboard.press("Enter")
    answer = page.locator(".bubble-coach").last
    await expect(answer).to_have_attribute("data-done", "1", timeout=30_000)
    text = await answer.locator(".bubble-text").inner_text()
    assert len(text) > 20, text
    await expect(answer.locator(".badge-source")).to_be_visible()
    updates = await page.evaluate("window.__chatUpdates")
    assert updates >= 3, f"the answer arrived in {updates} DOM update(s), not as a stream"
    await shot(page, artifacts, "10-coach")


async def test_server_restart_keeps_live_events(
    page: Page, live_server: LiveServer, artifacts: Path
) -> None:
    await register(page)
    uid = await user_id(page)
    await page.get_by_role("link", name="Overview").click()
    await wait_live(page)
    await expect(page.locator("[data-testid=onboarding-percent]")).to_be_visible()
    await expect(page.locator("[data-step=first_course_started]")).to_have_attribute(
        "data-done", "0"
    )

    await live_server.stop()
    await expect(page.locator("#conn")).not_to_have_attribute("data-state", "connected")
    await shot(page, artifacts, "11-reconnecting")

    # An adaptive recommendation published while no server runs is not lost.

    r = aioredis.Redis.from_url(live_server.config.redis.url, socket_timeout=2)
    try:
        bus = EventBus(r, 1000, 3600)
        await bus.publish(
            recommendations_channel(uid),
            EVENT_NAME,
            {
                "id": "00000000-0000-4000-8000-000000000001",
                "recommendation_type": "goal_nudge",
                "content": {"message": "Published while the server was down"},
                "trigger_reason": "restart test",
                "urgency_level": "medium",
                "expected_impact": "none",
                "metadata": {},
                "created_at": datetime.now(UTC).isoformat(),
            },
        )
    finally:
        await r.aclose()

    await live_server.start()
    await wait_live(page, wait_ms=30_000)
    feed_item = page.locator("[data-rec-id='00000000-0000-4000-8000-000000000001']")
    await expect(feed_item).to_be_visible(timeout=20_000)

    # A live event after the restart reaches the still-open page (onboarding over SSE).
    course_id = await page.evaluate(
        "fetch('/api/v1/courses?limit=1').then(r => r.json()).then(p => p.items[0].id)"
    )
    status = await page.evaluate(
        """(id) => fetch('/api/v1/interactions', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({type: 'start', course_id: id})}).then(r => r.status)""",
        course_id,
    )
    assert status == 202
    await expect(page.locator("[data-step=first_course_started]")).to_have_attribute(
        "data-done", "1", timeout=20_000
    )
    await expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    await shot(page, artifacts, "12-after-restart")


async def test_password_tools(page: Page, artifacts: Path) -> None:
    await page.goto("/#/passwords")
    await page.get_by_label("Password to check").fill("Tr0ub4dor&3")
    meter = page.locator(".meter").first
    await expect(meter).not_to_have_attribute("data-strength", "none")
    await expect(meter.locator(".crack-times")).to_be_visible()
    await page.get_by_label("Password to check").fill("correct horse battery staple orbit lantern")
    await expect(meter).to_have_attribute("data-strength", re.compile("strong"))
    await page.get_by_label("Words").fill("5")
    await page.get_by_role("button", name="Generate").click()
    generated = page.locator("[data-testid=generated-password]")
    await expect(generated).to_be_visible()
    assert len((await generated.inner_text()).split("-")) == 5
    await page.get_by_label("Style").select_option("pin")
    await page.get_by_label("Length").fill("200")
    await page.get_by_role("button", name="Generate").click()
    # The reason sits beside the field it is about, and goes once the field is edited.
    length_error = page.locator("[data-field=length] .field-error")
    await expect(length_error).to_be_visible()
    await page.get_by_label("Length").fill("12")
    await expect(length_error).to_be_hidden()
    await page.get_by_role("button", name="Generate").click()
    await expect(generated).to_have_text(re.compile(r"^\d{12}$"))
    await shot(page, artifacts, "13-passwords")


async def test_admin_system_dashboard(
    page: Page, make_admin, live_server: LiveServer, artifacts: Path
) -> None:  # type: ignore[no-untyped-def]
    email = await register(page, name="Grace Admin")
    make_admin(email)
    await page.get_by_role("button", name="Sign out").click()
    await login(page, email)
    await expect(page.get_by_role("link", name="System")).to_be_visible()
    await page.get_by_role("link", name="System").click()
    updated = page.locator("[data-testid=metrics-updated]")
    await metrics_seen(page, 6)
    await expect(page.locator("[data-testid=lag-p99]")).to_contain_text("ms")
    await expect(updated).to_contain_text("updated")
    rows = page.locator("[data-testid=breakers] tr[data-breaker]")
    if await rows.count() and live_server.has_route("/api/v1/system/breakers/{name}/isolate"):
        first = rows.first
        # Nothing happens without a confirmation; Cancel leaves the breaker as it was.
        await first.get_by_role("button", name=re.compile("^Isolate")).click()
        dialog = page.get_by_role("dialog")
        await expect(dialog).to_contain_text("Every call through this circuit is refused")
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_have_count(0)
        await expect(first).to_have_attribute("data-state", "closed")
        await first.get_by_role("button", name=re.compile("^Isolate")).click()
        await page.get_by_role("dialog").get_by_role("button", name="Isolate").click()
        await expect(first).to_have_attribute("data-state", "isolated")
        await first.get_by_role("button", name=re.compile("^Reset")).click()
        await page.get_by_role("dialog").get_by_role("button", name="Reset").click()
        await expect(first).to_have_attribute("data-state", "closed")
    await shot(page, artifacts, "14-system")
