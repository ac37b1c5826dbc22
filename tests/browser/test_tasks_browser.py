"""An account manager's revisit task list in a real browser (Debian's Chromium through
Playwright, Django's live server): li logs in, finds an overdue call and today's visit,
completes them inline with htmx (a follow-up without feedback is refused in the row, then
accepted with it), and the list is empty after a reload. No console error, failed request
or request to another host; numbered full-page screenshots go to
``$TIERING_SCREENSHOTS`` (default ``build/screenshots``)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "x-secret-1"
TIMEOUT = 30_000


@pytest.fixture(scope="session")
def _async_unsafe_ok():
    """Playwright's sync API runs an event loop in the test thread, where Django refuses
    ORM calls unless told they are safe (they are: nothing async touches them)."""
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if saved is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def chromium(_async_unsafe_ok, django_db_setup, browser):
    return browser


class Session:
    """A browser page on the live server that records console errors, page errors,
    failed requests, HTTP errors and requests to other hosts."""

    def __init__(self, chromium, live_server, folder: Path, prefix: str):
        self.base = live_server.url
        self.host = urlsplit(self.base).netloc
        self.folder, self.prefix, self.step = folder, prefix, 0
        self.context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        page = self.page
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on("request", self._request)
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _request(self, request) -> None:
        url = urlsplit(request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.netloc != self.host:
            self.problems.append(f"foreign host: {request.url}")

    def _response(self, response) -> None:
        if urlsplit(response.url).path == "/favicon.ico":
            return
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def goto(self, path: str):
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(
            path=self.folder / f"{self.prefix}-{self.step:02d}-{name}.png", full_page=True
        )

    def log_in(self, username: str) -> None:
        self.goto("/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("form[action='/login/'] button[type=submit]")
        self.page.wait_for_url(self.base + "/")


@pytest.fixture
def session(chromium, live_server, request):
    folder = Path(os.environ.get("TIERING_SCREENSHOTS", "build/screenshots"))
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    prefix = request.node.name.removeprefix("test_")
    for old in folder.glob(f"{prefix}-*.png"):
        old.unlink()
    made = Session(chromium, live_server, folder, prefix)
    yield made
    made.context.close()


@pytest.fixture
def work(django_user_model):
    """li's two customers with an overdue call and a visit due today, and zhang's task."""
    from django.utils import timezone

    from tiering_web.accounts.models import Role
    from tiering_web.accountwork.models import Task
    from tiering_web.accountwork.services import do_transfer_owner
    from tiering_web.customers.services import do_create_customer

    wang = django_user_model.objects.create_user("wang", password=PASSWORD, role=Role.MANAGER)
    li = django_user_model.objects.create_user("li", password=PASSWORD, role=Role.ACCOUNT_MANAGER)
    zhang = django_user_model.objects.create_user(
        "zhang", password=PASSWORD, role=Role.ACCOUNT_MANAGER
    )
    today = timezone.localdate()
    tasks = {}
    for code, name, owner, kind, due in (
        ("K001", "华东机械有限公司", li, "call", today - dt.timedelta(days=2)),
        ("K002", "南方软件科技", li, "visit", today),
        ("K003", "北方物流集团", zhang, "call", today),
    ):
        customer = do_create_customer(wang, {"code": code, "name": name}, "test data")
        do_transfer_owner(wang, customer, owner, "owner")
        tasks[code] = Task.objects.create(customer=customer, owner=owner, kind=kind, due=due)
    return tasks


def test_account_manager_completes_revisits_inline(session, work):
    """Given li's overdue call to K001 and visit to K002 due today (and zhang's call to
    K003), when li opens the task list in Chinese, then both appear in their sections and
    K003 does not; completing the visit as "follow-up needed" without feedback is refused
    inside the row, with the feedback it is done without reloading the page; after the
    call is done too, a reload shows nothing overdue or due today."""
    from playwright.sync_api import expect as see

    from tiering_web.accountwork.models import Task

    page = session.page
    session.log_in("li")
    session.goto("/work/tasks/")
    see(page.locator("h1")).to_have_text("回访任务")
    see(page.locator("#tasks-overdue")).to_contain_text("K001")
    see(page.locator("#tasks-overdue")).to_contain_text("电话回访")
    see(page.locator("#tasks-today")).to_contain_text("K002")
    see(page.locator("#tasks-today")).to_contain_text("拜访")
    see(page.locator("body")).not_to_contain_text("K003")
    session.shot("list")

    page.evaluate("window.notReloaded = true")
    visit = f"#task-{work['K002'].pk}"
    page.select_option(f"{visit} select[name=outcome]", "follow_up")
    page.click(f"{visit} button[type=submit]")
    see(page.locator(visit)).to_contain_text("请说明需要跟进的内容。")
    session.shot("feedback-needed")
    page.fill(f"{visit} textarea[name=feedback]", "想要500台的报价")
    page.click(f"{visit} button[type=submit]")
    see(page.locator(visit)).to_contain_text("完成：已联系，需要跟进")
    see(page.locator(visit)).to_contain_text("想要500台的报价")
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    session.shot("visit-done")

    call = f"#task-{work['K001'].pk}"
    page.select_option(f"{call} select[name=outcome]", "reached")
    page.click(f"{call} button[type=submit]")
    see(page.locator(call)).to_contain_text("完成：已联系，一切正常")

    done = {t.customer.code: (t.status, t.outcome, t.feedback) for t in Task.objects.all()}
    assert done == {
        "K001": ("done", "reached", ""),
        "K002": ("done", "follow_up", "想要500台的报价"),
        "K003": ("open", "", ""),
    }
    session.goto("/work/tasks/")
    see(page.locator("#tasks-overdue")).to_contain_text("暂无。")
    see(page.locator("#tasks-today")).to_contain_text("暂无。")
    session.shot("all-done")
    assert session.problems == []
