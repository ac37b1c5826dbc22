import csv
import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from tiering import data
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer, Transaction
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.imports import services
from tiering_web.imports.models import ImportJob
from tiering_web.imports.services import (
    TIER_HEADER,
    ImportRejected,
    export_customers,
    import_customers,
    import_transactions,
    preview,
    suggest_mapping,
    validate,
)
from tiering_web.rulesets.services import (
    do_create_ruleset,
    do_save_ruleset_version,
    do_set_primary,
)

from .conftest import AS_OF, THRESHOLDS

pytestmark = pytest.mark.django_db

CUSTOMER_HEADERS = [
    "客户编号",
    "客户名称",
    "行业",
    "规模",
    "状态",
    "客户经理",
    "单价系数",
    "预计成交日期",
]
CLEAN_CUSTOMERS = [
    ["K001", "华东机械", "制造业", "大型", "活跃", "li", "1.05", "2026-06-30"],
    ["K002", "南方贸易", "批发", "中小企业", "潜在", "", "", "2026年7月1日"],
    ["K003", "北方物流", "物流", "sme", "沉默", "li", "0.9", ""],
]


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def write_xlsx(path, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def li(django_user_model):
    return django_user_model.objects.create_user("li", password="x-secret-2")


def codes():
    return dict(Customer.objects.values_list("code", "name"))


def test_suggested_mapping_recognises_chinese_and_english_headers():
    """Given the headers of a Chinese customers file and of a transactions file, when
    suggesting a mapping, then each header is mapped to our field and unknown ones are
    left out."""
    customers = [
        "客户代码", "名称", "行业", "规模", "性质", "业务模式", "需求类型", "复杂度",
        "影响力", "关系", "客户经理", "资信等级", "价格系数", "状态", "预计成交日期",
        "备注", "其他",
    ]  # fmt: skip
    assert suggest_mapping(customers, "customers") == {
        "code": "客户代码",
        "name": "名称",
        "industry": "行业",
        "size": "规模",
        "nature": "性质",
        "business_mode": "业务模式",
        "needs_type": "需求类型",
        "complexity": "复杂度",
        "influence": "影响力",
        "closeness": "关系",
        "owner": "客户经理",
        "credit_rating": "资信等级",
        "price_coefficient": "价格系数",
        "status": "状态",
        "expected_close": "预计成交日期",
        "notes": "备注",
    }
    assert suggest_mapping(
        ["客户编号", "日期", "金额", "成本", "类型", "单号"], "transactions"
    ) == {
        "customer_code": "客户编号",
        "date": "日期",
        "amount": "金额",
        "cost": "成本",
        "kind": "类型",
        "reference": "单号",
    }
    assert suggest_mapping(["Code", "Name", "Price_Coefficient"], "customers") == {
        "code": "Code",
        "name": "Name",
        "price_coefficient": "Price_Coefficient",
    }


def test_a_clean_gbk_file_imports_and_a_reimport_updates_only_what_changed(tmp_path, manager, li):
    """Given a GBK CSV with Chinese headers and values, when it is imported, then every
    customer is created with its values converted; when a copy with one changed cell is
    imported again, then that customer is updated, nothing is duplicated and the other
    rows are not written."""
    path = write_csv(tmp_path / "客户.csv", CUSTOMER_HEADERS, CLEAN_CUSTOMERS, "gbk")
    assert preview(path, "customers", rows=2) == [
        {"row": 2, "code": "K001", "name": "华东机械", "industry": "制造业", "size": "大型",
         "status": "活跃", "owner": "li", "price_coefficient": "1.05",
         "expected_close": "2026-06-30"},
        {"row": 3, "code": "K002", "name": "南方贸易", "industry": "批发", "size": "中小企业",
         "status": "潜在", "owner": None, "price_coefficient": None,
         "expected_close": "2026年7月1日"},
    ]  # fmt: skip
    assert validate(path, "customers") == []

    job = import_customers(manager, path, None, "first load")

    assert (job.status, job.created_count, job.updated_count) == (ImportJob.Status.DONE, 3, 0)
    k1 = Customer.objects.get(code="K001")
    assert (k1.size, k1.status, k1.owner, k1.price_coefficient, k1.expected_close) == (
        "large",
        "active",
        li,
        Decimal("1.050"),
        dt.date(2026, 6, 30),
    )
    k2 = Customer.objects.get(code="K002")
    assert (k2.size, k2.status, k2.owner, k2.price_coefficient, k2.expected_close) == (
        "sme",
        "prospect",
        None,
        Decimal("1.000"),
        dt.date(2026, 7, 1),
    )
    assert Customer.objects.get(code="K003").status == "dormant"
    stamps = dict(Customer.objects.values_list("code", "updated_at"))

    changed = [row[:] for row in CLEAN_CUSTOMERS]
    changed[1][2] = "零售"
    again = import_customers(
        manager, write_csv(tmp_path / "again.csv", CUSTOMER_HEADERS, changed, "gbk"), None, "fix"
    )

    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 1, 2)
    assert Customer.objects.count() == 3
    assert Customer.objects.get(code="K002").industry == "零售"
    after = dict(Customer.objects.values_list("code", "updated_at"))
    assert after["K001"] == stamps["K001"] and after["K003"] == stamps["K003"]
    assert after["K002"] > stamps["K002"]


