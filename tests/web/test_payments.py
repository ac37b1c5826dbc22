"""Payments received (回款) in the web app: stored payments reach the engine's payment
metrics through the evaluation, the rule-set form offers those metrics, and payments are
imported from files (all or nothing, re-imports update by reference)."""

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Payment
from tiering_web.customers.services import account_balance
from tiering_web.evaluations.adapters import connect, payments_table
from tiering_web.evaluations.services import run_evaluation
from tiering_web.imports import services
from tiering_web.imports.models import ImportJob
from tiering_web.imports.services import ImportRejected, import_payments, suggest_mapping
from tiering_web.rulesets.forms import metric_choices
from tiering_web.rulesets.services import (
    do_create_ruleset,
    do_save_ruleset_version,
)

from .conftest import AS_OF, EFFECTIVE, LEDGER, approve

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

#: Tiers by collection rate (payments / revenue) over the last 12 months.
COLLECTION = {
    "name": "按回款率分级",
    "lookback": "12 months",
    "thresholds": {"metric": "collection_rate"},
    "tiers": [{"name": "A", "min": 0.9}, {"name": "B", "min": 0.5}, {"name": "C"}],
}

#: Payments of LEDGER's customers (revenue as of AS_OF: C1 150,000; C2 100,000; C3
#: 20,000 after its return; C4 19,999.99; C5 none; C6 25,000) and the tier each gets.
PAID = {
    "C1": ([("2026-04-01", "150000.00")], "A"),  # rate 1.0
    # rate 0.5: the payment after AS_OF counts nowhere
    "C2": ([("2026-05-01", "50000.00"), ("2026-10-15", "50000.00")], "B"),
    "C3": ([("2026-07-01", "20000.00")], "A"),  # rate 1.0 (the return is not owed)
    "C4": ([("2025-09-30", "19999.99")], "C"),  # on the window's excluded start: rate 0
    "C5": ([], "C"),  # no revenue: no rate
    "C6": ([("2026-09-30", "12500.00")], "B"),  # on AS_OF: counts, rate 0.5
}


def store_payments(customers):
    for code, (rows, _) in PAID.items():
        for date, amount in rows:
            Payment.objects.create(
                customer=customers[code],
                date=dt.date.fromisoformat(date),
                amount=Decimal(amount),
                reference=f"HK-{code}-{date}",
            )


def approved(manager, definition):
    ruleset = do_create_ruleset(manager, definition["name"], "test")
    version = do_save_ruleset_version(manager, ruleset, definition, "first version")
    return approve(version)


# --------------------------------------------------------------------------- evaluation


@pytest.mark.django_db(transaction=True)
def test_an_evaluation_grades_by_the_payments_stored_in_the_app(manager, customers):
    """Given payments stored for the six customers, when a collection-rate rule set runs
    as of 30 September, then each customer gets the tier its payments earn, with the
    payment metrics kept in the results and explained in words."""
    store_payments(customers)
    version = approved(manager, COLLECTION)

    evaluation = run_evaluation(manager, version, AS_OF, lang="en")

    tiers = dict(evaluation.results.values_list("customer__code", "tier"))
    assert tiers == {code: tier for code, (_, tier) in PAID.items()}
    c2 = evaluation.results.get(customer__code="C2")
    assert c2.details["collection_rate"] == pytest.approx(0.5)
    assert c2.reason == "collection rate 0.50 ≥ 0.5 → B"
    assert c2.next_tier == "A" and c2.gap == Decimal("0.4000")
    c5 = evaluation.results.get(customer__code="C5")
    assert c5.details["collection_rate"] is None
    assert c5.reason == "collection rate is empty → C"
    assert evaluation.results.get(customer__code="C6").details["collection_rate"] == 0.5


@pytest.mark.django_db(transaction=True)
def test_receivables_and_turnover_from_the_app_database(manager, customers):
    """Given the stored payments, when a rule set reads receivables and their turnover,
    then each is what the customer owed at as_of, exact to the cent."""
    store_payments(customers)
    version = approved(
        manager,
        {
            "name": "应收账款",
            "lookback": "12 months",
            "scorecard": [
                {"factor": "receivables", "weight": 1, "scale": "percentile", "invert": True},
                {"factor": "receivables_turnover", "weight": 1, "scale": "percentile"},
            ],
            "tiers": [{"name": "A", "min_score": 60}, {"name": "B"}],
        },
    )
    evaluation = run_evaluation(manager, version, AS_OF, lang="zh-hans")
    details = {r.customer.code: r.details for r in evaluation.results.select_related("customer")}
    owed = {code: Decimal(d["receivables"]) for code, d in details.items()}
    assert owed == {
        "C1": Decimal("0.00"),
        "C2": Decimal("50000.00"),
        "C3": Decimal("0.00"),  # 50,000 sold, 30,000 returned, 20,000 paid
        "C4": Decimal("0.00"),  # paid before the window, still paid
        "C5": Decimal("0.00"),
        "C6": Decimal("12500.00"),
    }
    assert details["C2"]["receivables_turnover"] == pytest.approx(2.0)
    assert details["C1"]["receivables_turnover"] is None  # nothing owed
    assert "应收账款" in evaluation.results.get(customer__code="C2").reason


