"""The demo company in the web application: staff accounts for every role, the
customers, transactions and payments received of :func:`tiering.demo.generate_demo`
loaded through the import service, four rule sets (the scorecard primary) and two
published quarters of grades.

Everything goes through the same service functions staff use, so the demo's audit log
reads like a real company's first day.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from tiering.demo import generate_demo
from tiering_web.accounts.models import Role
from tiering_web.accountwork.services import (
    do_save_manager_profile,
    do_save_revisit_plan,
    generate_tasks,
)
from tiering_web.audit.services import record
from tiering_web.callcentre.services import do_record_calls, sync_phone_index
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import TierAssignment
from tiering_web.evaluations.services import publish_evaluation, run_evaluation
from tiering_web.imports.services import import_customers, import_payments, import_transactions
from tiering_web.policies.services import do_approve_policy_version, do_save_policy_version
from tiering_web.rulesets.services import (
    do_approve_ruleset_version,
    do_create_ruleset,
    do_review_ruleset_version,
    do_save_ruleset_version,
    do_set_primary,
)

#: The two quarter ends graded and published, oldest first (the demo's data ends on the
#: second), so the dashboard has a migration and every customer a tier history.
QUARTERS = (dt.date(2026, 6, 30), dt.date(2026, 9, 30))

#: The demo's rule sets, as the app stores them (the examples/ rule files without their
#: file column mappings; attributes by the app's field names and codes). The first is
#: primary.
RULESETS: tuple[tuple[str, str, dict], ...] = (
    (
        "大客户季度评级",
        "加权评分卡：营收40、利润20、增长15、最近购买10、影响力15；≥75 A，60–75 B，<60 C",
        {
            "lookback": "12 months",
            "scorecard": [
                {"factor": "revenue", "weight": 40, "scale": "percentile"},
                {"factor": "profit", "weight": 20, "scale": "percentile"},
                {
                    "factor": "growth",
                    "weight": 15,
                    "scale": {"bands": [[0, 50], [0.1, 80], [0.3, 100]]},
                },
                {"factor": "recency_days", "weight": 10, "scale": "percentile", "invert": True},
                {
                    "factor": "attribute.influence",
                    "weight": 15,
                    "scale": {"map": {"high": 100, "medium": 60, "low": 20}},
                },
            ],
            "tiers": [
                {"name": "A", "min_score": 75},
                {"name": "B", "min_score": 60},
                {"name": "C"},
            ],
            "downgrade": {"band": 3},
        },
    ),
    (
        "利润贡献ABC分级",
        "帕累托：按近12个月利润贡献，前20%为A，前50%为B",
        {
            "lookback": "12 months",
            "pareto": {"metric": "profit", "by": "customers"},
            "tiers": [{"name": "A", "top": "20%"}, {"name": "B", "top": "50%"}, {"name": "C"}],
        },
    ),
    (
        "会员等级",
        "按累计消费：钻石200万、金卡50万、银卡10万；降级宽限一期",
        {
            "thresholds": {"metric": "lifetime_revenue"},
            "tiers": [
                {"name": "钻石", "min": 2000000},
                {"name": "金卡", "min": 500000},
                {"name": "银卡", "min": 100000},
                {"name": "普通", "min": 1},
                {"name": "新客户"},
            ],
            "downgrade": {"grace": 1},
        },
    ),
    (
        "RFM客户细分",
        "RFM：最近购买天数、订单数、营收，以均值为界",
        {
            "lookback": "12 months",
            "rfm": {
                "recency": "recency_days",
                "frequency": "orders",
                "monetary": "revenue",
                "split": "mean",
            },
        },
    ),
)

#: With the demo's payments: grading by how well customers pay (回款).
COLLECTION_RULESET = (
    "回款评级",
    "近12个月回款率与应收周转：回款率≥95%且周转≥4次为A",
    {
        "lookback": "12 months",
        "scorecard": [
            {
                "factor": "collection_rate",
                "weight": 60,
                "scale": {"bands": [[0, 20], [0.8, 60], [0.95, 100]]},
            },
            {
                # empty when nothing is owed: fully paid counts as the best turnover
                "factor": "receivables_turnover",
                "weight": 40,
                "scale": {"bands": [[0, 20], [2, 60], [4, 100]], "default": 100},
            },
        ],
        "tiers": [
            {"name": "A", "min_score": 80},
            {"name": "B", "min_score": 50},
            {"name": "C"},
        ],
    },
)

_MEMBER = {"code": "member_price", "zh": "会员价", "en": "Member price"}
#: What each tier of the primary rule set gets (DOMAIN.md, "What each tier gets").
POLICIES = [
    {
        "tier": "A",
        "benefits": [
            _MEMBER,
            {"code": "priority_booking", "zh": "优先订货", "en": "Priority booking"},
            {"code": "free_delivery", "zh": "免费配送", "en": "Free delivery"},
            {"code": "annual_gift", "zh": "年度礼品", "en": "Annual gift"},
        ],
        "price_coefficient": Decimal("0.950"),
        "payment_terms_days": 60,
        "credit_days": 90,
        "credit_limit": Decimal("2000000.00"),
        "delivery_lead_days": 3,
        "dedicated_manager": True,
        "revisit_days": 30,
        "queue_priority": 1,
        "answer_seconds": 20,
        "answer_share": Decimal("0.900"),
        "callback_hours": 4,
    },
    {
        "tier": "B",
        "benefits": [_MEMBER, {"code": "points_x2", "zh": "双倍积分", "en": "Double points"}],
        "price_coefficient": Decimal("0.980"),
        "payment_terms_days": 30,
        "credit_days": 45,
        "credit_limit": Decimal("500000.00"),
        "delivery_lead_days": 5,
        "dedicated_manager": True,
        "revisit_days": 90,
        "queue_priority": 3,
        "answer_seconds": 20,
        "answer_share": Decimal("0.850"),
        "callback_hours": 24,
    },
    {
        "tier": "C",
        "benefits": [{"code": "promotions", "zh": "促销活动", "en": "Promotions"}],
        "payment_terms_days": 0,
        "delivery_lead_days": 7,
        "service_team": "客户服务中心",
        "revisit_days": 180,
        "queue_priority": 5,
        "answer_seconds": 30,
        "answer_share": Decimal("0.800"),
    },
]

#: The fixed staff accounts (username, display name, role); the account managers come
#: from the demo's 客户经理 column.
STAFF = (
    ("admin", "系统管理员", Role.ADMINISTRATOR),
    ("manager", "销售总监", Role.MANAGER),
    ("analyst", "数据分析师", Role.ANALYST),
)

REASON = "演示数据 demo company"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    note: str = ""


def accounts_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-accounts.txt"


def _password() -> str:
    return secrets.token_urlsafe(9)


def _create_staff(admin, username: str, name: str, role: str, password: str):
    """A staff account, recorded in the audit log like any other new user."""
    user = get_user_model().objects.create_user(
        username, password=password, role=role, first_name=name
    )
    user.email = f"staff{user.pk}@demo.example"
    user.save(update_fields=["email"])
    record(admin, "user.create", user, REASON, role=role)
    return user


def _demo_files(
    source: Path | None, customers: int, seed: int, progress
) -> tuple[Path, Path, Path | None]:
    """(customers file, transactions file, payments file or None): those ``tiering
    demo-data`` wrote to ``source`` (a folder written before payments existed has none),
    or a new demo company generated under ``var/demo``."""
    if source is not None:
        files = (source / "customers.xlsx", source / "交易记录.csv")
        missing = [str(p) for p in files if not p.exists()]
        if missing:
            raise FileNotFoundError(f"not a demo folder (run `tiering demo-data`): {missing}")
        payments = source / "回款记录.csv"
        return (*files, payments if payments.exists() else None)
    directory = Path(settings.VAR_DIR) / "demo"
    progress(f"generating {customers} demo customers in {directory}")
    files = generate_demo(directory, customers=customers, seed=seed, fmt="csv")
    return files.customers, files.transactions, files.payments


def _owners(path: Path) -> Counter:
    """How many customers each 客户经理 of the demo's customers file owns."""
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        rows = book.worksheets[0].iter_rows(values_only=True)
        column = next(rows).index("客户经理")
        owners = Counter(row[column] for row in rows if row[column])
        book.close()
        return owners
    with open(path, encoding="utf-8-sig", newline="") as f:
        return Counter(row["客户经理"] for row in csv.DictReader(f) if row["客户经理"])