def test_an_xlsx_with_chinese_headers_and_typed_cells_imports(tmp_path, manager):
    """Given an .xlsx whose dates and numbers are real cells, when it is imported, then
    they convert like text ones."""
    path = write_xlsx(
        tmp_path / "customers.xlsx",
        ["客户编号", "客户名称", "关系紧密度", "单价系数", "预计成交日期", "备注"],
        [
            [1001, "东方电子", "紧密", 1.2, dt.datetime(2026, 8, 31), "重点"],
            ["1002", "西部能源", "loose", None, None, None],
        ],
    )

    job = import_customers(manager, path, None, "xlsx")

    assert job.created_count == 2
    c = Customer.objects.get(code="1001")
    assert (c.closeness, c.price_coefficient, c.expected_close, c.notes) == (
        "close",
        Decimal("1.200"),
        dt.date(2026, 8, 31),
        "重点",
    )
    assert Customer.objects.get(code="1002").closeness == "loose"


def test_a_broken_file_reports_every_bad_row_and_imports_nothing(tmp_path, manager, li):
    """Given customers already stored and a file with a bad date, a bad coefficient, a
    duplicate code, an unknown status, an unknown owner, an empty code and a new customer
    without a name, when importing it, then every bad row is reported with its row
    number, column and value, and no customer, audit entry or change is written."""
    import_customers(manager, write_csv(tmp_path / "ok.csv", CUSTOMER_HEADERS, CLEAN_CUSTOMERS))
    before, audits = codes(), AuditEntry.objects.count()
    rows = [
        ["K001", "华东机械", "改了", "大型", "活跃", "li", "1.05", "2026-13-45"],  # row 2
        ["K009", "新客户", "", "", "流失", "", "", ""],  # row 3
        ["K010", "重复一", "", "", "", "", "", ""],  # row 4
        ["K010", "重复二", "", "", "", "", "", ""],  # row 5
        ["K011", "某公司", "", "巨型", "", "zhao", "abc", ""],  # row 6
        ["", "无编号", "", "", "", "", "", ""],  # row 7
        ["K012", "", "", "", "", "", "", "2026/6/30"],  # row 8
    ]
    path = write_csv(tmp_path / "broken.csv", CUSTOMER_HEADERS, rows)

    found = [(i.row, i.column, i.value) for i in validate(path, "customers")]
    with pytest.raises(ImportRejected) as caught:
        import_customers(manager, path, None, "broken")

    assert found == [
        (2, "预计成交日期", "2026-13-45"),
        (3, "状态", "流失"),
        (4, "客户编号", "K010"),
        (5, "客户编号", "K010"),
        (6, "单价系数", "abc"),
        (6, "客户经理", "zhao"),
        (6, "规模", "巨型"),
        (7, "客户编号", None),
        (8, "客户名称", None),
    ]
    assert [(i.row, i.column, i.value) for i in caught.value.issues] == found
    assert all(i.en and i.zh for i in caught.value.issues)
    assert "also in row 5" in caught.value.issues[2].en
    assert codes() == before and Customer.objects.get(code="K001").industry == "制造业"
    assert AuditEntry.objects.count() == audits
    job = caught.value.job
    assert job.status == ImportJob.Status.FAILED and len(job.errors) == len(found)
    assert job.errors[0] == {
        "row": 2,
        "column": "预计成交日期",
        "value": "2026-13-45",
        "en": "not a date (write e.g. 2026-06-30)",
        "zh": "不是日期（应写如 2026-06-30）",
    }