@pytest.mark.django_db(transaction=True)
def test_the_engine_reads_payments_by_customer_code(customers):
    """Given stored payments, then the engine's payments table names each customer by
    code with a two-place decimal amount."""
    store_payments(customers)
    con = connect()
    try:
        table = payments_table(con)
        rows = table.order_by(["customer_id", "date"]).to_pyarrow()
    finally:
        con.disconnect()
    assert str(table.schema()["amount"]) == "decimal(18, 2)"
    assert rows.num_rows == 6
    first = rows.to_pylist()[0]
    assert first == {
        "customer_id": "C1",
        "date": dt.date(2026, 4, 1),
        "amount": Decimal("150000.00"),
    }


def test_the_rule_set_form_offers_the_payment_metrics():
    """Given the rule-set form's metric choices, then the payment metrics are there with
    their Chinese and English names."""
    english = dict(metric_choices("en"))
    chinese = dict(metric_choices("zh-hans"))
    for metric in ("payments", "collection_rate", "receivables", "receivables_turnover"):
        assert metric in english
    assert "回款率" in chinese["collection_rate"]
    assert "应收账款周转率" in chinese["receivables_turnover"]
    assert "collection rate" in english["collection_rate"]


@pytest.mark.django_db(transaction=True)
def test_the_rule_set_editor_saves_a_collection_rate_rule(client, manager, customers):
    """Given the thresholds form on collection_rate, when it is saved, then the version
    holds that metric and, once approved, grades the stored payments."""
    store_payments(customers)
    ruleset = do_create_ruleset(manager, "按回款率分级", "test")
    client.force_login(manager)
    data = {
        "name": "按回款率分级",
        "method": "thresholds",
        "lookback": "12 months",
        "as_of": "",
        "description": "",
        "grace": "",
        "band": "",
        "clv_horizon": "",
        "clv_margin": "",
        "clv_discount": "",
        "clv_model": "",
        "effective_date": "2026-10-01",
        "reason": "collection policy",
        "m-metric": "collection_rate",
        "tiers-TOTAL_FORMS": "3",
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
        "tiers-0-name": "A",
        "tiers-0-bound": "0.9",
        "tiers-1-name": "B",
        "tiers-1-bound": "0.5",
        "tiers-2-name": "C",
        "tiers-2-bound": "",
    }
    response = client.post(reverse("ruleset_edit", args=[ruleset.pk]), data, **EN)
    assert response.status_code == 302, response.context and response.context["editor"].errors()
    version = ruleset.versions.get()
    assert version.definition["thresholds"] == {"metric": "collection_rate"}
    # approved by two others, in effect before AS_OF (only approved rules are run)
    evaluation = run_evaluation(manager, approve(version, effective_date=EFFECTIVE), AS_OF)
    tiers = dict(evaluation.results.values_list("customer__code", "tier"))
    assert tiers == {code: tier for code, (_, tier) in PAID.items()}


# --------------------------------------------------------------------------- import

HEADER = ["回款单号", "客户编号", "回款日期", "回款金额"]
GOOD = [
    ["HK-1", "C1", "2026-04-01", "150,000.00"],
    ["HK-2", "C2", "2026/5/1", "¥50000"],
    ["HK-3", "C6", "2026年9月30日", "12500元"],
    ["", "C6", "2026-09-30", "-100.00"],  # a refund, no reference
]


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


@pytest.mark.django_db
def test_a_payments_file_is_imported_with_its_chinese_headers(tmp_path, manager, customers):
    """Given a payments file with Chinese headers, then the suggested mapping finds every
    column, and the import stores each payment with its amount converted, audited."""
    path = write_csv(tmp_path / "回款记录.csv", HEADER, GOOD)
    assert suggest_mapping(HEADER, "payments") == {
        "customer_code": "客户编号",
        "date": "回款日期",
        "amount": "回款金额",
        "reference": "回款单号",
    }
    assert suggest_mapping(["客户编号", "日期", "金额", "单号"], "payments") == {
        "customer_code": "客户编号",
        "date": "日期",
        "amount": "金额",
        "reference": "单号",
    }

    job = import_payments(manager, path, reason="monthly receipts")

    assert (job.status, job.kind, job.created_count) == ("done", "payments", 4)
    stored = {
        (p.customer.code, p.reference): (p.date, p.amount)
        for p in Payment.objects.select_related("customer")
    }
    assert stored == {
        ("C1", "HK-1"): (dt.date(2026, 4, 1), Decimal("150000.00")),
        ("C2", "HK-2"): (dt.date(2026, 5, 1), Decimal("50000.00")),
        ("C6", "HK-3"): (dt.date(2026, 9, 30), Decimal("12500.00")),
        ("C6", ""): (dt.date(2026, 9, 30), Decimal("-100.00")),
    }
    entry = AuditEntry.objects.get(action="import.payments")
    assert (entry.actor, entry.reason, entry.details["created"]) == (manager, "monthly receipts", 4)


