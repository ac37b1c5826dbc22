"""The portfolio report's outputs: terminal (rich), one self-contained HTML page, Excel.

The figures are checked in test_reports.py; here, that each output shows them, in both
languages, and that files are written whole or not at all.
"""

from __future__ import annotations

import re

import openpyxl
import pyarrow as pa
import pytest
from rich.console import Console
from test_reports import TIERS, previous_sample, sample

from tiering.exceptions import OutputError
from tiering.reports import (
    build_report,
    compare,
    render_comparison,
    render_html,
    render_terminal,
    sheet_names,
    write_html,
    write_xlsx,
)
from tiering.reports import workbook as workbook_module
from tiering.reports.labels import LABELS


@pytest.fixture
def report():
    return build_report(sample(), TIERS, previous=previous_sample())


def terminal_text(report, lang: str, **kwargs) -> str:
    console = Console(record=True, width=140, color_system=None)
    render_terminal(report, console, lang, **kwargs)
    return console.export_text()


def test_labels_have_the_same_keys_in_both_languages():
    """Given the label dictionaries
    When their keys are compared
    Then every English label has its Chinese counterpart and the other way round."""
    assert set(LABELS["en"]) == set(LABELS["zh"])


def test_terminal_in_english(report):
    """Given the sample report
    When printed in English
    Then the verdict, the tier table, the concentration figures and the moves appear."""
    text = terminal_text(report, "en")
    assert "Not worth it" in text
    assert "Customer portfolio report" in text
    assert "Only 10 customers" in text
    assert "2,258.5" in text  # HHI
    assert "40.0%" in text  # C01's share
    assert "Customers holding 10% or more of revenue" in text
    assert "Upgrade candidates: the top 20% by profit within B" in text
    assert re.search(r"C10\s+C\s+15\.00\s+-7\.00", text)  # the worst loss-maker of C
    assert "Upgrades" in text and "Downgrades" in text


def test_terminal_in_chinese_and_long_lists(report):
    """Given the sample report
    When printed in Chinese with at most one row per list
    Then the labels are Chinese and each longer list says how many more there are."""
    text = terminal_text(report, "zh", max_rows=1)
    assert "客户组合分析报告" in text
    assert "不值得分级" in text
    assert "等级分布" in text
    assert "……另有 1 位" in text
    assert "合计" in text


def test_html_is_self_contained(report, tmp_path):
    """Given the sample report
    When written as HTML
    Then the page inlines plotly.js, loads nothing from elsewhere, and has a div per chart
    (distribution, Pareto, top 10, migration)."""
    path = write_html(report, tmp_path / "report.html", "en")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "plotly.js v" in page[:5000]
    assert not re.search(r"<script[^>]+src=", page)
    assert "<link" not in page
    assert "cdn.plot.ly" not in page.split("</head>")[1]
    for chart in ("chart-distribution", "chart-pareto", "chart-top10", "chart-migration"):
        assert f'id="{chart}"' in page
    assert '<html lang="en">' in page
    assert "Not worth it" in page
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_html_in_chinese_without_previous(tmp_path):
    """Given a report without a previous output
    When written as HTML in Chinese
    Then the labels are Chinese and there is no migration chart or section."""
    page = render_html(build_report(sample(), TIERS), "zh")
    assert '<html lang="zh-Hans">' in page
    assert "客户组合分析报告" in page
    assert "等级分布" in page
    assert 'id="chart-migration"' not in page
    assert 'id="migration"' not in page


def test_html_escapes_customer_text():
    """Given a customer whose name holds markup
    When the page is rendered
    Then the name is escaped and cannot close the script or inject an element."""
    table = sample(customer_name=["<b>x</b></script>"] + ["n"] * 9)
    page = render_html(build_report(table, TIERS))
    assert "&lt;b&gt;x&lt;/b&gt;&lt;/script&gt;" in page
    assert "<b>x</b>" not in page
    body = page.split("</head>")[1]
    assert body.count("</script>") == 1  # only the end of the chart script


def test_html_with_a_comparison(tmp_path):
    """Given a report carrying a what-if comparison
    When written as HTML
    Then it has the what-if section with its heatmap."""
    proposed = pa.table(
        {
            "customer_id": sample().column("customer_id"),
            "tier": ["A", "B", "A", "B", "B", "C", "B", "C", "C", "C"],
        }
    )
    c = compare(sample(), proposed, TIERS, TIERS)
    page = render_html(build_report(sample(), TIERS, comparison=c))
    assert 'id="chart-comparison"' in page
    assert "What-if" in page


def test_terminal_comparison():
    """Given a what-if comparison with one customer up and three down
    When it is printed on its own, in Chinese
    Then the change counts by direction and the matrix appear."""
    proposed = pa.table(
        {
            "customer_id": sample().column("customer_id"),
            "tier": ["A", "B", "A", "B", "B", "C", "B", "C", "C", "C"],
        }
    )
    console = Console(record=True, width=120, color_system=None)
    render_comparison(compare(sample(), proposed, TIERS, TIERS), console, "zh")
    text = console.export_text()
    assert "模拟：新规则与现行规则对比" in text
    assert re.search(r"等级变化\s+4\s+380\.00", text)
    assert re.search(r"升级\s+1\s+100\.00", text)
    assert re.search(r"降级\s+3\s+280\.00", text)
    assert "现行规则等级 \\ 新规则等级" in text


