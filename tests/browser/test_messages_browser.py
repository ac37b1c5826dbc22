"""A publication's messages to customers in a real browser (Debian's Chromium through
Playwright, Django's live server): before publishing, the manager reads who will be told
what, each template rendered in Chinese and English; after publishing, the messages wait
"to send" until the manager releases them. No console error, failed request or request
to another host; numbered full-page screenshots go to ``$TIERING_SCREENSHOTS`` (default
``build/screenshots``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

THRESHOLDS = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}


@pytest.fixture
def draft(django_user_model):
    """The primary THRESHOLDS rules published as of 30 September (K001 A, K002 B), then
    K002's big order of October graded as of 30 November, not published: K002 goes up
    to A. Both customers have a contact with an e-mail address."""
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

    manager = django_user_model.objects.create_user("wang", password=PASSWORD, role=Role.MANAGER)
    admin = django_user_model.objects.create_user("zhao", role=Role.ADMINISTRATOR)
    analyst = django_user_model.objects.create_user("chen", role=Role.ANALYST)
    ruleset = do_create_ruleset(admin, THRESHOLDS["name"], "tiers by revenue")
    version = do_save_ruleset_version(admin, ruleset, THRESHOLDS, "first version")
    do_review_ruleset_version(analyst, version, "checked")
    do_approve_ruleset_version(manager, version, "checked", effective_date=dt.date(2020, 1, 1))
    do_set_primary(manager, ruleset, "the grade customers are told")
    for code, name, amount, contact in (
        ("K001", "华东机械有限公司", "180000.00", {"name": "张三", "email": "zhang@k001.example"}),
        ("K002", "南方软件科技", "75000.00", {"name": "李四", "email": "li@k002.example"}),
    ):
        customer = Customer.objects.create(code=code, name=name, contacts=[contact])
        Transaction.objects.create(
            customer=customer, date=dt.date(2026, 6, 1), amount=Decimal(amount)
        )
    publish_evaluation(manager, run_evaluation(manager, version, dt.date(2026, 9, 30)), "Q3")
    Transaction.objects.create(
        customer=Customer.objects.get(code="K002"),
        date=dt.date(2026, 10, 15),
        amount=Decimal("50000.00"),
    )
    return run_evaluation(manager, version, dt.date(2026, 11, 30))


def test_manager_previews_publishes_then_releases_the_messages(session_factory, draft):
    """Given Q4 graded (K002 up to A), when the manager opens it, then the messages card
    says one customer will be told of an upgrade and that the messages wait for a
    release, with the e-mail as K002 would get it in Chinese (and the English one);
    after publishing, the card says one message waits to be sent, and releasing it makes
    it pending for the worker."""
    from playwright.sync_api import expect as see

    from tiering_web.notifications.models import Message
    from tiering_web.notifications.services import queue_publication

    s = session_factory(locale="zh-CN")
    page = s.page
    s.log_in("wang")
    s.goto(f"/evaluations/{draft.pk}/")
    card = page.locator("#customer-messages")
    see(card).to_contain_text("发给客户的消息")
    see(card).to_contain_text("经理放行后才发出")
    see(card.locator("#message-counts")).to_contain_text("升级")
    see(card.locator("details.preview").first).to_contain_text("K002")
    see(card.locator("details.preview").first).to_contain_text("李四")
    card.scroll_into_view_if_needed()
    s.shot("preview")
    english = card.locator("details.preview").nth(2)  # up · English · e-mail
    english.locator("summary").click()
    see(english.locator("pre")).to_contain_text("Dear 李四")
    s.shot("preview-english")

    page.fill("#publish-form textarea[name=publish-reason]", "第四季度")
    page.check("#publish-form input[name=publish-confirm]")
    page.click("#publish-form button[type=submit]")
    see(page.locator("body")).to_contain_text("已发布")
    assert queue_publication(draft).queued == 1  # what the worker does next
    page.reload()
    see(page.locator("#held-messages")).to_contain_text("1 条发给客户的消息待发送")
    s.shot("held")
    page.fill("#release-form input[name=release-reason]", "措辞已核对")
    page.click("#release-form button[type=submit]")
    see(page.locator("body")).to_contain_text("已放行 1 条消息")
    see(page.locator("#held-messages")).to_have_count(0)
    s.shot("released")
    message = Message.objects.get(customer__code="K002")
    assert (message.status, message.recipient) == (Message.Status.PENDING, "li@k002.example")
    assert s.problems == []
