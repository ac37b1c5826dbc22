"""Browser tests: the Debian Chromium, headless, driven by Playwright.

Never ``playwright install``: the browser is the system's ``/usr/bin/chromium`` (or
``$TIERING_CHROMIUM``). The tests are marked ``browser``; they are skipped, with the
reason, where Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("TIERING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs Chromium, headless, through Playwright")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- the web application in the browser (pytest-django's live server) --------------------

ROOT = Path(__file__).resolve().parents[2]
#: The password the browser tests give their users.
PASSWORD = "x-secret-1"
TIMEOUT = 30_000


@pytest.fixture(scope="session")
def _async_unsafe_ok():
    """Playwright's sync API runs an event loop in the test thread, where Django refuses
    ORM calls unless told they are safe (they are: nothing async touches them). Session
    scoped, so it is in place before the test database is set up and until it is torn
    down; restored afterwards."""
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def chromium(_async_unsafe_ok, django_db_setup, browser):
    """The session's Chromium, requested after the test database so that the database
    is torn down while the environment above still allows it."""
    return browser


class Screenshots:
    """Numbered full-page screenshots of one test, in the order taken (across its
    sessions)."""

    def __init__(self, folder: Path, prefix: str):
        self.folder, self.prefix, self.step = folder, prefix, 0

    def take(self, page, name: str) -> Path:
        self.step += 1
        path = self.folder / f"{self.prefix}-{self.step:02d}-{name}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def screenshots(request) -> Screenshots:
    """Where the screenshots of a test go: ``$TIERING_SCREENSHOTS`` (default
    ``build/screenshots``), its older ones removed first."""
    folder = Path(os.environ.get("TIERING_SCREENSHOTS", "build/screenshots"))
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.removeprefix("test_")
    for old in folder.glob(f"{prefix}-*.png"):
        old.unlink()
    return Screenshots(folder, prefix)


class Session:
    """A browser page on the live server that records what went wrong while it ran:
    console errors, uncaught exceptions, failed requests, HTTP errors (but those in
    ``expected_status``) and requests to any other host (also in ``foreign``); ``shot``
    saves a numbered full-page screenshot."""

    def __init__(self, chromium, live_server, screenshots, locale: str = "zh-CN"):
        self.base = live_server.url
        self.host = urlsplit(self.base).netloc
        self.screenshots = screenshots
        self.context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.foreign: list[str] = []
        self.requested: list[str] = []
        self.expected_status: set[int] = set()
        page = self.page
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "requestfailed",
            lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"),
        )
        page.on("request", self._request)
        page.on("response", self._response)

    def _console(self, message) -> None:
        # a resource that fails to load is logged again as the response or failure below,
        # with its URL
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _request(self, request) -> None:
        self.requested.append(request.url)
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.foreign.append(request.url)
            self.problems.append(f"foreign host: {request.url}")

    def _response(self, response) -> None:
        if response.status >= 400 and response.status not in self.expected_status:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> Path:
        return self.screenshots.take(self.page, name)

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password)
        self.page.click("form[action='/login/'] button[type=submit]")
        self.page.wait_for_url(self.base + "/")  # the dashboard

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session_factory(chromium, live_server, screenshots):
    """``session_factory(locale="zh-CN")``: a new :class:`Session`, closed after the test."""
    opened: list[Session] = []

    def make(**kwargs) -> Session:
        session = Session(chromium, live_server, screenshots, **kwargs)
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()