def load_demo(
    customers: int = 2000,
    seed: int = 1,
    progress: Callable[[str], None] = print,
    source: Path | None = None,
) -> list[DemoAccount]:
    """Load the demo company into an empty database and return the accounts made: the
    files ``tiering demo-data`` wrote to ``source``, or, without it, a new demo company of
    ``customers`` customers.

    Raises :class:`RuntimeError` when the database already holds customers (the demo is
    for a fresh installation; it never mixes with a company's own data).
    """
    if Customer.objects.exists():
        raise RuntimeError("the database already holds customers: the demo needs an empty one")
    customers_file, transactions_file, payments_file = _demo_files(
        source, customers, seed, progress
    )

    User = get_user_model()
    admin_password, staff_password, am_password = _password(), _password(), _password()
    with transaction.atomic():
        admin = User.objects.create_superuser(
            "admin", password=admin_password, role=Role.ADMINISTRATOR, first_name="系统管理员"
        )
        record(admin, "user.create", admin, REASON, role=Role.ADMINISTRATOR)
        made = [DemoAccount("admin", admin_password, Role.ADMINISTRATOR)]
        for username, name, role in STAFF[1:]:
            _create_staff(admin, username, name, role, staff_password)
            made.append(DemoAccount(username, staff_password, role))
        owners = _owners(customers_file)
        for name in sorted(owners):
            _create_staff(admin, name, name, Role.ACCOUNT_MANAGER, am_password)
        busiest = owners.most_common(1)[0][0]
        made.append(
            DemoAccount(
                busiest,
                am_password,
                Role.ACCOUNT_MANAGER,
                f"one of {len(owners)} account managers (客户经理), all with this password",
            )
        )

    progress("importing customers and transactions through the import service")
    import_customers(admin, customers_file, reason=REASON, file_name=customers_file.name)
    import_transactions(admin, transactions_file, reason=REASON, file_name=transactions_file.name)
    if payments_file is not None:
        progress("importing the payments received")
        import_payments(admin, payments_file, reason=REASON, file_name=payments_file.name)

    _demo_contacts(admin)

    # four eyes, as the services require: the administrator writes the rules, the analyst
    # reviews them and the manager approves them
    manager = User.objects.get(username="manager")
    analyst = User.objects.get(username="analyst")
    versions = []
    rulesets = RULESETS + ((COLLECTION_RULESET,) if payments_file is not None else ())
    for i, (name, description, definition) in enumerate(rulesets):
        ruleset = do_create_ruleset(admin, name, REASON, description)
        version = do_save_ruleset_version(
            admin, ruleset, {"name": name, **definition}, REASON, effective_date=QUARTERS[0]
        )
        do_review_ruleset_version(analyst, version, REASON)
        version = do_approve_ruleset_version(manager, version, REASON)
        if i == 0:
            do_set_primary(admin, ruleset, REASON)
        versions.append(version)

    _service_levels(admin, manager, versions[0].ruleset, owners)
    for as_of in QUARTERS:
        for version in versions:
            progress(f"grading {version.ruleset.name} as of {as_of:%Y-%m-%d} and publishing")
            evaluation = run_evaluation(admin, version, as_of, lang="zh-hans")
            publish_evaluation(manager, evaluation, REASON)
    progress("planning the account managers' revisits and logging a month of calls")
    generate_tasks(timezone.localdate())
    sync_phone_index()
    do_record_calls(admin, _demo_calls(), REASON)

    path = accounts_file()
    path.write_text(
        "".join(f"{a.role}\t{a.username}\t{a.password}\t{a.note}\n" for a in made),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return made


_TITLES = ("采购经理", "总经理", "财务主管", "采购专员", "副总经理")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"


def _demo_contacts(admin) -> None:
    """Give each demo customer a contact person with a mobile number and an e-mail
    address (the demo files carry none), so that notifications and the call centre have
    someone to reach; one audit entry for the lot."""
    customers = list(Customer.objects.order_by("id").only("id", "code", "contacts"))
    for i, c in enumerate(customers):
        name = _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 7) % len(_GIVEN)]
        c.contacts = [
            {
                "name": name,
                "title": _TITLES[i % len(_TITLES)],
                "phone": f"13{(i * 7919) % 10:d}{(i * 104729 + 12345678) % 100000000:08d}",
                "email": f"{c.code.lower()}@demo.example",
            }
        ]
    Customer.objects.bulk_update(customers, ["contacts"], batch_size=2000)
    record(admin, "customer.contacts.demo", None, REASON, customers=len(customers))


