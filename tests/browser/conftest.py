"""Browser end-to-end fixtures: the real app on a real port, headless Chromium (Debian's
package, launched through Playwright's async API), screenshots under tests/artifacts/.

Playwright's sync API cannot run inside the test's running asyncio loop, so everything
here is async and shares that loop with the aiohttp server.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from aiohttp import web

from handlers.config import Config
from server.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.path.exists("/usr/bin/chromium"):
    CHROMIUM = "/usr/bin/chromium"

try:
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright
except ImportError:  # pragma: no cover - reported loudly below
    async_playwright = None  # type: ignore[assignment]

if CHROMIUM is None or async_playwright is None:
    pytest.skip(
        "Chromium not installed: browser tests NOT run "
        f"(chromium={CHROMIUM!r}, playwright={'ok' if async_playwright else 'missing'}). "
        "Install with `apt-get install chromium` and `pip install playwright`.",
        allow_module_level=True,
    )

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "Velvet-Harbor-Lantern-42"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app from create_app(config) on 127.0.0.1:<port>; can be restarted on that port."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.port = _free_port()
        self.runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.app = create_app(self.config)
        self.runner = web.AppRunner(self.app, handle_signals=False, shutdown_timeout=2)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        self.runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def has_route(self, path: str) -> bool:
        assert self.app is not None
        return any(getattr(r.resource, "canonical", None) == path for r in self.app.router.routes())


@pytest.fixture
async def live_server(config: Config) -> AsyncIterator[LiveServer]:
    server = LiveServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


class PageErrors(list[str]):
    """Uncaught page errors and CSP violations seen during a test."""


@pytest.fixture
async def context(browser: Browser, live_server: LiveServer) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        base_url=live_server.url, viewport={"width": 1360, "height": 900}, locale="en-GB"
    )
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    pg = await context.new_page()
    errors = PageErrors()

    def on_console(msg: Any) -> None:
        text = msg.text
        if msg.type == "error" and ("Content Security Policy" in text or "Refused to" in text):
            errors.append(f"CSP: {text}")

    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.on("console", on_console)
    pg.errors = errors  # type: ignore[attr-defined]
    yield pg
    assert not list(errors), f"errors in the page: {list(errors)}"


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def make_admin(database_url: str) -> Any:
    """Promote a user (by e-mail) to admin, directly in the test database."""

    def promote(email: str) -> None:
        conn = psycopg2.connect(database_url, connect_timeout=5)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("UPDATE users SET role = 'admin' WHERE email = %s", (email,))
                if cur.rowcount != 1:
                    raise RuntimeError(f"no user {email}")
        finally:
            conn.close()

    return promote


def new_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(page: Page, *, name: str = "Ada Lovelace", email: str | None = None) -> str:
    """Create an account through the UI; returns the e-mail. Ends on the profile screen."""
    email = email or new_email()
    await page.goto("/#/register")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_selector("h1:has-text('Your profile')")
    return email


async def login(page: Page, email: str) -> None:
    await page.goto("/#/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("#sidenav:not([hidden])")


async def save_profile(page: Page) -> None:
    await page.goto("/#/profile")
    await page.get_by_label("Current role").fill("Backend developer")
    await page.get_by_label("Experience level").select_option("mid")
    await page.get_by_label("Hours per week for learning").fill("10")
    await page.get_by_label("Time zone").fill("Europe/Berlin")
    await page.get_by_label("Skills").fill("Python, SQL, Docker")
    await page.get_by_label("Learning goals").fill("machine learning\nkubernetes")
    await page.get_by_role("button", name="Save profile").click()
    await page.wait_for_selector(".toast:has-text('Profile saved')")


async def wait_live(page: Page, wait_ms: float = 15_000) -> None:
    await page.wait_for_selector("#conn[data-state='connected']", timeout=wait_ms)