def test_a_missing_required_column_or_mapped_header_is_reported(tmp_path, manager):
    """Given a file without a customer code column and a mapping naming an absent header,
    when validating, then both are reported without row numbers."""
    path = write_csv(tmp_path / "c.csv", ["名称", "行业"], [["甲", "制造业"]])

    assert [(i.row, i.column) for i in validate(path, "customers")] == [(None, "code")]
    mapped = validate(path, "customers", {"code": "编号", "name": "名称"})
    assert [(i.row, i.column) for i in mapped] == [(None, "编号")]
    with pytest.raises(ImportRejected):
        preview(path, "transactions")


@pytest.fixture
def stored(manager, tmp_path):
    """Customers K001-K003 from the clean file."""
    rows = [[code, name] for code, name, *_ in CLEAN_CUSTOMERS]
    import_customers(manager, write_csv(tmp_path / "base.csv", ["客户编号", "客户名称"], rows))


TX_HEADERS = ["客户编号", "日期", "金额", "成本", "类型", "单号"]


def test_transactions_of_unknown_customers_and_bad_cells_are_refused(tmp_path, manager, stored):
    """Given transactions naming codes not in the database and a bad date and amount,
    when importing, then every such row is named and no transaction is written."""
    rows = [
        ["K001", "2026-06-30", "100", "60", "销售", "A1"],  # row 2: fine
        ["X404", "2026-06-30", "100", "", "", ""],  # row 3
        ["K002", "2026-02-30", "12元5", "", "", ""],  # row 4
        ["X404", "2026-07-01", "50", "", "换货", ""],  # row 5
        ["K003", "2026-07-01", "-50", "", "销售", ""],  # row 6
    ]
    path = write_csv(tmp_path / "tx.csv", TX_HEADERS, rows, "gbk")

    with pytest.raises(ImportRejected) as caught:
        import_transactions(manager, path, None, "bad")

    assert [(i.row, i.column, i.value) for i in caught.value.issues] == [
        (3, "客户编号", "X404"),
        (4, "日期", "2026-02-30"),
        (4, "金额", "12元5"),
        (5, "客户编号", "X404"),
        (5, "类型", "换货"),
        (6, "金额", "-50"),
    ]
    assert "import the customer first" in caught.value.issues[0].en
    assert Transaction.objects.count() == 0


def test_transactions_convert_like_the_engine_and_returns_are_stored_positive(
    tmp_path, manager, stored
):
    """Given transactions in every date and amount format the engine reads, with returns
    written as negative amounts (no 类型 column), when importing, then amounts are stored
    positive with kind return, and the signed totals per customer equal what the engine
    reads from the same file."""
    rows = [
        ["K001", "2026-06-30", "¥1,234.50", "1,000"],
        ["K001", "2026/6/30", "1234元", ""],
        ["K002", "20260630", "-200.00", "-120"],
        ["K002", "2026年6月30日", "500", "300"],
    ]
    path = write_csv(tmp_path / "tx.csv", ["客户编号", "日期", "金额", "成本"], rows)

    job = import_transactions(manager, path, None, "sales")

    assert job.created_count == 4
    refund = Transaction.objects.get(customer__code="K002", date=dt.date(2026, 6, 30), cost=120)
    assert (refund.kind, refund.amount) == (Transaction.Kind.RETURN, Decimal("200.00"))
    assert set(Transaction.objects.values_list("date", flat=True)) == {dt.date(2026, 6, 30)}
    signed = {}
    for t in Transaction.objects.select_related("customer"):
        sign = -1 if t.kind == Transaction.Kind.RETURN else 1
        amount, cost = signed.get(t.customer.code, (0, 0))
        signed[t.customer.code] = (amount + sign * t.amount, cost + sign * t.cost)
    customers = write_csv(tmp_path / "c.csv", ["客户编号"], [["K001"], ["K002"], ["K003"]])
    inputs = data.read_inputs(customers, path)
    engine = inputs.transactions.group_by("customer_id").aggregate(
        amount=inputs.transactions.amount.sum(), cost=inputs.transactions.cost.sum()
    )
    expected = {r["customer_id"]: (r["amount"], r["cost"]) for r in engine.to_pyarrow().to_pylist()}
    inputs.con.disconnect()
    assert (
        signed
        == expected
        == {
            "K001": (Decimal("2468.50"), Decimal("1000.00")),
            "K002": (Decimal("300.00"), Decimal("180.00")),
        }
    )