@pytest.mark.django_db
def test_a_bad_payments_file_lists_every_bad_row_and_imports_nothing(tmp_path, manager, customers):
    """Given a payments file with an unknown customer, an empty code, a bad date, a bad
    amount and a reference twice for one customer, then the import is refused listing
    each (row, column, value) and no payment is stored."""
    rows = [
        ["HK-1", "C1", "2026-04-01", "100"],
        ["HK-2", "C9", "2026-04-02", "100"],
        ["HK-3", "", "2026-04-03", "100"],
        ["HK-4", "C2", "2026-02-30", "100"],
        ["HK-5", "C3", "2026-04-05", "12元5"],
        ["HK-1", "C1", "2026-04-06", "100"],
    ]
    path = write_csv(tmp_path / "回款记录.csv", HEADER, rows)
    with pytest.raises(ImportRejected) as caught:
        import_payments(manager, path, reason="bad file")
    got = [(i.row, i.column, i.value) for i in caught.value.issues]
    assert got == [
        (2, "回款单号", "HK-1"),
        (3, "客户编号", "C9"),
        (4, "客户编号", None),
        (5, "回款日期", "2026-02-30"),
        (6, "回款金额", "12元5"),
        (7, "回款单号", "HK-1"),
    ]
    assert "no customer with this code" in caught.value.issues[1].en
    assert "同一客户的回款单号重复" in caught.value.issues[0].zh
    assert not Payment.objects.exists()
    job = caught.value.job
    assert job.status == ImportJob.Status.FAILED and len(job.errors) == 6
    assert not AuditEntry.objects.filter(action="import.payments").exists()


@pytest.mark.django_db
def test_a_payments_reimport_updates_by_reference(tmp_path, manager, customers):
    """Given payments imported once, when the same file is imported again with one amount
    corrected and one payment added, then one is updated, one created, the rest unchanged
    (the refund without a reference is added again: it cannot be recognised)."""
    first = write_csv(tmp_path / "a.csv", HEADER, GOOD[:3])
    import_payments(manager, first, reason="first")
    again = import_payments(manager, first, reason="same again")
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)

    corrected = [*GOOD[:1], ["HK-2", "C2", "2026-05-01", "50100.00"], GOOD[2]]
    corrected.append(["HK-4", "C3", "2026-07-01", "20000"])
    job = import_payments(manager, write_csv(tmp_path / "b.csv", HEADER, corrected), reason="fix")

    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 2)
    assert Payment.objects.count() == 4
    assert Payment.objects.get(reference="HK-2").amount == Decimal("50100.00")


# --------------------------------------------------------------------------- pages


def upload(client, path, kind="payments"):
    with open(path, "rb") as f:
        file = SimpleUploadedFile(path.name, f.read(), content_type="text/csv")
    return client.post(reverse("import_upload"), {"kind": kind, "file": file})


@pytest.mark.django_db(transaction=True)
def test_the_upload_page_offers_payments_and_imports_them_through_the_worker(
    client, settings, tmp_path, manager, customers
):
    """Given a manager on the upload page, then payments are one of the kinds offered;
    when a payments file is uploaded, then the mapping page suggests its columns with
    payment labels, and the worker imports every row."""
    settings.VAR_DIR = tmp_path / "var"
    client.force_login(manager)
    page = client.get(reverse("import_upload"), **ZH)
    assert 'value="payments"' in page.text and "回款" in page.text

    response = upload(client, write_csv(tmp_path / "回款记录.csv", HEADER, GOOD))
    job = ImportJob.objects.latest("id")
    assert response["Location"] == reverse("import_mapping", args=[job.pk])
    mapping_page = client.get(reverse("import_mapping", args=[job.pk]), **EN)
    form = mapping_page.context["form"]
    assert form["date"].value() == "回款日期" and form["amount"].value() == "回款金额"
    assert form.fields["amount"].label == "Amount received"
    assert "Amount received" in mapping_page.context["headers"]

    data = {f: form[f].value() or "" for f in services.FIELDS["payments"]}
    data["reason"] = "receipts of September"
    posted = client.post(reverse("import_mapping", args=[job.pk]), data)
    assert posted.status_code == 302
    call_command("db_worker", batch=True, startup_delay=False, verbosity=0)
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 4)
    assert Payment.objects.count() == 4
    detail = client.get(reverse("import_detail", args=[job.pk]), **ZH)
    assert "回款" in detail.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 200),
        (Role.MANAGER, 200),
        (Role.ACCOUNT_MANAGER, 403),
        (Role.ANALYST, 403),
    ],
)
def test_only_importers_may_upload_payments(
    client, settings, tmp_path, django_user_model, customers, role, status
):
    """Given each role, then only administrators and managers reach the upload page, and
    the others cannot upload a payments file."""
    settings.VAR_DIR = tmp_path / "var"
    user = django_user_model.objects.create_user(f"u-{role}", password="x-secret-1", role=role)
    client.force_login(user)
    assert client.get(reverse("import_upload")).status_code == status
    posted = upload(client, write_csv(tmp_path / "回款记录.csv", HEADER, GOOD))
    assert posted.status_code == (302 if status == 200 else 403)
    assert ImportJob.objects.filter(kind="payments").exists() == (status == 200)