def _demo_calls(count: int = 1500, seed: int = 7) -> list[dict]:
    """A month of the call centre's calls up to today (seeded): most from the demo's
    customers (the best answered faster), some from unknown numbers; unanswered calls
    mostly called back, some late."""
    rng = random.Random(seed)
    known = list(
        TierAssignment.objects.filter(ruleset__is_primary=True, valid_to__isnull=True)
        .order_by("customer_id")
        .values_list("customer__contacts", "tier")[:600]
    )
    today = timezone.localdate()
    calls = []
    for n in range(count):
        day = today - dt.timedelta(days=rng.randrange(30))
        queued = timezone.make_aware(
            dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=rng.randrange(540))
        )
        if rng.random() < 0.9 and known:
            contacts, tier = rng.choice(known)
            caller = contacts[0]["phone"] if contacts else f"1990000{n:04d}"
        else:
            caller, tier = f"1990000{n:04d}", None
        mean_wait = {"A": 8, "B": 14}.get(tier, 22)
        wait = int(rng.expovariate(1 / mean_wait))
        answered = wait < 90 or rng.random() < 0.5
        back = None
        if not answered and rng.random() < 0.8:
            back = queued + dt.timedelta(hours=rng.choice((2, 10, 30)))
        calls.append(
            {
                "caller": caller,
                "queued_at": queued,
                "wait_seconds": wait,
                "answered": answered,
                "callback_at": back,
                "reference": f"DEMO-{n:05d}",
            }
        )
    return calls