def test_a_kind_column_marks_returns_and_references_upsert(tmp_path, manager, stored):
    """Given an .xlsx with 类型 and 单号, when it is imported twice with one amount
    changed and one row without a reference, then 退货 rows are returns, the referenced
    rows are updated in place and the unreferenced one is appended again."""
    rows = [
        ["K001", "2026-06-30", 1000, 600, "销售", "S-1"],
        ["K001", "2026-07-02", 200, 120, "退货", "R-1"],
        ["K003", "2026-07-03", -80, -50, "退货", ""],
    ]
    import_transactions(manager, write_xlsx(tmp_path / "t1.xlsx", TX_HEADERS, rows))
    rows[0][2] = 1100
    job = import_transactions(manager, write_xlsx(tmp_path / "t2.xlsx", TX_HEADERS, rows))

    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 1)
    assert Transaction.objects.get(reference="S-1").amount == Decimal("1100.00")
    r1 = Transaction.objects.get(reference="R-1")
    assert (r1.kind, r1.amount, r1.cost) == ("return", Decimal("200.00"), Decimal("120.00"))
    k3 = Transaction.objects.filter(customer__code="K003")
    assert [(t.kind, t.amount, t.cost) for t in k3] == [("return", Decimal("80.00"), 50)] * 2


def test_duplicate_references_in_one_file_are_refused(tmp_path, manager, stored):
    """Given two rows of one customer with the same 单号, when validating, then both rows
    are reported."""
    rows = [["K001", "2026-06-30", "1", "", "", "S-1"], ["K001", "2026-07-01", "2", "", "", "S-1"]]
    issues = validate(write_csv(tmp_path / "t.csv", TX_HEADERS, rows), "transactions")
    assert [(i.row, i.column, i.value) for i in issues] == [(2, "单号", "S-1"), (3, "单号", "S-1")]


def test_an_import_writes_one_audit_entry_with_its_counts(tmp_path, manager, li):
    """Given a clean file of three customers, when importing it, then exactly one audit
    entry records the import with its file, reason and counts."""
    before = AuditEntry.objects.count()
    path = write_csv(tmp_path / "客户.csv", CUSTOMER_HEADERS, CLEAN_CUSTOMERS)

    job = import_customers(manager, path, None, "quarterly CRM export")

    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.latest("id")
    assert (entry.actor, entry.action, entry.reason, entry.object_id) == (
        manager,
        "import.customers",
        "quarterly CRM export",
        str(job.pk),
    )
    assert entry.details == {
        "file": "客户.csv",
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }
    assert job.uploaded_by == manager and job.mapping["code"] == "客户编号"


@pytest.fixture
def tiered(manager, li, tmp_path):
    """The clean customers, with K001 in tier A and K002 in tier B under the primary rule
    set (and K002 in tier C under another one)."""
    import_customers(manager, write_csv(tmp_path / "c.csv", CUSTOMER_HEADERS, CLEAN_CUSTOMERS))
    plan = (("营收", True, {"K001": "A", "K002": "B"}), ("其他", False, {"K002": "C"}))
    for name, primary, tiers in plan:
        ruleset = do_create_ruleset(manager, name)
        version = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "v1")
        if primary:
            do_set_primary(manager, ruleset, "main")
        evaluation = Evaluation.objects.create(
            ruleset_version=version, as_of=AS_OF, status=Evaluation.Status.PUBLISHED
        )
        for code, tier in tiers.items():
            TierAssignment.objects.create(
                customer=Customer.objects.get(code=code),
                ruleset=ruleset,
                tier=tier,
                valid_from=AS_OF,
                evaluation=evaluation,
            )


