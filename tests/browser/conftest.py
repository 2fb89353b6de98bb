"""Browser end-to-end fixtures: the real app on a real port, headless Chromium (Debian's
package, launched through Playwright's async API), screenshots under tests/artifacts/.

Playwright's sync API cannot run inside the test's running asyncio loop, so everything
here is async and shares that loop with the aiohttp server.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import pytest_asyncio
import redis as redis_sync
from aiohttp import web

from handlers.config import Config
from server.app import create_app
from server.config import load_config
from tests.conftest import TEST_PEPPER, truncate_user_data

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.path.exists("/usr/bin/chromium"):
    CHROMIUM = "/usr/bin/chromium"

try:
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

    # Two cores shared with the server under test (and, in CI, other jobs): the first
    # batch job warms a process pool, and with 7 suites sharing the machine (load 15) a
    # step took over 15 s; Playwright's default of 5 s is far too tight.
    expect.set_options(timeout=30_000)
except ImportError:  # pragma: no cover - reported loudly below
    async_playwright = None  # type: ignore[assignment]

if CHROMIUM is None or async_playwright is None:
    _MISSING = (
        "Chromium not installed: browser tests NOT run "
        f"(chromium={CHROMIUM!r}, playwright={'ok' if async_playwright else 'missing'}). "
        "Install with `apt-get install chromium` and `pip install playwright`."
    )
    # In CI (``CI`` set) `make test` installs Chromium: its absence fails the run there;
    # a developer's machine without it gets this loud skip.
    if os.environ.get("CI"):
        pytest.fail(_MISSING, pytrace=False)
    pytest.skip(_MISSING, allow_module_level=True)

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
PASSWORD = "Velvet-Harbor-Lantern-42-Quiet"  # 15+ characters, as the policy asks

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules-dir" / "node_modules" / "axe-core" / "axe.min.js"
OVERFLOW_JS = (HERE / "overflow.js").read_text(encoding="utf-8")


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


# One server and one browser for the whole module (each test gets its own browser
# context, i.e. its own cookies): starting them per test cost ~2 s × tests.
MODULE = {"scope": "module", "loop_scope": "module"}


@pytest.fixture(scope="module")
def browser_config(database_url: str, redis_url: str) -> Config:
    """Like the suite's `config`, made once per module: a clean database and Redis DB."""
    truncate_user_data(database_url)
    r = redis_sync.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        r.flushdb()  # the suite's own DB number (FLUENTPRO_TEST_REDIS_DB), never a developer's
    finally:
        r.close()
    return load_config(
        env={"FLUENTPRO_PEPPER": TEST_PEPPER},
        overrides={
            "database": {"url": database_url, "pool_max": 10},
            "redis": {"url": redis_url},
            "auth": {"bcrypt_cost": 4},
            "ai": {"base_url": ""},
            "server": {"shutdown_grace_s": 2, "gc_freeze": False},
            "logging": {"level": "WARNING"},
            # Every browser here signs up from 127.0.0.1, a dozen accounts a minute: the
            # production limit (5 per address per minute) is tested in tests/security.
            "limits": {"register_per_address_per_minute": 1000, "register_per_minute": 1000},
        },
    )


@pytest_asyncio.fixture(**MODULE)
async def live_server(browser_config: Config) -> AsyncIterator[LiveServer]:
    server = LiveServer(browser_config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(**MODULE)
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


class PageErrors(list[str]):
    """Uncaught page errors and CSP violations seen during a test."""


# The sizes every flow is tried at: a common phone, the narrowest phone we support, desktop.
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}
DESKTOP = {"width": 1440, "height": 900}
SIZES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture
def viewport() -> dict[str, int]:
    """Overridden by tests parametrised over sizes (`@pytest.mark.parametrize("viewport", ...)`)."""
    return DESKTOP


@pytest_asyncio.fixture(loop_scope="module")
async def context(
    browser: Browser, live_server: LiveServer, viewport: dict[str, int]
) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        base_url=live_server.url,
        viewport=viewport,
        locale="en-GB",
        accept_downloads=True,
        is_mobile=viewport["width"] < 500,
        has_touch=viewport["width"] < 500,
        # Cards fade in; axe would measure the contrast of a half-transparent frame.
        reduced_motion="reduce",
    )
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest_asyncio.fixture(loop_scope="module")
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


async def login(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.goto("/#/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("#user-menu:not([hidden])")  # the nav is a menu on phones


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


def at_least(n: int) -> re.Pattern[str]:
    """A pattern for an integer attribute of at least n (n < 10)."""
    return re.compile(rf"^([{n}-9]|[1-9][0-9]+)$")


async def metrics_seen(page: Page, n: int) -> None:
    """Wait until the System view has shown n metrics events. (An expect on an attribute:
    `wait_for_function` evaluates a string in the page, which the app's CSP forbids.)"""
    await expect(page.locator("[data-testid=metrics-updated]")).to_have_attribute(
        "data-count", at_least(n)
    )


async def wait_live(page: Page, wait_ms: float = 15_000) -> None:
    await page.wait_for_selector("#conn[data-state='connected']", timeout=wait_ms)


async def axe_scan(page: Page, label: str) -> list[dict[str, Any]]:
    """Run axe-core (from npm, injected by the test, never served by the app) on the page;
    returns the critical and serious violations, each with its rule and first targets."""
    if not AXE_JS.exists():
        raise AssertionError(f"axe-core missing at {AXE_JS}: run `make browser`")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the app's CSP refuses inline scripts.
        await page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("critical", "serious")]
    for v in bad:
        v["view"] = label
    return bad


async def overflow(page: Page) -> list[str]:
    """Elements that stick out of the viewport sideways (clipped or forcing a scroll)."""
    found: list[str] = await page.evaluate(OVERFLOW_JS)
    return found


async def sign_in_as_admin(page: Page, email: str, promote: Any) -> None:
    """Give the account the admin role and start a fresh session that carries it."""
    promote(email)
    await sign_out(page)
    await login(page, email)
    await page.wait_for_selector("li.admin-only:not([hidden])", state="attached")


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_selector("h1:has-text('Welcome back')")
