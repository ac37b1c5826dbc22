"""The web application in a real browser (Debian's Chromium through Playwright) against
Django's live server: a manager logs in with a password, imports customers and their
transactions from CSV files with Chinese headers, runs an evaluation, publishes it, reads
a customer's explanation, switches the language both ways and opens the dashboard's chart;
then the role rules as account managers and analysts meet them. Every page loads without
a console error, a failed request or a request to another host; a full-page screenshot of
each step goes to ``$TIERING_SCREENSHOTS`` (default ``build/screenshots``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from web.worker import run_worker

from .conftest import PASSWORD, TIMEOUT, Session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AS_OF = "2026-09-30"

#: Revenue over the 12 months to AS_OF: A from 100,000, B from 20,000, else C.
THRESHOLDS = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}

CUSTOMERS_CSV = """客户编号,客户名称,行业,规模,影响力
K001,华东机械有限公司,制造业,大型,高
K002,南方软件科技,软件,中小企业,中
K003,北方物流集团,物流,大型,低
K004,西部食品厂,食品,小型,低
K005,海天贸易公司,贸易,中型,中
"""

#: K001 180,000 (A); K002 75,000 (B, 25,000 short of A); K003 19,999.99 (C, 0.01 short
#: of B); K004 nothing (C); K005 25,000 in the year (B): its 500,000 of 2024 is too old.
TRANSACTIONS_CSV = """客户编号,日期,金额,成本,单号
K001,2026-03-01,150000.00,90000.00,SO-1001
K001,2026-08-15,30000.00,18000.00,SO-1002
K002,2026-04-01,60000.00,30000.00,SO-1003
K002,2026-05-01,15000.00,9000.00,SO-1004
K003,2026-07-01,19999.99,10000.00,SO-1005
K005,2024-05-10,500000.00,300000.00,SO-0901
K005,2026-06-20,25000.00,15000.00,SO-1006
"""
EXPECTED = {"K001": "A", "K002": "B", "K003": "C", "K004": "C", "K005": "B"}


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def fixed_today(monkeypatch):
    """The run form refuses future as-of dates: "today" is after AS_OF."""
    from tiering_web.evaluations import forms

    monkeypatch.setattr(forms, "today", lambda: dt.date(2026, 11, 22))


@pytest.fixture
def users(django_user_model):
    from tiering_web.accounts.models import Role

    return {
        role: django_user_model.objects.create_user(name, password=PASSWORD, role=role)
        for name, role in (
            ("zhao", Role.ADMINISTRATOR),
            ("wang", Role.MANAGER),
            ("li", Role.ACCOUNT_MANAGER),
            ("chen", Role.ANALYST),
        )
    }


@pytest.fixture
def approved_version(users):
    """THRESHOLDS written by the manager, reviewed by the analyst, approved by the
    administrator (effective 2020-01-01), primary."""
    from tiering_web.accounts.models import Role
    from tiering_web.rulesets.services import (
        do_approve_ruleset_version,
        do_create_ruleset,
        do_review_ruleset_version,
        do_save_ruleset_version,
        do_set_primary,
    )

    author, approver = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    ruleset = do_create_ruleset(author, THRESHOLDS["name"], "tiers by revenue")
    version = do_save_ruleset_version(author, ruleset, THRESHOLDS, "first version")
    do_review_ruleset_version(users[Role.ANALYST], version, "checked")
    version = do_approve_ruleset_version(
        approver, version, "checked", effective_date=dt.date(2020, 1, 1)
    )
    do_set_primary(approver, ruleset, "the one we use")
    return version


def cells(page, selector: str) -> list[list[str]]:
    """The text of each cell of each row of the table at ``selector`` (header rows too)."""
    return page.eval_on_selector(
        selector,
        "t => [...t.querySelectorAll('tr')].map(r => [...r.cells].map(c => c.innerText.trim()))",
    )


# --- the manager's flow --------------------------------------------------------------------


def import_file(s: Session, tmp_path: Path, kind: str, text: str, name: str, expect: dict):
    """Upload ``text`` as a CSV of ``kind``, check the suggested mapping ``expect`` (our
    field → the file's header), import it and let the worker run; return the job's
    counts as shown on its page."""
    from playwright.sync_api import expect as see

    page = s.page
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    s.goto("/imports/upload/")
    page.check(f"input[name=kind][value={kind}]")
    page.set_input_files("input[type=file][name=file]", path)
    s.shot(f"{name}-upload")
    page.click("form[enctype='multipart/form-data'] button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/mapping/$"))
    for field, header in expect.items():
        see(page.locator(f"select[name={field}]")).to_have_value(header)
    # the preview shows the file's first rows under the suggested mapping
    see(page.locator("#preview table tbody tr")).to_have_count(text.count("\n") - 1)
    page.fill("input[name=reason]", f"{name} from the ERP")
    # leaving the field is a change: let the preview it asks for answer before submitting
    # (else the submission aborts it, and the browser reports a failed request)
    with page.expect_response(lambda r: "/mapping/?" in r.url):
        page.press("input[name=reason]", "Tab")
    s.shot(f"{name}-mapping")
    page.click("form[action$='/mapping/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/imports/\d+/$"))
    see(page.locator("#job-status progress:not([max])")).to_be_visible()  # queued
    s.shot(f"{name}-queued")
    run_worker()
    # the page polls every second and shows the counts once the job is done
    see(page.locator("#job-status table")).to_be_visible(timeout=TIMEOUT)
    s.shot(f"{name}-done")
    return {row[0]: row[1] for row in cells(page, "#job-status table")}


def test_manager_imports_evaluates_publishes_and_reads_why(
    session_factory, users, approved_version, fixed_today, tmp_path
):
    """Given an approved, primary rule set by revenue and a manager with a password, when
    the manager logs in, imports five customers and their transactions from CSV files with
    Chinese headers, runs the rule set as of 30 September, publishes the draft, opens a
    customer and switches the language, then every page shows the real results: the
    counts imported, each customer's tier, the reason with the revenue and the gap to the
    next tier in both languages, and the dashboard's chart; nothing fails, nothing is
    fetched from another host."""
    from playwright.sync_api import expect as see

    from tiering_web.customers.models import Customer, Transaction
    from tiering_web.evaluations.models import Evaluation

    s = session_factory(locale="zh-CN")
    page = s.page

    # log in through the form, in Chinese (the browser asks for it)
    s.goto("/customers/")
    page.wait_for_url(re.compile(r"/login/\?next="))
    see(page.locator("h1")).to_have_text("登录")
    page.fill("input[name=username]", "wang")
    page.fill("input[name=password]", "wrong-password")
    page.click("form[action='/login/'] button[type=submit]")
    see(page.locator("p.errorlist")).to_be_visible()
    s.shot("login-refused")
    page.fill("input[name=password]", PASSWORD)
    s.shot("login")
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/$"))
    see(page.locator("header a[href='/users/me/']")).to_have_text("wang")

    # customers, then their transactions, with the mapping suggested from the headers
    counts = import_file(
        s,
        tmp_path,
        "customers",
        CUSTOMERS_CSV,
        "customers",
        {"code": "客户编号", "name": "客户名称", "industry": "行业", "size": "规模",
         "influence": "影响力"},
    )  # fmt: skip
    assert counts == {
        "文件行数": "5",
        "新建": "5",
        "更新": "0",
        "未变": "0",
        "完成时间": counts["完成时间"],
    }, counts
    counts = import_file(
        s,
        tmp_path,
        "transactions",
        TRANSACTIONS_CSV,
        "transactions",
        {"customer_code": "客户编号", "date": "日期", "amount": "金额", "cost": "成本",
         "reference": "单号"},
    )  # fmt: skip
    assert (counts["文件行数"], counts["新建"]) == ("7", "7"), counts
    assert Customer.objects.get(code="K002").name == "南方软件科技"
    assert Customer.objects.get(code="K001").size == "large"
    assert Transaction.objects.count() == 7

    # run the approved version as of 30 September; the worker grades in the background
    s.goto("/evaluations/run/")
    page.select_option("select[name=version]", str(approved_version.pk))
    page.fill("input[name=as_of]", AS_OF)
    s.shot("evaluation-run")
    page.click("form[action='/evaluations/run/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    see(page.locator("#evaluation-status")).to_be_visible()
    s.shot("evaluation-queued")
    run_worker()
    # the status poll reloads the page with the draft's results
    see(page.locator("#results")).to_be_visible(timeout=TIMEOUT)
    evaluation = Evaluation.objects.get()
    assert evaluation.status == Evaluation.Status.DRAFT
    rows = cells(page, "#results")[1:]
    tiers = {row[0].split()[0]: row[4] for row in rows}
    assert tiers == EXPECTED
    gaps = {row[0].split()[0]: (row[8], row[9].split()[0]) for row in rows}
    assert gaps["K002"] == ("A", "25,000.00") and gaps["K003"] == ("B", "0.01"), gaps
    assert gaps["K001"] == ("—", "—"), gaps
    summary = {row[0]: row[1] for row in cells(page, "#summary")[1:]}
    assert summary == {"A": "1", "B": "2", "C": "2", "合计": "5"}, summary
    s.shot("evaluation-draft")

    # publish with a reason and the confirmation
    page.fill("#publish-form textarea", "第三季度分级，已复核")
    page.check("#publish-form input[type=checkbox]")
    page.click("#publish-form button[type=submit]")
    see(page.locator("#evaluation-facts")).to_contain_text("已发布")
    see(page.locator("#decision")).to_have_count(0)
    s.shot("evaluation-published")
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.PUBLISHED
    assert evaluation.published_by == users["manager"]

    # the customer list shows the current tiers; K002's page says why it is B
    s.goto("/customers/")
    for code, tier in EXPECTED.items():
        row = page.locator("#customer-table tr", has=page.locator(f"a[href='/customers/{code}/']"))
        see(row.locator(".tier")).to_have_text(tier)
    s.shot("customers")
    page.click("a[href='/customers/K002/']")
    page.wait_for_url(re.compile(r"/customers/K002/$"))
    see(page.locator("h1")).to_have_text("K002 南方软件科技")
    current = page.locator("section.card", has=page.locator("p.reason"))
    see(current.locator("h3 .tier")).to_have_text("B")
    see(current.locator("h4")).to_have_text("为何是这个等级")
    see(current.locator("p.reason")).to_have_text(re.compile(r"营收.*75,?000\.00.*→ ?B"))
    values = [row[1] for row in cells(page, "table.values")[1:]]
    # revenue, cost, profit and orders over the year
    assert {"75,000.00", "39,000.00", "36,000.00", "2"} <= set(values), values
    see(current).to_contain_text("上一级")
    see(current).to_contain_text("还差 25,000.00")
    see(page.locator("#transactions")).to_contain_text("SO-1004")
    s.shot("customer-zh")
    zh_reason = current.locator("p.reason").inner_text()

    # switch to English with the header's select, then back to Chinese
    page.select_option("select[name=language]", "en")
    see(page.locator("h2", has_text="Current tiers")).to_be_visible()
    see(current.locator("h4")).to_have_text("Why this tier")
    assert page.url == f"{s.base}/customers/K002/"  # the same page, in English
    see(page.locator("html")).to_have_attribute("lang", "en")
    see(current).to_contain_text("missing 25,000.00")
    see(current.locator("p.reason")).to_have_text(
        re.compile(r"revenue.*75,?000\.00.*→ ?B", re.IGNORECASE)
    )
    s.shot("customer-en")
    page.select_option("select[name=language]", "zh-hans")
    see(current.locator("h4")).to_have_text("为何是这个等级")
    see(page.locator("html")).to_have_attribute("lang", "zh-hans")
    see(current.locator("p.reason")).to_have_text(zh_reason)

    # the dashboard draws the tier distribution with the app's own plotly.js
    page.click("header nav a[href='/']")
    page.wait_for_url(s.base + "/")
    see(page.locator("#tier-chart .main-svg").first).to_be_visible()
    see(page.locator("#tier-chart .bars path")).not_to_have_count(0)
    distribution = {row[0]: row[1] for row in cells(page, "#distribution")[1:]}
    assert distribution == {"A": "1", "B": "2", "C": "2"}, distribution
    s.shot("dashboard")

    # the publication in force can be withdrawn, with a reason: the tiers go away again
    s.goto(f"/evaluations/{evaluation.pk}/")
    see(page.locator("#withdrawal h2")).to_have_text("撤回本次发布")
    page.fill("#withdraw-form textarea", "评估日期选错")
    page.check("#withdraw-form input[type=checkbox]")
    s.shot("evaluation-withdraw")
    page.click("#withdraw-form button[type=submit]")
    see(page.locator("#evaluation-facts")).to_contain_text("已撤回")
    see(page.locator("#evaluation-facts")).to_contain_text("评估日期选错")
    see(page.locator("#withdrawal")).to_have_count(0)
    s.shot("evaluation-withdrawn")
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.Status.WITHDRAWN
    s.goto("/customers/")
    see(page.locator("#customer-table .tier")).to_have_count(0)

    assert s.problems == []
    # htmx and plotly.js came from the app itself, nothing from a CDN
    assert s.foreign == []
    assert f"{s.base}/static-vendor/plotly.min.js" in s.requested
    assert any(re.search(r"/static/.*htmx.*\.js$", url) for url in s.requested), s.requested


# --- the role rules ------------------------------------------------------------------------


def test_account_manager_and_analyst_see_what_their_roles_allow(
    session_factory, users, live_server
):
    """Given two customers of the account manager (one with a contact) and one of nobody,
    when the account manager logs in, the list shows only their two and the import page is
    forbidden; when the analyst opens the customer with the contact, the page shows its
    profile but no contact."""
    from playwright.sync_api import expect as see

    from tiering_web.customers.services import do_create_customer

    admin, am = users["administrator"], users["account_manager"]
    contact = [{"name": "李雷", "title": "采购经理", "phone": "13800000000"}]
    do_create_customer(admin, {"code": "K010", "name": "甲公司", "owner": am, "contacts": contact})
    do_create_customer(admin, {"code": "K011", "name": "乙公司", "owner": am})
    do_create_customer(admin, {"code": "K012", "name": "丙公司"})

    s = session_factory(locale="zh-CN")
    page = s.page
    s.log_in("li")
    s.goto("/customers/")
    see(page.locator("#customer-table tbody tr")).to_have_count(2)
    codes = page.locator("#customer-table tbody tr td:first-child").all_inner_texts()
    assert codes == ["K010", "K011"]
    s.shot("account-manager-customers")
    s.goto("/customers/K010/")
    see(page.locator("#contacts")).to_contain_text("13800000000")
    s.expected_status = {403, 404}
    assert s.goto("/imports/upload/").status == 403
    s.shot("account-manager-import-forbidden")
    assert s.goto("/customers/K012/").status == 404
    s.expected_status = set()

    analyst = session_factory(locale="zh-CN")
    analyst.log_in("chen")
    analyst.goto("/customers/K010/")
    see(analyst.page.locator("h1")).to_have_text("K010 甲公司")
    see(analyst.page.locator("#contacts")).to_have_count(0)
    see(analyst.page.locator("main")).not_to_contain_text("13800000000")
    see(analyst.page.locator("main")).not_to_contain_text("李雷")
    analyst.shot("analyst-customer")

    assert s.problems == [] and analyst.problems == []
    assert s.foreign == [] and analyst.foreign == []
