"""Tier policies in a real browser (Debian's Chromium through Playwright, Django's live
server): a manager writes a policy version, adding a benefit row with htmx; the
administrator approves it; an account manager then reads what their customer's tier gets
on the customer's page, in Chinese and, after switching the language, in English. No
console error, failed request or request to another host; numbered full-page screenshots
go to ``$TIERING_SCREENSHOTS`` (default ``build/screenshots``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AS_OF = dt.date(2026, 9, 30)

#: Revenue over the 12 months to AS_OF: A from 100,000, B from 20,000, else C.
THRESHOLDS = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}


@pytest.fixture
def company(django_user_model):
    """Staff of each role; the primary THRESHOLDS rule set graded as of AS_OF and
    published: K001 (180,000) is A and belongs to the account manager li."""
    from tiering_web.accounts.models import Role
    from tiering_web.customers.models import Customer, Transaction
    from tiering_web.evaluations.services import publish_evaluation, run_evaluation
    from tiering_web.rulesets.services import (
        do_approve_ruleset_version,
        do_create_ruleset,
        do_review_ruleset_version,
        do_save_ruleset_version,
        do_set_primary,
    )

    users = {
        role: django_user_model.objects.create_user(name, password=PASSWORD, role=role)
        for name, role in (
            ("zhao", Role.ADMINISTRATOR),
            ("wang", Role.MANAGER),
            ("li", Role.ACCOUNT_MANAGER),
        )
    }
    manager, admin = users[Role.MANAGER], users[Role.ADMINISTRATOR]
    ruleset = do_create_ruleset(manager, THRESHOLDS["name"], "tiers by revenue")
    version = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "first version")
    reviewer = django_user_model.objects.create_user("chen", role=Role.ANALYST)
    do_review_ruleset_version(reviewer, version, "checked")
    version = do_approve_ruleset_version(
        admin, version, "checked", effective_date=dt.date(2020, 1, 1)
    )
    do_set_primary(admin, ruleset, "the one we use")
    for code, name, amount in (
        ("K001", "华东机械有限公司", "180000.00"),
        ("K002", "南方软件科技", "25000.00"),
    ):
        customer = Customer.objects.create(code=code, name=name, owner=users[Role.ACCOUNT_MANAGER])
        Transaction.objects.create(
            customer=customer, date=dt.date(2026, 6, 1), amount=Decimal(amount)
        )
    publish_evaluation(manager, run_evaluation(manager, version, AS_OF, lang="zh-hans"), "Q3")
    return {"users": users, "ruleset": ruleset}


def test_policy_written_approved_and_read_on_the_customer_page(session_factory, company):
    """Given K001 graded A under the primary rule set, when the manager writes the first
    policy version in the browser (A: member price and, through the htmx "add a benefit"
    button, a birthday gift; 90% of calls answered within 20 s) and the administrator
    approves it, then the account manager reads on K001's page the benefits and service
    level in Chinese, and in English after switching the language."""
    from playwright.sync_api import expect as see

    from tiering_web.policies.models import PolicyVersion

    ruleset = company["ruleset"]

    # the manager writes version 1
    s = session_factory(locale="zh-CN")
    page = s.page
    s.log_in("wang")
    s.goto("/policies/")
    see(page.locator("h1")).to_have_text("等级政策")
    s.shot("list-empty")
    page.click(f"a[href='/policies/{ruleset.pk}/new/']")
    page.wait_for_url(re.compile(rf"/policies/{ruleset.pk}/new/$"))
    block = page.locator("#tier-0")
    see(block.locator("legend .tier")).to_have_text("A")
    block.locator("input[name='t0-b-0-code']").fill("member_price")
    block.locator("input[name='t0-b-0-zh']").fill("会员价")
    block.locator("input[name='t0-b-0-en']").fill("Member price")
    block.locator("button.add-benefit").click()
    see(block.locator(".benefit-row")).to_have_count(2)
    see(page.locator("#id_t0-b-TOTAL_FORMS")).to_have_value("2")
    block.locator("input[name='t0-b-1-code']").fill("birthday_gift")
    block.locator("input[name='t0-b-1-zh']").fill("生日礼品")
    block.locator("input[name='t0-b-1-en']").fill("Birthday gift")
    block.locator("input[name='t0-payment_terms_days']").fill("30")
    block.locator("input[name='t0-dedicated_manager']").check()
    block.locator("input[name='t0-queue_priority']").fill("1")
    block.locator("input[name='t0-answer_seconds']").fill("20")
    block.locator("input[name='t0-answer_share']").fill("0.9")
    page.fill("textarea[name=reason]", "第四季度政策")
    s.shot("editor")
    page.click("#policy-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/policies/{ruleset.pk}/v1/$"))
    see(page.locator("table.terms")).to_contain_text("会员价; 生日礼品")
    see(page.locator("#approve .alert")).to_be_visible()  # the author may not approve
    s.shot("draft")
    version = PolicyVersion.objects.get()
    assert [b["code"] for b in version.tiers.get(tier="A").benefits] == [
        "member_price",
        "birthday_gift",
    ]

    # the administrator approves it
    admin = session_factory(locale="zh-CN")
    admin.log_in("zhao")
    admin.goto(f"/policies/{ruleset.pk}/v1/")
    admin.page.fill("#approve-form textarea[name=reason]", "已与财务核对")
    admin.page.click("#approve-form button[type=submit]")
    see(admin.page.locator("#version-facts")).to_contain_text("已批准")
    admin.shot("approved")
    version.refresh_from_db()
    assert version.status == PolicyVersion.Status.APPROVED

    # the account manager reads K001's page, in Chinese then in English
    sales = session_factory(locale="zh-CN")
    sales.log_in("li")
    sales.goto("/customers/K001/")
    section = sales.page.locator("#customer-policy")
    see(section.locator("h2")).to_have_text("该客户享有的政策")
    see(section.locator(".tier").first).to_have_text("A")
    see(section.locator("ul.benefits li")).to_have_text(["会员价", "生日礼品"])
    see(section.locator("table.policy-service")).to_contain_text("90% 在 20 秒内接听")
    see(section.locator("table.policy-commercial")).to_contain_text("30 天")
    section.scroll_into_view_if_needed()
    sales.shot("customer-zh")
    sales.page.select_option("header select[name=language]", "en")
    sales.page.wait_for_load_state()
    see(section.locator("h2")).to_have_text("What this customer gets")
    see(section.locator("ul.benefits li")).to_have_text(["Member price", "Birthday gift"])
    see(section.locator("table.policy-service")).to_contain_text("90% within 20 s")
    sales.shot("customer-en")

    for session in (s, admin, sales):
        assert session.problems == [], session.problems
