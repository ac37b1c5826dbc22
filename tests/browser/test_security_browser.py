"""The Content-Security-Policy in a real browser: the app's own scripts run under it (the
language switch, without an inline handler), a script without the page's nonce does not."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_policy_lets_the_apps_scripts_run_and_refuses_an_injected_one(session_factory):
    """Given the login page in Chinese under its policy, when the language select is
    changed, then the page comes back in English (the nonce'd script sent the form); when
    an inline script without the nonce is added, then Chromium refuses to run it and says
    so, and nothing else went wrong."""
    s = session_factory(locale="zh-CN")
    response = s.goto("/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "'unsafe-eval'" not in policy
    assert s.page.evaluate("document.documentElement.lang") == "zh-hans"

    s.page.select_option("select[name=language]", "en")
    s.page.wait_for_function("document.documentElement.lang === 'en'")
    s.shot("login-in-english")
    assert s.problems == []

    playwright = pytest.importorskip("playwright.sync_api")
    with pytest.raises(playwright.Error, match="violates the following Content Security Policy"):
        s.page.add_script_tag(content="window.injected = true;")
    assert s.page.evaluate("window.injected === undefined")
    assert s.problems and all("Content Security Policy" in p for p in s.problems)