def test_html_into_a_missing_folder_fails_cleanly(report, tmp_path):
    """Given a target in a folder that does not exist
    When the HTML is written
    Then an OutputError says so and nothing is created."""
    with pytest.raises(OutputError, match="does not exist"):
        write_html(report, tmp_path / "nope" / "report.html")
    assert list(tmp_path.iterdir()) == []


def test_xlsx_sheets_and_values(report, tmp_path):
    """Given the sample report with a previous quarter
    When written to Excel in English
    Then openpyxl reads one sheet per section, with the figures as numbers."""
    path = write_xlsx(report, tmp_path / "report.xlsx", "en")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Summary",
        "Tiers",
        "Concentration",
        "Pareto",
        "Follow-ups",
        "Churn",
        "Migration",
    ]
    assert book.sheetnames == sheet_names(report, "en")
    summary = {row[0]: row[1:] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Verdict"][0] == "Not worth it"
    assert summary["Customers with 2+ orders"][0] == 5
    assert summary["Gini coefficient"][0] == pytest.approx(0.517)
    tiers = {row[0]: row for row in book["Tiers"].iter_rows(values_only=True) if row[0]}
    assert tiers["A"][1:5] == (2, pytest.approx(0.2), pytest.approx(600), pytest.approx(0.6))
    assert tiers["Total"][1] == 10
    values = [c for row in book["Concentration"].iter_rows(values_only=True) for c in row]
    assert pytest.approx(2258.5) in values
    pareto = [row for row in book["Pareto"].iter_rows(values_only=True) if row[0] is not None]
    assert len([r for r in pareto if isinstance(r[0], int | float)]) == 101
    migration = [c for row in book["Migration"].iter_rows(values_only=True) for c in row]
    assert "gone" in migration and "new" in migration
    follow = [row[0] for row in book["Follow-ups"].iter_rows(values_only=True)]
    assert "C04" in follow and "C10" in follow
    assert list(tmp_path.iterdir()) == [path]


def test_xlsx_in_chinese_without_previous(tmp_path):
    """Given a report without a previous output
    When written to Excel in Chinese
    Then the sheets have Chinese names and there is no migration sheet."""
    report = build_report(sample(), TIERS, lang="zh")
    path = write_xlsx(report, tmp_path / "报告.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["概览", "等级分布", "集中度", "帕累托曲线", "跟进名单", "流失预警"]
    assert book["概览"]["A1"].value == "客户组合分析报告"


def test_xlsx_lists_can_be_capped(report, tmp_path):
    """Given lists longer than max_rows=1
    When the workbook is written
    Then each list holds one customer and says how many more were left out; the
    summary tables are whole."""
    path = write_xlsx(report, tmp_path / "report.xlsx", "en", max_rows=1)
    book = openpyxl.load_workbook(path)
    follow = [row[0] for row in book["Follow-ups"].iter_rows(values_only=True)]
    assert "C04" in follow and "C05" not in follow
    assert "… and 1 more, not written." in follow
    tiers = [row[0] for row in book["Tiers"].iter_rows(values_only=True)]
    assert {"A", "B", "C", "Total"} <= set(tiers)


def test_xlsx_failure_leaves_no_file(report, tmp_path, monkeypatch):
    """Given a workbook whose writing fails halfway
    When write_xlsx is called
    Then the error propagates and neither the target nor a temporary file remains."""

    def broken(book, *args):
        book.add_worksheet("half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(workbook_module, "_fill", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_xlsx(report, tmp_path / "report.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_outputs_of_edge_cases(tmp_path):
    """Given one customer, then customers without any revenue
    When every output is written
    Then nothing fails and the workbook opens."""
    one = pa.table(
        {
            "customer_id": ["C01"],
            "tier": ["A"],
            "revenue": [500.0],
            "profit": [-5.0],
            "orders": [1],
        }
    )
    zero = pa.table(
        {
            "customer_id": ["a", "b"],
            "tier": ["A", "C"],
            "revenue": [0.0, 0.0],
            "profit": [0.0, 0.0],
            "orders": [0, 0],
        }
    )
    for name, table in (("one", one), ("zero", zero)):
        report = build_report(table, TIERS)
        terminal_text(report, "zh")
        write_html(report, tmp_path / f"{name}.html")
        write_xlsx(report, tmp_path / f"{name}.xlsx")
        assert openpyxl.load_workbook(tmp_path / f"{name}.xlsx").sheetnames[0] == "Summary"
    page = (tmp_path / "zero.html").read_text(encoding="utf-8")
    assert 'id="chart-top10"' not in page  # no customer with revenue to show
