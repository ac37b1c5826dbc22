"""An account manager's revisit task list in a real browser (Debian's Chromium through
Playwright, Django's live server): li logs in, finds an overdue call and today's visit,
completes them inline with htmx (a follow-up without feedback is refused in the row, then
accepted with it), and the list is empty after a reload. No console error, failed request
or request to another host; numbered full-page screenshots go to
``$TIERING_SCREENSHOTS`` (default ``build/screenshots``)."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session(session_factory):
    return session_factory(locale="zh-CN")


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
    """Given li's overdue call to K001 (and a survey of K001 five days late) and visit to
    K002 due today (and zhang's call to K003), when li opens the task list in Chinese,
    then K001 is listed once among the overdue, 5 days late, with both revisits, K002
    today and K003 nowhere; completing the visit as "follow-up needed" without feedback is
    refused inside the row, with the feedback it is done without reloading the page; after
    K001's revisits are done too, a reload shows nothing overdue or due today and the
    three under "done in the last 30 days"; K002's page has the visit in its follow-up
    record (跟进记录) with the feedback."""
    from django.utils import timezone
    from playwright.sync_api import expect as see

    from tiering_web.accountwork.models import Task

    first = work["K001"]
    survey = Task.objects.create(
        customer=first.customer,
        owner=first.owner,
        kind="survey",
        due=timezone.localdate() - dt.timedelta(days=5),
    )
    page = session.page
    session.log_in("li")
    session.goto("/work/tasks/")
    see(page.locator("h1")).to_have_text("回访任务")
    see(page.locator("#tasks-overdue")).to_contain_text("K001")
    see(page.locator("#tasks-overdue")).to_contain_text("电话回访")
    see(page.locator("#tasks-overdue")).to_contain_text("满意度调查")
    see(page.locator("#tasks-overdue .overdue-customer")).to_have_count(1)
    see(page.locator("#overdue-K001 .days-overdue")).to_have_text("5 天")
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
    later = f"#task-{survey.pk}"
    page.select_option(f"{later} select[name=outcome]", "unreachable")
    page.click(f"{later} button[type=submit]")
    see(page.locator(later)).to_contain_text("完成：未能联系上")
    session.shot("overdue-done")

    done = {
        (t.customer.code, t.kind): (t.status, t.outcome, t.feedback) for t in Task.objects.all()
    }
    assert done == {
        ("K001", "call"): ("done", "reached", ""),
        ("K001", "survey"): ("done", "unreachable", ""),
        ("K002", "visit"): ("done", "follow_up", "想要500台的报价"),
        ("K003", "call"): ("open", "", ""),
    }
    session.goto("/work/tasks/")
    see(page.locator("#tasks-overdue")).to_contain_text("暂无。")
    see(page.locator("#tasks-today")).to_contain_text("暂无。")
    see(page.locator("#tasks-done tr[id^=done-]")).to_have_count(3)
    see(page.locator("#tasks-done")).to_contain_text("想要500台的报价")
    session.shot("all-done")

    session.goto("/customers/K002/")
    record = page.locator("#follow-ups")
    see(page.locator("h3", has_text="跟进记录")).to_be_visible()
    see(record).to_contain_text("拜访")
    see(record).to_contain_text("已联系，需要跟进")
    see(record).to_contain_text("想要500台的报价")
    record.scroll_into_view_if_needed()
    session.shot("follow-up-record")
    assert session.problems == []