def test_export_to_csv_has_the_current_tier_and_imports_back(tmp_path, manager, tiered):
    """Given customers with tiers, when exporting them to CSV, then the file is UTF-8 with
    a BOM, has each customer's current primary tier, and imports back unchanged."""
    path = export_customers(tmp_path / "out.csv", Customer.objects.all())

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["客户编号"], r["客户名称"], r[TIER_HEADER]) for r in rows] == [
        ("K001", "华东机械", "A"),
        ("K002", "南方贸易", "B"),
        ("K003", "北方物流", ""),
    ]
    assert (rows[0]["客户经理"], rows[0]["单价系数"], rows[0]["预计成交日期"]) == (
        "li",
        "1.050",
        "2026-06-30",
    )
    assert validate(path, "customers") == []
    job = import_customers(manager, path, None, "round trip")
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 3)
    assert not list(tmp_path.glob(".out.csv.*"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_text_a_spreadsheet_would_run_is_exported_inert_and_imports_back(
    tmp_path, manager, tiered, suffix
):
    """Given customers whose name, notes and industry start with =, +, - and @, when they
    are exported, then the CSV cells start with an apostrophe (a spreadsheet shows the
    text and runs nothing) and the .xlsx cells are text, not formulas; imported back, the
    file changes nothing."""
    hostile = {
        "K001": {"name": '=HYPERLINK("http://evil.example","点击")', "notes": "+86 138"},
        "K002": {"name": "-减号贸易", "industry": "@SUM(A1)"},
    }
    for code, values in hostile.items():
        Customer.objects.filter(code=code).update(**values)
    path = export_customers(tmp_path / f"out{suffix}", Customer.objects.all())

    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = {r["客户编号"]: r for r in csv.DictReader(f)}
        assert rows["K001"]["客户名称"] == "'" + hostile["K001"]["name"]
        assert rows["K002"]["客户名称"] == "'-减号贸易"
        assert rows["K002"]["行业"] == "'@SUM(A1)"
        assert rows["K001"]["单价系数"] == "1.050"  # numbers as numbers
    else:
        book = openpyxl.load_workbook(path)  # not read-only: it shows formulas as such
        sheet = book.active
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
        book.close()
        assert {c.data_type for c in cells if isinstance(c.value, str)} == {"s"}
        assert hostile["K001"]["name"] in {c.value for c in cells}

    job = import_customers(manager, path, None, "round trip")
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, 3)
    assert Customer.objects.get(code="K001").name == hostile["K001"]["name"]
    assert Customer.objects.get(code="K002").industry == "@SUM(A1)"


def test_export_to_xlsx_of_a_filtered_list_has_the_current_tier(tmp_path, tiered):
    """Given customers with tiers, when exporting the active ones to .xlsx, then the
    workbook lists them with their tier and typed cells."""
    path = export_customers(tmp_path / "out.xlsx", Customer.objects.exclude(status="dormant"))

    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    assert header[0] == "客户编号" and header[-1] == TIER_HEADER
    assert [(r[0], r[-1]) for r in rows[1:]] == [("K001", "A"), ("K002", "B")]
    first = dict(zip(header, rows[1], strict=True))
    assert first["单价系数"] == 1.05 and first["预计成交日期"] == dt.datetime(2026, 6, 30)
    with pytest.raises(ValueError):
        export_customers(tmp_path / "out.json")


def test_fifty_thousand_transactions_import_in_bulk(tmp_path, manager):
    """Given 500 customers and 50,000 transaction rows, when importing them, then all
    rows are stored with matching totals (in bulk: a handful of statements)."""
    customers = [[f"C{i:04d}", f"客户{i}"] for i in range(500)]
    import_customers(manager, write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], customers))
    rows = [
        [f"C{i % 500:04d}", f"2026-{i % 12 + 1:02d}-15", f"{i % 1000}.50", "1.00"]
        for i in range(50_000)
    ]
    path = write_csv(tmp_path / "t.csv", ["客户编号", "日期", "金额", "成本"], rows)

    job = import_transactions(manager, path, None, "bulk")

    assert job.rows_total == job.rows_done == job.created_count == 50_000
    assert Transaction.objects.count() == 50_000
    total = sum(Decimal(r[2]) for r in rows)
    stored = sum(Transaction.objects.values_list("amount", flat=True))
    assert stored == total


def test_an_unknown_kind_or_field_is_a_programming_error(tmp_path):
    """Given a caller naming a kind or field we do not have, then it is told at once."""
    with pytest.raises(ValueError):
        suggest_mapping(["a"], "invoices")
    path = write_csv(tmp_path / "c.csv", ["客户编号"], [["K1"]])
    with pytest.raises(ValueError):
        services.validate(path, "customers", {"code": "客户编号", "colour": "客户编号"})


def test_the_demo_companys_sizes_import_as_sme(tmp_path, manager):
    """Given sizes written as the engine's demo company writes them (大型/中型/小型/微型),
    when importing, then 大型 is large and the others SME, with no error."""
    rows = [
        ["D001", "甲", "制造业", "大型", "", "", "", ""],
        ["D002", "乙", "制造业", "中型", "", "", "", ""],
        ["D003", "丙", "制造业", "小型", "", "", "", ""],
        ["D004", "丁", "制造业", "微型", "", "", "", ""],
    ]
    import_customers(manager, write_csv(tmp_path / "sizes.csv", CUSTOMER_HEADERS, rows))
    sizes = dict(Customer.objects.values_list("code", "size"))
    assert sizes == {"D001": "large", "D002": "sme", "D003": "sme", "D004": "sme"}
