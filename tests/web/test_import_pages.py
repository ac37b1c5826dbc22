"""The import pages (upload, column mapping with preview, background import with progress,
job page with every bad row) and the customer export, with their role rules."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tiering_web.accounts.models import Role
from tiering_web.audit.models import AuditEntry
from tiering_web.customers.models import Customer, Transaction
from tiering_web.evaluations.models import Evaluation, TierAssignment
from tiering_web.imports import jobs, services
from tiering_web.imports.models import ImportJob
from tiering_web.rulesets.services import do_create_ruleset, do_save_ruleset_version, do_set_primary

from .conftest import AS_OF, THRESHOLDS
from .worker import run_worker

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}

CUSTOMERS_CSV = (
    "客户编号,客户名称,行业,规模,状态\n"
    "K001,华东机械,制造业,大型,活跃\n"
    "K002,南方贸易,批发,中小企业,潜在\n"
    "K003,北方物流,物流,sme,沉默\n"
)
TRANSACTIONS_CSV = (
    "客户编号,日期,金额,成本,单号\n"
    'K001,2026-06-30,"¥1,234.50",800,S-1\n'
    "K002,2026/7/1,500,300,S-2\n"
    "K003,2026年7月2日,-80,-50,R-1\n"
)


def csv_file(text: str, name: str = "data.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def make_user(django_user_model, username, role, **extra):
    return django_user_model.objects.create_user(
        username, password="x-secret-1", role=role, **extra
    )


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    """Uploads and exports of each test in its own folder."""
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


@pytest.fixture
def sales(django_user_model):
    return make_user(django_user_model, "li", Role.ACCOUNT_MANAGER)


@pytest.fixture
def analyst(django_user_model):
    return make_user(django_user_model, "zhao", Role.ANALYST)


@pytest.fixture
def admin(django_user_model):
    return make_user(django_user_model, "root", Role.ADMINISTRATOR)


def upload(client, text, kind="customers", name="客户.csv", **headers):
    return client.post(
        reverse("import_upload"), {"kind": kind, "file": csv_file(text, name)}, **headers
    )


def uploaded_job(client, text, kind="customers", name="客户.csv") -> ImportJob:
    response = upload(client, text, kind, name)
    assert response.status_code == 302, response.content.decode()
    job = ImportJob.objects.latest("id")
    assert response["Location"] == reverse("import_mapping", args=[job.pk])
    return job


def mapping_post(job, mapping, reason="quarterly CRM export"):
    data = {field: "" for field in services.FIELDS[job.kind]}
    data.update(mapping)
    data["reason"] = reason
    return data


def import_through_pages(client, text, kind="customers", name="客户.csv") -> ImportJob:
    """Upload, accept the suggested mapping, queue, run the worker; the job afterwards."""
    job = uploaded_job(client, text, kind, name)
    form = client.get(reverse("import_mapping", args=[job.pk])).context["form"]
    mapping = {f: form[f].value() or "" for f in services.FIELDS[kind]}
    response = client.post(reverse("import_mapping", args=[job.pk]), mapping_post(job, mapping))
    assert response.status_code == 302
    run_worker()
    job.refresh_from_db()
    return job


# --------------------------------------------------------------------------- roles


@pytest.mark.django_db
def test_role_matrix_for_the_import_pages(client, manager, admin, sales, analyst):
    """Given a pending job, when each role opens each import page, then administrators and
    managers get 200, account managers and analysts 403, and anonymous visitors are sent
    to log in."""
    job = services.store_upload(manager, "customers", csv_file(CUSTOMERS_CSV))
    urls = [
        reverse("import_list"),
        reverse("import_upload"),
        reverse("import_mapping", args=[job.pk]),
        reverse("import_detail", args=[job.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for user, status in ((manager, 200), (admin, 200), (sales, 403), (analyst, 403)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == status, (user.username, url)
    client.force_login(sales)
    assert upload(client, CUSTOMERS_CSV).status_code == 403
    assert client.post(urls[2], mapping_post(job, {"code": "客户编号"})).status_code == 403
    assert ImportJob.objects.count() == 1 and job.status == ImportJob.Status.PENDING


@pytest.mark.django_db
def test_export_needs_a_login_and_every_role_may_export(client, manager, admin, sales, analyst):
    """Given an anonymous visitor, when exporting, then they are sent to log in; every
    role gets a file."""
    url = reverse("customer_export")
    assert client.get(url)["Location"].startswith(reverse("login"))
    for user in (manager, admin, sales, analyst):
        client.force_login(user)
        for fmt in ("csv", "xlsx"):
            response = client.get(url, {"format": fmt})
            assert response.status_code == 200
            assert b"".join(response.streaming_content)
    assert client.get(url, {"format": "pdf"}).status_code == 400


# --------------------------------------------------------------------------- the flow


@pytest.mark.django_db(transaction=True)
def test_upload_map_preview_and_import_through_the_worker(client, manager):
    """Given a customers CSV with Chinese headers, when it is uploaded, then the mapping
    page suggests our fields for 客户编号/客户名称/行业/规模/状态 and previews the first
    rows; when a select changes, the htmx preview follows it; when it is imported, then
    the worker creates every customer and the job page shows the counts."""
    client.force_login(manager)
    job = uploaded_job(client, CUSTOMERS_CSV)
    assert (job.kind, job.status, job.file_name) == ("customers", "pending", "客户.csv")
    assert services.upload_path(job).parent == services.upload_folder()

    page = client.get(reverse("import_mapping", args=[job.pk]), **EN)
    form = page.context["form"]
    suggested = {f: form[f].value() for f in ("code", "name", "industry", "size", "status")}
    assert suggested == {
        "code": "客户编号",
        "name": "客户名称",
        "industry": "行业",
        "size": "规模",
        "status": "状态",
    }
    assert page.context["rows"][0] == [2, "K001", "华东机械", "制造业", "大型", "活跃"]
    assert len(page.context["rows"]) == 3

    partial = client.get(
        reverse("import_mapping", args=[job.pk]),
        {"code": "客户编号", "name": "行业"},
        HTTP_HX_REQUEST="true",
        **EN,
    )
    assert partial.templates[0].name == "imports/_preview.html"
    assert partial.context["rows"][0] == [2, "K001", "制造业"]

    post = client.post(
        reverse("import_mapping", args=[job.pk]),
        mapping_post(job, suggested, "first load"),
    )
    assert post["Location"] == reverse("import_detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and job.task_id
    assert 'hx-trigger="every 1s"' in client.get(reverse("import_detail", args=[job.pk])).text
    assert Customer.objects.count() == 0

    run_worker()

    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done) == ("done", 3, 3)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (3, 0, 0)
    assert job.uploaded_by == manager and job.reason == "first load"
    assert dict(Customer.objects.values_list("code", "size")) == {
        "K001": "large",
        "K002": "sme",
        "K003": "sme",
    }
    entry = AuditEntry.objects.get(action="import.customers")
    assert (entry.actor, entry.reason, entry.object_id) == (manager, "first load", str(job.pk))
    assert not services.upload_path(job).exists()
    detail = client.get(reverse("import_detail", args=[job.pk]), **EN)
    assert "every 1s" not in detail.text and "Created" in detail.text
    chinese = client.get(reverse("import_detail", args=[job.pk]), **ZH).text
    assert "完成" in chinese and "新建" in chinese and "未变" in chinese
    listing = client.get(reverse("import_list"), **EN)
    assert "客户.csv" in listing.text and reverse("import_detail", args=[job.pk]) in listing.text


@pytest.mark.django_db(transaction=True)
def test_a_reimport_updates_by_code_instead_of_duplicating(client, manager):
    """Given customers imported once, when a file with one changed cell and one new
    customer is imported through the pages, then one is created, one updated, the rest
    unchanged and nothing is duplicated."""
    client.force_login(manager)
    import_through_pages(client, CUSTOMERS_CSV)
    changed = CUSTOMERS_CSV.replace("K002,南方贸易,批发", "K002,南方贸易,零售") + (
        "K004,西部能源,能源,大型,活跃\n"
    )

    job = import_through_pages(client, changed)

    assert (job.created_count, job.updated_count, job.unchanged_count) == (1, 1, 2)
    assert Customer.objects.count() == 4
    assert Customer.objects.get(code="K002").industry == "零售"


@pytest.mark.django_db(transaction=True)
def test_transactions_import_after_customers(client, manager):
    """Given customers, when their transactions are imported through the pages, then
    amounts are converted and the return is stored positive as a return."""
    client.force_login(manager)
    import_through_pages(client, CUSTOMERS_CSV)

    job = import_through_pages(client, TRANSACTIONS_CSV, "transactions", "交易.csv")

    assert (job.status, job.created_count) == ("done", 3)
    k1 = Transaction.objects.get(reference="S-1")
    assert (k1.amount, k1.date) == (Decimal("1234.50"), dt.date(2026, 6, 30))
    refund = Transaction.objects.get(reference="R-1")
    assert (refund.kind, refund.amount) == ("return", Decimal("80.00"))


@pytest.mark.django_db(transaction=True)
def test_a_broken_file_lists_every_bad_row_and_imports_nothing(client, manager):
    """Given stored customers and a transactions file with a bad date, a bad amount and
    an unknown customer, when imported through the pages, then the job failed, its page
    lists every bad row (row, column, value, why in the viewer's language) and no
    transaction was written."""
    client.force_login(manager)
    import_through_pages(client, CUSTOMERS_CSV)
    broken = (
        "客户编号,日期,金额\n"
        "K001,2026-06-30,100\n"
        "K001,2026-13-45,100\n"  # row 3: bad date
        "K002,2026-07-01,十二元\n"  # row 4: bad amount
        "X404,2026-07-01,50\n"  # row 5: unknown customer
    )

    job = import_through_pages(client, broken, "transactions", "坏文件.csv")

    assert job.status == ImportJob.Status.FAILED
    assert [(e["row"], e["column"], e["value"]) for e in job.errors] == [
        (3, "日期", "2026-13-45"),
        (4, "金额", "十二元"),
        (5, "客户编号", "X404"),
    ]
    assert Transaction.objects.count() == 0
    assert not AuditEntry.objects.filter(action="import.transactions").exists()
    url = reverse("import_detail", args=[job.pk])
    english = client.get(url, **EN)
    assert [(e["row"], e["why"]) for e in english.context["error_rows"]] == [
        (3, "not a date (write e.g. 2026-06-30)"),
        (4, "not an amount (write e.g. 1234.50)"),
        (5, "no customer with this code: import the customer first"),
    ]
    assert "Nothing was imported: 3 problems found" in english.text
    assert "2026-13-45" in english.text and "X404" in english.text
    chinese = client.get(url, **ZH)
    assert "不是日期（应写如 2026-06-30）" in chinese.text
    assert "没有该客户编号的客户：请先导入客户" in chinese.text


@pytest.mark.django_db
def test_a_missing_required_column_is_named_before_anything_is_queued(client, manager):
    """Given a transactions file without an amount column, when its mapping page opens,
    then the preview names the missing column; when submitted, then the form asks for the
    amount and nothing is queued; a mapping that uses one column twice is refused."""
    client.force_login(manager)
    job = uploaded_job(client, "客户编号,日期\nK001,2026-06-30\n", "transactions", "t.csv")
    url = reverse("import_mapping", args=[job.pk])

    page = client.get(url, **EN)
    assert any("missing required column for amount" in i for i in page.context["preview_issues"])
    response = client.post(url, mapping_post(job, {"customer_code": "客户编号", "date": "日期"}))
    assert response.status_code == 200 and "amount" in response.context["form"].errors
    twice = client.post(
        url,
        mapping_post(job, {"customer_code": "客户编号", "date": "日期", "amount": "日期"}),
        **EN,
    )
    assert "already used" in twice.context["form"].errors["amount"][0]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PENDING and not job.task_id


@pytest.mark.django_db(transaction=True)
def test_many_errors_are_paginated_with_a_count(client, manager):
    """Given a file of 250 customers without names, when imported, then the job page says
    250 problems and shows them 100 per page."""
    client.force_login(manager)
    text = "客户编号,客户名称\n" + "".join(f"N{i:03d},\n" for i in range(250))

    job = import_through_pages(client, text)

    assert job.status == "failed" and len(job.errors) == 250
    url = reverse("import_detail", args=[job.pk])
    first = client.get(url, **EN)
    assert len(first.context["error_rows"]) == 100 and "250 problems" in first.text
    last = client.get(url, {"page": 3}, **EN)
    assert [e["row"] for e in last.context["error_rows"]][-1] == 251
    assert Customer.objects.count() == 0


# --------------------------------------------------------------------------- progress


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_as_the_worker_goes(client, manager, monkeypatch):
    """Given a file of several steps, when the worker imports it, then the job's phase and
    rows_done are written while it runs (rising during the checking, visible to another
    reader), the callback is called more than once per phase, and at the end
    rows_done == rows_total."""
    monkeypatch.setattr("tiering_web.imports.mapping.STEP", 2)
    client.force_login(manager)
    text = "客户编号,客户名称\n" + "".join(f"P{i},客户{i}\n" for i in range(7))
    seen = []
    report = jobs._JobProgress.__call__

    def spy(self, phase, done, total):
        report(self, phase, done, total)
        stored = ImportJob.objects.values_list("status", "rows_done", "rows_total").get(
            pk=self.job.pk
        )
        seen.append((phase, done, total, stored))

    monkeypatch.setattr(jobs._JobProgress, "__call__", spy)

    job = import_through_pages(client, text)

    checking = [s for s in seen if s[0] == services.CHECKING]
    writing = [s for s in seen if s[0] == services.WRITING]
    assert [s[1] for s in checking] == [0, 2, 4, 6, 7]
    assert [s[1] for s in writing] == [0, 2, 4, 6, 7]
    # outside the import's transaction each report is in the database at once
    assert [s[3] for s in checking] == [("checking", n, 7) for n in (0, 2, 4, 6, 7)]
    assert writing[0][3] == ("writing", 0, 7)
    assert (job.status, job.rows_done, job.rows_total, job.created_count) == ("done", 7, 7, 7)


@pytest.mark.django_db
def test_the_service_reports_progress_in_steps(tmp_path, manager, monkeypatch):
    """Given a five-row file and steps of two rows, when importing with a progress
    callback, then it hears each phase start and every step."""
    monkeypatch.setattr("tiering_web.imports.mapping.STEP", 2)
    path = tmp_path / "c.csv"
    path.write_text("客户编号,客户名称\n" + "".join(f"Q{i},客户{i}\n" for i in range(5)))
    calls = []

    job = services.import_customers(
        manager, path, None, "steps", progress=lambda *a: calls.append(a)
    )

    assert calls == [
        ("checking", 0, 5),
        ("checking", 2, 5),
        ("checking", 4, 5),
        ("checking", 5, 5),
        ("writing", 0, 5),
        ("writing", 2, 5),
        ("writing", 4, 5),
        ("writing", 5, 5),
    ]
    assert job.rows_done == job.rows_total == job.created_count == 5


# --------------------------------------------------------------------------- hostile input


def bomb_workbook(megabytes: int) -> bytes:
    """A valid workbook whose shared strings are ``megabytes`` of one repeated letter."""
    book = openpyxl.Workbook()
    book.active.append(["客户编号"])
    book.active.append(["A1"])
    plain, packed = io.BytesIO(), io.BytesIO()
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as z:
        for name in source.namelist():
            z.writestr(name, source.read(name))
        z.writestr(
            "xl/sharedStrings.xml", b"<sst><si><t>" + b"A" * (megabytes << 20) + b"</t></si></sst>"
        )
    return packed.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.csv", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" * 50, "not a text CSV file"),
        ("empty.csv", b"", "The submitted file is empty"),
        ("report.xlsx", b"just text, not a workbook\n", "not an Excel .xlsx workbook"),
        ("notes.txt", b"a,b\n1,2\n", "Only .csv and .xlsx files"),
        ("wide.csv", (",".join(f"c{i}" for i in range(300)) + "\n").encode(), "300 columns"),
        ("long.csv", ("x" * 5000 + ",b\n1,2\n").encode(), "longer than 200 characters"),
        ("bomb.xlsx", None, "refused as a decompression bomb"),
    ],
)
def test_hostile_uploads_are_refused_with_a_clear_error(
    client, manager, var_dir, name, content, message
):
    """Given an executable renamed .csv, an empty file, a fake workbook, a .txt, a file of
    300 columns, one with a huge header and a workbook of 64 MB of shared strings packed
    in a few kilobytes, when uploaded, then the page names the problem, no job is made and
    no file is kept."""
    if content is None:
        content = bomb_workbook(64)
    client.force_login(manager)
    response = client.post(
        reverse("import_upload"),
        {"kind": "customers", "file": SimpleUploadedFile(name, content)},
        **EN,
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors["file"])
    assert ImportJob.objects.count() == 0
    assert not list((var_dir / "uploads").glob("*")) if (var_dir / "uploads").exists() else True


@pytest.mark.django_db
def test_a_path_traversal_file_name_is_only_shown_never_used(client, manager, var_dir):
    """Given a file named ../../etc/passwd.csv, when uploaded, then it is stored under a
    generated name inside VAR_DIR/uploads and only its last part is shown."""
    client.force_login(manager)

    job = uploaded_job(client, CUSTOMERS_CSV, name="../../etc/passwd.csv")

    assert job.file_name == "passwd.csv"
    stored = services.upload_path(job)
    assert stored.parent == var_dir / "uploads" and stored.name == job.upload
    assert len(job.upload) == 36 and job.upload.endswith(".csv")
    sample = job.upload.removesuffix(".csv") + ".sample.parquet"  # its first rows
    assert sorted(p.name for p in var_dir.rglob("*") if p.is_file()) == [job.upload, sample]
    job.upload = "../secret.csv"
    with pytest.raises(FileNotFoundError):
        services.upload_path(job)


@pytest.mark.django_db
def test_a_gbk_file_and_an_xlsx_upload_are_accepted(client, manager):
    """Given a GBK CSV and an .xlsx, when uploaded, then both are previewed."""
    client.force_login(manager)
    gbk = client.post(
        reverse("import_upload"),
        {"kind": "customers", "file": csv_file(CUSTOMERS_CSV, "gbk.csv", "gbk")},
    )
    job = ImportJob.objects.get(pk=int(gbk["Location"].strip("/").split("/")[-2]))
    assert client.get(gbk["Location"]).context["rows"][0][1:3] == ["K001", "华东机械"]
    book = openpyxl.Workbook()
    book.active.append(["客户编号", "客户名称"])
    book.active.append(["X1", "东方电子"])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = client.post(
        reverse("import_upload"),
        {"kind": "customers", "file": SimpleUploadedFile("c.xlsx", buffer.getvalue())},
    )
    assert xlsx.status_code == 302 and job.pk != ImportJob.objects.latest("id").pk
    assert client.get(xlsx["Location"]).context["rows"] == [[2, "X1", "东方电子"]]


@pytest.mark.django_db(transaction=True)
def test_a_workbook_is_read_once_to_upload_and_once_to_import(client, manager, monkeypatch):
    """Given an .xlsx upload, when its mapping page is shown, its preview follows a select
    and the mapping is posted, then none of them reads the workbook again (they use the
    first rows kept beside it); the import reads it once more and removes both files. A
    job whose first rows were not kept (uploaded before they were) gets them on its first
    mapping page."""
    import tiering.data

    reads = []
    real = tiering.data.read_excel
    monkeypatch.setattr(tiering.data, "read_excel", lambda *a: reads.append(a) or real(*a))
    client.force_login(manager)
    book = openpyxl.Workbook()
    book.active.append(["客户编号", "客户名称", "行业"])
    for i in range(30):
        book.active.append([f"X{i:02}", f"客户{i}", "制造业"])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        reverse("import_upload"),
        {"kind": "customers", "file": SimpleUploadedFile("c.xlsx", buffer.getvalue())},
    )
    job = ImportJob.objects.latest("id")
    assert len(reads) == 1
    page = client.get(response["Location"])
    assert page.context["columns"] == ["客户编号", "客户名称", "行业"]
    assert page.context["rows"][0] == [2, "X00", "客户0", "制造业"]
    partial = client.get(
        response["Location"], {"code": "客户编号", "name": "行业"}, HTTP_HX_REQUEST="true"
    )
    assert partial.context["rows"][1] == [3, "X01", "制造业"]
    sample = services.upload_path(job).with_name(services.upload_path(job).stem + ".sample.parquet")
    sample.unlink()
    assert client.get(response["Location"]).context["rows"][0] == [2, "X00", "客户0", "制造业"]
    assert len(reads) == 2 and sample.exists()
    form = {"code": "客户编号", "name": "客户名称", "industry": "行业"}
    assert client.post(response["Location"], mapping_post(job, form)).status_code == 302
    assert len(reads) == 2
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.created_count, len(reads)) == ("done", 30, 3)
    assert not services.upload_path(job).exists() and not sample.exists()


# --------------------------------------------------------------------------- exports


@pytest.fixture
def book(manager, sales):
    """Two customers of ``sales`` (one with a contact, one dormant), one of the manager;
    tiers under a primary rule set and a second one."""
    own = Customer.objects.create(
        code="S1",
        name="星辰科技",
        industry="软件",
        owner=sales,
        price_coefficient=Decimal("1.050"),
        contacts=[{"name": "张三", "title": "经理", "phone": "13800000000"}],
    )
    dormant = Customer.objects.create(
        code="S2", name="北方机械", industry="制造业", owner=sales, status="dormant"
    )
    other = Customer.objects.create(code="M1", name="南方贸易", industry="软件", owner=manager)
    plan = (("营收", True, {own: "A", other: "B"}), ("利润", False, {own: "C", dormant: "B"}))
    for name, primary, tiers in plan:
        ruleset = do_create_ruleset(manager, name)
        version = do_save_ruleset_version(manager, ruleset, THRESHOLDS, "v1")
        if primary:
            do_set_primary(manager, ruleset, "main")
        evaluation = Evaluation.objects.create(
            ruleset_version=version, as_of=AS_OF, status=Evaluation.Status.PUBLISHED
        )
        for customer, tier in tiers.items():
            TierAssignment.objects.create(
                customer=customer,
                ruleset=ruleset,
                tier=tier,
                valid_from=AS_OF,
                evaluation=evaluation,
            )


def read_csv(response):
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def read_xlsx(response):
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    return rows


@pytest.mark.django_db
def test_export_has_every_tier_primary_first_and_chinese_headers(client, manager, book):
    """Given customers with tiers under two rule sets, when a manager exports to CSV in
    Chinese, then the headers are Chinese, the primary tier comes first, then the other
    rule set's, then the contacts; the file imports back unchanged."""
    client.force_login(manager)

    response = client.get(reverse("customer_export"), {"format": "csv"}, **ZH)

    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    rows = read_csv(response)
    header = rows[0]
    assert header[0] == "客户编号" and header[-3:] == ["当前等级", "等级：利润", "联系人"]
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert list(by_code) == ["M1", "S1", "S2"]
    assert (by_code["S1"]["当前等级"], by_code["S1"]["等级：利润"]) == ("A", "C")
    assert by_code["S1"]["联系人"] == "张三 经理 13800000000"
    assert (by_code["S2"]["当前等级"], by_code["S2"]["等级：利润"]) == ("", "B")
    assert by_code["S1"]["单价系数"] == "1.050"


@pytest.mark.django_db
def test_export_follows_the_list_filters_and_the_role(client, book, sales, analyst):
    """Given customers of two owners, when an account manager exports, then only their
    own customers are in it; when an analyst exports, then there is no contact column;
    the list's filters and sort apply; English headers in English."""
    url = reverse("customer_export")
    client.force_login(sales)
    own = read_xlsx(client.get(url, {"format": "xlsx"}, **EN))
    assert own[0][0] == "code" and own[0][-3:] == ["current tier", "tier: 利润", "contacts"]
    assert [r[0] for r in own[1:]] == ["S1", "S2"]
    assert own[1][own[0].index("price_coefficient")] == 1.05

    client.force_login(analyst)
    rows = read_xlsx(client.get(url, {"format": "xlsx", "industry": "软件", "sort": "-code"}))
    assert "联系人" not in rows[0] and "contacts" not in rows[0]
    assert [r[0] for r in rows[1:]] == ["S1", "M1"]
    assert all("13800000000" not in str(cell) for row in rows for cell in row)
    searched = read_csv(client.get(url, {"format": "csv", "q": "北方"}))
    assert [r[0] for r in searched[1:]] == ["S2"]