def _service_levels(admin, manager, primary, owners: Counter) -> None:
    """What each tier gets (policies approved by the manager), the account managers'
    seniority and capacity (the busiest most senior), and the revisit plans."""
    policy = do_save_policy_version(admin, primary, QUARTERS[0], POLICIES, REASON, note="演示政策")
    do_approve_policy_version(manager, policy, REASON)
    User = get_user_model()
    tiers = primary.latest_version().rules().tier_names  # best first
    for rank, name in enumerate(sorted(owners, key=lambda n: (-owners[n], n))):
        seniority = 3 if rank < 2 else 2 if rank < 5 else 1
        capacity = {tiers[0]: 15 if seniority == 3 else 5, **{t: 150 for t in tiers[1:-1]}}
        do_save_manager_profile(admin, User.objects.get(username=name), seniority, capacity, REASON)
    for tier, kind, every in (
        (tiers[0], "visit", None),  # the policy's revisit_days
        (tiers[0], "review", 90),
        (tiers[1], "call", None),
        (tiers[-1], "survey", 180),
    ):
        do_save_revisit_plan(admin, primary, tier, kind, every, REASON, starts_on=QUARTERS[0])


def saved_accounts() -> list[DemoAccount]:
    """The accounts :func:`load_demo` wrote to ``var/demo-accounts.txt`` (empty if none)."""
    path = accounts_file()
    if not path.exists():
        return []
    accounts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        role, username, password, note = [*line.split("\t"), "", "", ""][:4]
        accounts.append(DemoAccount(username, password, role, note))
    return accounts
