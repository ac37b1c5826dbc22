"""The rule-set what-if in a real browser (Debian's Chromium through Playwright, Django's
live server): a manager raises tier A's bound in the editor and asks what would change;
the what-if is queued for the background worker, its box shows the progress while the
editor stays usable, and once the worker has run it the matrix and the movers appear. No
console error, failed request or request to another host; numbered full-page screenshots
go to ``$TIERING_SCREENSHOTS`` (default ``build/screenshots``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from web.worker import run_worker

from .conftest import PASSWORD, TIMEOUT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: Revenue over the 12 months to 30 September: A from 100,000, B from 20,000, else C.
THRESHOLDS = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}


def cells(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector(
        selector,
        "t => [...t.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.innerText.trim()))",
    )


@pytest.fixture
def company(django_user_model):
    """A manager and an administrator; THRESHOLDS approved; K001 (180,000) is A, K002
    (75,000) B, K003 (19,999.99) C."""
    from tiering_web.accounts.models import Role
    from tiering_web.customers.models import Customer, Transaction
    from tiering_web.rulesets.services import (
        do_approve_ruleset_version,
        do_create_ruleset,
        do_review_ruleset_version,
        do_save_ruleset_version,
    )

    manager = django_user_model.objects.create_user("wang", password=PASSWORD, role=Role.MANAGER)
    admin = django_user_model.objects.create_user(
        "zhao", password=PASSWORD, role=Role.ADMINISTRATOR
    )
    ruleset = do_create_ruleset(manager, THRESHOLDS["name"], "tiers by revenue")
    version = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "first version")
    reviewer = django_user_model.objects.create_user("chen", password=PASSWORD, role=Role.ANALYST)
    do_review_ruleset_version(reviewer, version, "checked")
    do_approve_ruleset_version(admin, version, "checked", effective_date=dt.date(2020, 1, 1))
    for code, name, amount in (
        ("K001", "华东机械有限公司", "180000.00"),
        ("K002", "南方软件科技", "75000.00"),
        ("K003", "北方物流集团", "19999.99"),
    ):
        customer = Customer.objects.create(code=code, name=name)
        Transaction.objects.create(
            customer=customer, date=dt.date(2026, 6, 1), amount=Decimal(amount)
        )
    return ruleset


def test_manager_asks_what_if_sees_the_progress_then_the_matrix(session_factory, company):
    """Given the approved THRESHOLDS, when the manager raises A's bound to 200,000 and
    asks what would change as of 30 September, then the what-if box shows it queued and
    then its stage while the editor stays usable, and after the worker the matrix (K001
    A → B), the movers and the new distribution, in Chinese; no version is saved."""
    from playwright.sync_api import expect as see

    from tiering_web.rulesets.models import RuleSetVersion, WhatIfRun

    ruleset = company
    s = session_factory(locale="zh-CN")
    page = s.page
    s.log_in("wang")
    s.goto(f"/rulesets/{ruleset.pk}/edit/")
    see(page.locator("input[name='tiers-0-bound']")).to_have_value("100000")
    page.fill("input[name='tiers-0-bound']", "200000")
    page.fill("input[name=whatif_as_of]", "2026-09-30")
    s.shot("editor")
    page.click("button[name=whatif]")

    box = page.locator("#whatif-run")
    see(box.locator(".whatif-progress")).to_contain_text("排队中")
    see(box.locator(".whatif-progress")).to_contain_text("等待后台进程")
    s.shot("queued")
    run = WhatIfRun.objects.get()
    assert run.definition["tiers"][0]["min"] == 200000

    # the box follows the run's stage; the editor meanwhile keeps what is typed
    WhatIfRun.objects.filter(pk=run.pk).update(
        status="running", stage="grading_current", started_at=timezone.now()
    )
    progress = box.locator(".whatif-progress")
    see(progress).to_contain_text("按现行规则评级（第 2 步，共 4 步），0 分钟前开始")
    see(box.locator("progress")).to_have_attribute("value", "2")
    page.fill("textarea[name=description]", "提高 A 级门槛")
    s.shot("running")
    WhatIfRun.objects.filter(pk=run.pk).update(status="queued", stage="", started_at=None)

    run_worker()

    see(box.locator("table.matrix")).to_be_visible(timeout=TIMEOUT)
    see(box.locator("#down-count")).to_have_text("1")
    see(box.locator("#up-count")).to_have_text("0")
    matrix = cells(page, "#whatif-run table.matrix")
    assert matrix[0][:4] == ["", "A", "B", "C"], matrix
    assert matrix[1][0] == "A" and matrix[1][2].startswith("1"), matrix  # K001 A → B
    movers = cells(page, "#whatif-run table.movers")
    assert movers[0][2:4] == ["原等级", "新等级"], movers
    assert movers[1][:4] == ["K001", "华东机械有限公司", "A", "B"], movers
    distribution = {row[0]: row[1] for row in cells(page, "#whatif-run table.distribution")[1:]}
    assert distribution == {"A": "0", "B": "2", "C": "1"}, distribution
    see(page.locator("textarea[name=description]")).to_have_value("提高 A 级门槛")
    s.shot("result")

    run.refresh_from_db()
    assert run.status == "done" and RuleSetVersion.objects.count() == 1
    assert s.problems == [] and s.foreign == []


def test_reviewer_and_approver_sign_in_person_from_their_inbox(session_factory, company):
    """Given version 2 of THRESHOLDS saved by 王, when 陈 (an analyst) opens 待我审批 from
    the navigation's badge, follows the version to its row and signs it as reviewer, and
    then 赵 (an administrator) does the same as approver with an effective date, then the
    version is approved with each signature their own; their badges empty and 王 is
    offered no signature on his own version."""
    from playwright.sync_api import expect as see

    from tiering_web.accounts.models import User
    from tiering_web.rulesets.models import RuleSetVersion
    from tiering_web.rulesets.services import do_save_ruleset_version

    ruleset = company
    do_save_ruleset_version(User.objects.get(username="wang"), ruleset, THRESHOLDS, "v2")

    chen = session_factory(locale="zh-CN")
    page = chen.page
    chen.log_in("chen")
    inbox = page.locator("header nav a", has_text="待我审批")
    see(inbox.locator(".badge.count")).to_have_text("1")
    inbox.click()
    see(page.locator("h1")).to_have_text("待我审批")
    see(page.locator("#inbox-review")).to_contain_text("按营收分级 v2")
    see(page.locator("#inbox-review")).to_contain_text("wang")
    chen.shot("inbox-reviewer")
    page.click("#inbox-review a:has-text('按营收分级 v2')")
    row = page.locator("#version-2")
    see(row).to_contain_text("草稿")
    row.locator("input[name=reason]").fill("口径与财务一致")
    chen.shot("before-review")
    row.locator("button", has_text="签署审核").click()
    see(page.locator("#version-2")).to_contain_text("已审核，待批准")
    see(page.locator("#version-2")).to_contain_text("chen")
    see(page.locator("header nav a", has_text="待我审批")).not_to_contain_text("1")
    chen.shot("reviewed")

    zhao = session_factory(locale="zh-CN")
    page = zhao.page
    zhao.log_in("zhao")
    inbox = page.locator("header nav a", has_text="待我审批")
    see(inbox.locator(".badge.count")).to_have_text("1")
    inbox.click()
    see(page.locator("#inbox-approve")).to_contain_text("审核人：chen")
    page.click("#inbox-approve a:has-text('按营收分级 v2')")
    row = page.locator("#version-2")
    row.locator("input[name=effective_date]").fill("2027-01-01")
    row.locator("input[name=reason]").fill("同意")
    zhao.shot("before-approve")
    row.locator("button", has_text="签署批准").click()
    see(page.locator("#version-2")).to_contain_text("已批准")
    zhao.shot("approved")

    version = RuleSetVersion.objects.get(ruleset=ruleset, number=2)
    assert (version.status, version.reviewer.username, version.approver.username) == (
        "approved",
        "chen",
        "zhao",
    )
    assert version.effective_date == dt.date(2027, 1, 1)

    wang = session_factory(locale="zh-CN")
    wang.log_in("wang")
    wang.goto(f"/rulesets/{ruleset.pk}/")
    see(wang.page.locator("#version-2 form")).to_have_count(0)
    for session in (chen, zhao, wang):
        assert session.problems == [], session.problems
