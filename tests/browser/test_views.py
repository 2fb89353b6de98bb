"""Every view at a phone (390 px), the narrowest phone (360 px) and desktop (1440 px):
axe-core finds 0 critical and 0 serious violations, nothing sticks out sideways, every
destination is reachable from the navigation, and a screenshot of each is kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import (
    DESKTOP,
    NARROW,
    PHONE,
    axe_scan,
    metrics_seen,
    new_email,
    overflow,
    register,
    save_profile,
    sign_in_as_admin,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DESTINATIONS = [
    ("Overview", "#/"),
    ("Role match", "#/roles"),
    ("Learning paths", "#/paths"),
    ("Courses", "#/courses"),
    ("Reports & tasks", "#/tasks"),
    ("Career coach", "#/coach"),
    ("Profile", "#/profile"),
    ("Account & privacy", "#/account"),
    ("Password tools", "#/passwords"),
    ("System", "#/system"),
]


async def check(page: Page, artifacts: Path, size: str, name: str, found: list[Any]) -> None:
    """Scan, measure and photograph the view as it is now."""
    found.extend(await axe_scan(page, f"{name}@{size}"))
    sticking_out = await overflow(page)
    assert not sticking_out, f"{name} at {size}: {sticking_out}"
    await page.screenshot(path=str(artifacts / f"view-{name}-{size}.png"), full_page=True)


async def api(page: Page, method: str, path: str, body: Any = None) -> int:
    return int(
        await page.evaluate(
            """([m, p, b]) => fetch(p, {method: m, headers: {'Content-Type': 'application/json'},
                 body: b === null ? undefined : JSON.stringify(b)}).then(r => r.status)""",
            [method, path, body],
        )
    )


async def open_from_menu(page: Page, label: str, phone: bool) -> None:
    """Go somewhere the way a person would: through the menu on a phone."""
    nav = page.locator("#sidenav")
    if phone:
        await expect(nav).to_be_hidden()
        await page.get_by_role("button", name="Menu").click()
        await expect(page.get_by_role("button", name="Menu")).to_have_attribute(
            "aria-expanded", "true"
        )
    link = nav.get_by_role("link", name=label, exact=True)
    await expect(link).to_be_visible()
    box = await link.bounding_box()
    vp = page.viewport_size
    assert box and vp and box["x"] >= 0 and box["x"] + box["width"] <= vp["width"], box
    assert box["y"] + box["height"] <= vp["height"], f"{label} is below the screen: {box}"
    await link.click()
    if phone:
        await expect(nav).to_be_hidden()  # the panel closes once a destination is chosen


# Twelve views with an axe scan each: ~35 s on an idle machine, far more on a shared one.
@pytest.mark.timeout(400)
@pytest.mark.parametrize(
    ("size", "viewport"),
    [("phone", PHONE), ("narrow", NARROW), ("desktop", DESKTOP)],
    ids=["phone-390", "narrow-360", "desktop-1440"],
)
async def test_every_view(
    page: Page, size: str, viewport: dict[str, int], artifacts: Path, make_admin: Any
) -> None:
    phone = viewport["width"] < 760
    found: list[dict[str, Any]] = []

    await page.goto("/#/login")
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await check(page, artifacts, size, "sign-in", found)
    await page.goto("/#/passwords")
    await page.get_by_label("Password to check").fill("Tr0ub4dor&3")
    await expect(page.locator(".meter")).not_to_have_attribute("data-strength", "none")
    await check(page, artifacts, size, "passwords-signed-out", found)

    await page.goto("/#/register")
    form = page.locator(".auth-form")
    if phone:  # the form comes before the marketing text on a phone
        intro = await page.locator(".auth-intro").bounding_box()
        card = await page.locator(".auth-card").bounding_box()
        assert intro and card and card["y"] < intro["y"], (card, intro)
    await page.get_by_label("E-mail").fill(new_email())
    await page.get_by_label("Password", exact=True).fill("password")
    await form.get_by_role("button", name="Create account").click()
    await expect(page.locator("[data-field=password] .field-error")).to_be_visible()
    await check(page, artifacts, size, "register-refused", found)

    email = await register(page, name=f"Viewer {size}")
    await sign_in_as_admin(page, email, make_admin)
    await save_profile(page)
    await check(page, artifacts, size, "profile", found)

    await open_from_menu(page, "Overview", phone)
    await expect(page.locator("[data-testid=onboarding-percent]")).to_be_visible()
    await check(page, artifacts, size, "overview", found)

    await open_from_menu(page, "Role match", phone)
    await page.get_by_role("button", name="Use a sample").click()
    await page.get_by_role("button", name="Find matching roles").click()
    await expect(page.locator(".role-card").first).to_be_visible()
    await check(page, artifacts, size, "roles", found)

    await open_from_menu(page, "Learning paths", phone)
    await page.get_by_label("Target role").fill("Data Engineer")
    await page.get_by_role("button", name="Build learning path").click()
    await expect(page.locator("[data-testid=milestones] > li").first).to_be_visible()
    await check(page, artifacts, size, "paths", found)

    await open_from_menu(page, "Courses", phone)
    await page.get_by_role("button", name="Recommend courses").click()
    await expect(page.locator(".stream-status")).to_contain_text("recommended")
    await check(page, artifacts, size, "courses", found)

    await open_from_menu(page, "Reports & tasks", phone)
    await page.get_by_label("What to run").select_option("batch_role_match")
    await page.get_by_label("Job descriptions").fill(
        "Senior Python engineer, PostgreSQL, Kubernetes\n---\nData analyst with SQL and Tableau"
    )
    await page.get_by_role("button", name="Start").click()
    await expect(page.locator(".task-panel").first).to_have_attribute("data-status", "succeeded")
    await check(page, artifacts, size, "tasks", found)

    await open_from_menu(page, "Career coach", phone)
    await expect(page.locator(".chat-empty")).to_be_visible()
    await check(page, artifacts, size, "coach", found)

    await open_from_menu(page, "Account & privacy", phone)
    await expect(page.get_by_role("heading", name="Download my data")).to_be_visible()
    await check(page, artifacts, size, "account", found)

    await open_from_menu(page, "Password tools", phone)
    await page.get_by_label("Password to check").fill("correct horse battery staple orbit")
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator("[data-testid=generated-password]")).to_be_visible()
    await check(page, artifacts, size, "passwords", found)

    await open_from_menu(page, "System", phone)
    await metrics_seen(page, 2)
    await check(page, artifacts, size, "system", found)

    # The confirmation dialog is a view too.
    rows = page.locator("[data-testid=breakers] tr[data-breaker]")
    if await rows.count():
        await rows.first.get_by_role("button", name="Isolate", exact=False).click()
        await expect(page.get_by_role("dialog")).to_be_visible()
        await check(page, artifacts, size, "confirm-dialog", found)
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("dialog")).to_have_count(0)

    if phone:  # every destination, one by one, from the menu
        for label, _ in DESTINATIONS:
            await open_from_menu(page, label, phone)

    assert not found, "axe-core violations:\n" + json.dumps(found, indent=1)