@pytest.mark.django_db
def test_anonymous_visitors_cannot_upload_payments(client, tmp_path):
    response = client.get(reverse("import_upload"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


# --------------------------------------------------------------------------- demo


def test_the_demo_loader_finds_the_payments_file(tmp_path):
    """Given a folder written by tiering demo-data, then the demo loader imports its
    payments file too; a folder from before payments existed loads without them."""
    from tiering.demo import generate_demo
    from tiering_web.demo.services import _demo_files

    generate_demo(tmp_path, customers=30, seed=1)
    files = _demo_files(tmp_path, 30, 1, print)
    assert [p.name for p in files] == ["customers.xlsx", "交易记录.csv", "回款记录.csv"]
    (tmp_path / "回款记录.csv").unlink()
    assert _demo_files(tmp_path, 30, 1, print)[2] is None


def test_ledger_fixture_is_what_the_payments_assume():
    """The expected tiers above assume LEDGER's revenues; keep them in step."""
    assert LEDGER["C2"][0] == [
        ("2026-04-01", "60000.00", "30000.00"),
        ("2026-05-01", "40000.00", "20000.00"),
    ]
    assert LEDGER["C3"][1] == [("2026-06-15", "30000.00", "18000.00")]


@pytest.mark.django_db(transaction=True)
def test_what_if_of_a_collection_rule_reads_the_stored_payments(manager, customers):
    """Given the payments stored and a collection-rate rule set, when its A threshold is
    lowered to 0.5 in a what-if, then C2 and C6 (rate 0.5) would move from B to A and
    nothing is saved."""
    from tiering_web.rulesets.whatif import what_if

    store_payments(customers)
    version = approved(manager, COLLECTION)
    lowered = {
        **COLLECTION,
        "tiers": [{"name": "A", "min": 0.5}, {"name": "B", "min": 0.4}, {"name": "C"}],
    }

    result = what_if(lowered, version, AS_OF)

    moves = result.comparison.matrix
    assert sorted(m.customer_id for m in moves.upgrades) == ["C2", "C6"]
    assert moves.downgrades == () and result.comparison.up == 2


@pytest.mark.django_db
def test_customer_page_shows_payments_and_what_is_owed(client, manager, customers):
    """Given the payments stored, when C6's page is opened, then it lists the payment and
    shows net sales 25,000.00, received 12,500.00 and 12,500.00 still owed; C3's return
    reduces its net sales to 20,000.00, all paid."""
    store_payments(customers)
    client.force_login(manager)
    c6 = client.get(reverse("customer_detail", args=["C6"]), **EN)
    assert c6.context["balance"] == {
        "sales": Decimal("25000.00"),
        "payments": Decimal("12500.00"),
        "receivables": Decimal("12500.00"),
    }
    assert "HK-C6-2026-09-30" in c6.text and "Still owed" in c6.text
    c3 = client.get(reverse("customer_detail", args=["C3"]), **EN).context["balance"]
    assert (c3["sales"], c3["receivables"]) == (Decimal("20000.00"), Decimal("0.00"))


@pytest.mark.django_db
def test_the_balance_counts_as_the_engine_counts_on_a_date(customers):
    """Given C6's order of 2026-08-01 and its payment of 2026-09-30, when its balance is
    taken on 2026-09-01, then the later payment counts nowhere (as in the engine's
    receivables as of that date); on 2026-09-30 it counts."""
    store_payments(customers)
    c6 = customers["C6"]
    assert account_balance(c6, dt.date(2026, 9, 1)) == {
        "sales": Decimal("25000.00"),
        "payments": Decimal("0"),
        "receivables": Decimal("25000.00"),
    }
    assert account_balance(c6, dt.date(2026, 9, 30))["receivables"] == Decimal("12500.00")
