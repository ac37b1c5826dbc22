"""Deactivating a customer in a real browser (Debian's Chromium through Playwright, in
Chinese): the manager deactivates K001 with a reason from its page, the list no longer
shows it, the "已停用客户" filter does, and reactivating brings it back. No console error,
failed request or request to another host; screenshots go to ``$TIERING_SCREENSHOTS``."""

from __future__ import annotations

import pytest

from .conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session(session_factory):
    return session_factory(locale="zh-CN")


@pytest.fixture
def company(django_user_model):
    from tiering_web.accounts.models import Role
    from tiering_web.customers.services import do_create_customer

    wang = django_user_model.objects.create_user("wang", password=PASSWORD, role=Role.MANAGER)
    for code, name in (("K001", "华东机械有限公司"), ("K002", "南方软件科技")):
        do_create_customer(wang, {"code": code, "name": name}, "test data")
    return wang


def test_manager_deactivates_and_reactivates_a_customer(session, company):
    from playwright.sync_api import expect as see

    from tiering_web.customers.models import Customer

    page = session.page
    session.log_in("wang")
    session.goto("/customers/K001/")
    see(page.locator("#deactivate h2")).to_have_text("停用客户")
    page.fill("#deactivate input[name=reason]", "公司已注销")
    page.click("#deactivate button[type=submit]")
    see(page.locator("#deactivated")).to_contain_text("公司已注销")
    see(page.locator(".messages")).to_contain_text("客户已停用")
    session.shot("deactivated")
    assert not Customer.objects.get(code="K001").is_active

    session.goto("/customers/")
    see(page.locator("#customer-table")).to_contain_text("K002")
    see(page.locator("#customer-table")).not_to_contain_text("K001")
    page.select_option("select[name=show]", "deactivated")
    see(page.locator("#customer-table")).to_contain_text("K001")
    see(page.locator("#customer-table")).not_to_contain_text("K002")
    see(page.locator("#customer-table .badge")).to_have_text("已停用")
    session.shot("list-deactivated")

    session.goto("/customers/K001/")
    page.fill("#deactivated input[name=reason]", "恢复合作")
    page.click("#deactivated button[type=submit]")
    see(page.locator(".messages")).to_contain_text("客户已重新启用")
    see(page.locator("#deactivate")).to_be_visible()
    assert Customer.objects.get(code="K001").is_active
    assert session.problems == []
