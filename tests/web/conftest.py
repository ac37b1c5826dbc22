"""Web tests: Django with pytest-django, on SQLite by default or on the PostgreSQL server
named by ``DATABASE_URL``."""

import datetime as dt
import os
from decimal import Decimal

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiering_web.settings")

#: ibis 12's SQLite backend reads a pandas option that pandas 3 deprecates (harmless)
IBIS_SQLITE_PANDAS = "ignore:The 'future.infer_string' option is deprecated"


#: "Today" for the evaluation rules in the web tests (as-of dates, override expiries), so
#: that an override "until 2027-03-31" stays valid whenever the suite runs.
TODAY = dt.date(2026, 11, 22)


@pytest.fixture(autouse=True)
def _fresh_language():
    """Each test starts in the language a fresh process has (the site's, Chinese), not in
    whatever the previous test's last request left active in the thread: code run outside
    a request words its messages the same whatever ran before."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _evaluation_clock(settings, monkeypatch):
    """The test ledger's evaluations run as of dates up to 2028: allow as-of dates ten
    years after :data:`TODAY` (the tests of the rule set the horizon back to 0)."""
    from tiering_web.evaluations import services

    settings.TIERING_AS_OF_HORIZON_DAYS = 3650
    monkeypatch.setattr(services, "today", lambda: TODAY)


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings(IBIS_SQLITE_PANDAS))


#: Tiers by revenue over the last 12 months (the engine's thresholds method).
THRESHOLDS = {
    "name": "按营收分级",
    "lookback": "12 months",
    "thresholds": {"metric": "revenue"},
    "tiers": [{"name": "A", "min": 100000}, {"name": "B", "min": 20000}, {"name": "C"}],
}

AS_OF = dt.date(2026, 9, 30)
NEXT_QUARTER = dt.date(2026, 12, 31)

#: Six customers' orders (date, amount, cost) and returns, and the tier each should get
#: as of AS_OF.
LEDGER = {
    "C1": ([("2026-03-01", "150000.00", "90000.00")], [], "A"),
    "C2": (
        [("2026-04-01", "60000.00", "30000.00"), ("2026-05-01", "40000.00", "20000.00")],
        [],
        "A",
    ),
    "C3": ([("2026-06-01", "50000.00", "30000.00")], [("2026-06-15", "30000.00", "18000.00")], "B"),
    "C4": ([("2026-07-01", "19999.99", "10000.00")], [], "C"),
    "C5": ([], [], "C"),
    "C6": ([("2026-08-01", "25000.00", "15000.00")], [], "B"),
}
EXPECTED = {code: tier for code, (_, _, tier) in LEDGER.items()}


def database_url() -> str:
    """The test database as a ``DATABASE_URL``, for the processes a test starts."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host = settings.get("HOST") or "localhost"
    port = settings.get("PORT") or 5432
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


@pytest.fixture
def manager(django_user_model):
    from tiering_web.accounts.models import Role

    return django_user_model.objects.create_user("wang", password="x-secret-1", role=Role.MANAGER)


@pytest.fixture
def staff(django_user_model, manager):
    """One user per role: the manager, admin1 (administrator), li (account manager) and
    zhao (analyst), by role."""
    from tiering_web.accounts.models import Role

    made = {Role.MANAGER: manager}
    for name, role in (
        ("admin1", Role.ADMINISTRATOR),
        ("li", Role.ACCOUNT_MANAGER),
        ("zhao", Role.ANALYST),
    ):
        made[role] = django_user_model.objects.create_user(name, password="x-secret-1", role=role)
    return made


@pytest.fixture
def customers(manager):
    """The six customers of LEDGER with their transactions, by code."""
    from tiering_web.customers.models import Transaction
    from tiering_web.customers.services import do_create_customer

    made = {}
    for code, (orders, returns, _) in LEDGER.items():
        customer = do_create_customer(
            manager, {"code": code, "name": f"客户{code}", "industry": "制造业"}, "test data"
        )
        for kind, rows in ((Transaction.Kind.ORDER, orders), (Transaction.Kind.RETURN, returns)):
            for date, amount, cost in rows:
                Transaction.objects.create(
                    customer=customer,
                    date=dt.date.fromisoformat(date),
                    amount=Decimal(amount),
                    cost=Decimal(cost),
                    kind=kind,
                )
        made[code] = customer
    return made


#: The effective date test versions are approved with unless they name one: before every
#: as-of date the tests grade.
EFFECTIVE = dt.date(2020, 1, 1)


def signatories():
    """The second and third persons who sign the tests' versions (four eyes): 李 reviews
    and 赵 approves, never the author (the tests' authors are other users)."""
    from tiering_web.accounts.models import Role, User

    reviewer, _ = User.objects.get_or_create(
        username="li-reviewer", defaults={"role": Role.ANALYST, "first_name": "李审核"}
    )
    approver, _ = User.objects.get_or_create(
        username="zhao-approver", defaults={"role": Role.MANAGER, "first_name": "赵批准"}
    )
    return reviewer, approver


def approve(version, reason: str = "ok", effective_date: dt.date | None = None):
    """``version`` approved the way the services require: reviewed by 李 and approved by
    赵 (:func:`signatories`), effective from its own date, ``effective_date`` or
    :data:`EFFECTIVE`."""
    from tiering_web.rulesets.services import (
        do_approve_ruleset_version,
        do_review_ruleset_version,
    )

    reviewer, approver = signatories()
    if effective_date is None and version.effective_date is None:
        effective_date = EFFECTIVE
    do_review_ruleset_version(reviewer, version, reason)
    return do_approve_ruleset_version(approver, version, reason, effective_date=effective_date)


def approve_policies(version, reason: str = "ok"):
    """A policy version approved by 赵 (:func:`signatories`), not its author."""
    from tiering_web.policies.services import do_approve_policy_version

    return do_approve_policy_version(signatories()[1], version, reason)


@pytest.fixture
def version(manager):
    """An approved version of the THRESHOLDS rule set (written by ``manager``)."""
    from tiering_web.rulesets.services import do_create_ruleset, do_save_ruleset_version

    ruleset = do_create_ruleset(manager, "按营收分级", "test")
    saved = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "first version")
    return approve(saved)


def approved_version(manager, ruleset, rules: dict, note: str = "test"):
    """A new approved version of ``ruleset`` with ``rules`` (named after the rule set),
    written by ``manager`` and approved by the :func:`signatories`."""
    from tiering_web.rulesets.services import do_save_ruleset_version

    saved = do_save_ruleset_version(manager, ruleset, {**rules, "name": ruleset.name}, note)
    return approve(saved)


@pytest.fixture
def grace_version(manager):
    """An approved version of the rule set 宽限: THRESHOLDS keeping a lower tier away for
    two evaluations (``downgrade: {grace: 2}``)."""
    from tiering_web.rulesets.services import do_create_ruleset

    ruleset = do_create_ruleset(manager, "宽限", "test")
    return approved_version(manager, ruleset, {**THRESHOLDS, "downgrade": {"grace": 2}}, "grace")
