"""The portfolio report as an Excel workbook: one sheet per section, every row in full.

Numbers stay numbers (money with two decimals, shares as percentages), so the sheets can
be sorted, filtered and charted further. Written atomically.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter

from tiering.output import write_atomically
from tiering.reports.labels import label, lang_key
from tiering.reports.layout import Block, Cell, cell_kind, sections
from tiering.reports.report import Report

#: The sheet of each section (labels ``sheet_<name>``).
SHEETS = {
    "assessment": "sheet_summary",
    "distribution": "sheet_distribution",
    "concentration": "sheet_concentration",
    "pareto": "sheet_pareto",
    "follow_ups": "sheet_follow_ups",
    "churn": "sheet_churn",
    "migration": "sheet_migration",
    "comparison": "sheet_comparison",
}
NUMBER_FORMATS = {
    "int": "#,##0",
    "money": "#,##0.00",
    "share": "0.0%",
    "number": "0.000",
    "index": "#,##0.0",
    "days": "0.0",
}
VERDICT_COLOURS = {"worth it": "#2F855A", "marginal": "#B7791F", "not worth it": "#C53030"}
EXCEL_MAX_ROWS = 1_048_576


def sheet_names(report: Report, lang: str | None = None) -> list[str]:
    """The names of the sheets :func:`write_xlsx` writes for ``report``, in order."""
    lang = lang_key(lang or report.lang)
    return [label(SHEETS[s.key], lang) for s in sections(report, lang)]


def write_xlsx(
    report: Report, path: str | Path, lang: str | None = None, *, max_rows: int | None = None
) -> Path:
    """Write ``report`` to an Excel workbook at ``path``, one sheet per section, atomically.

    Sheets (English / Chinese): Summary/概览 (the verdict, the three conditions, the
    measures), Tiers/等级分布 (with a chart), Concentration/集中度, Pareto/帕累托曲线 (the
    curve's points, with a chart), Follow-ups/跟进名单, Churn/流失预警, then
    Migration/等级迁移 with a previous output and What-if/模拟对比 with a comparison.
    Lists of customers are complete unless ``max_rows`` caps each of them (a line then
    says how many more there are); a sheet stops at Excel's 1,048,576 rows. Returns the
    path."""
    lang = lang_key(lang or report.lang)

    def write(tmp: str) -> None:
        book = xlsxwriter.Workbook(tmp, {"nan_inf_to_errors": True})
        try:
            _fill(book, report, lang, max_rows)
        finally:
            book.close()

    return write_atomically(path, write)


@dataclass
class _Styles:
    """The workbook's cell formats."""

    numbers: dict
    totals: dict
    text: Any
    wrap: Any
    title: Any
    heading: Any
    header: Any
    note: Any
    status: dict
    date: Any
    base: dict

    @classmethod
    def of(cls, book: xlsxwriter.Workbook, lang: str) -> _Styles:
        base = {"font_name": "Microsoft YaHei" if lang == "zh" else "Calibri", "font_size": 10}

        def style(**props):
            return book.add_format({**base, **props})

        return cls(
            numbers={kind: style(num_format=f) for kind, f in NUMBER_FORMATS.items()},
            totals={
                kind: style(bold=True, top=1, num_format=f)
                for kind, f in {**NUMBER_FORMATS, "text": "@"}.items()
            },
            text=style(),
            wrap=style(text_wrap=True, valign="top"),
            title=style(bold=True, font_size=16),
            heading=style(bold=True, font_size=12, font_color="#2B6CB0"),
            header=style(bold=True, bg_color="#EDF2F7", bottom=1),
            note=style(italic=True, font_color="#4A5568"),
            status={
                s: style(bold=True, font_color=c)
                for s, c in (("met", "#2F855A"), ("partly", "#B7791F"), ("not_met", "#C53030"))
            },
            date=style(num_format="yyyy-mm-dd", align="left"),
            base=base,
        )


def _fill(book: xlsxwriter.Workbook, report: Report, lang: str, max_rows: int | None) -> None:
    styles = _Styles.of(book, lang)
    book.set_properties({"title": report.title or label("title", lang), "comments": "tiering"})
    for section in sections(report, lang):
        ws = book.add_worksheet(label(SHEETS[section.key], lang))
        widths: dict[int, float] = {}
        row = 0
        if section.key == "assessment":
            ws.write_string(row, 0, report.title or label("title", lang), styles.title)
            row += 1
            if report.as_of is not None:
                ws.write_string(row, 0, label("as_of", lang), styles.note)
                when = dt.datetime.combine(report.as_of, dt.time())
                ws.write_datetime(row, 1, when, styles.date)
                row += 1
            if section.verdict is not None:  # the assessment always has one
                verdict = book.add_format(
                    {**styles.base, "bold": True, "font_size": 14, "font_color": "#FFFFFF",
                     "bg_color": VERDICT_COLOURS[section.verdict]}
                )  # fmt: skip
                ws.write_string(row, 0, label("verdict", lang), styles.header)
                ws.write_string(row, 1, label(section.verdict, lang), verdict)
                row += 2
        else:
            ws.write_string(row, 0, section.title, styles.title)
            row += 2
        for paragraph in section.paragraphs:
            ws.write_string(row, 0, paragraph, styles.note)
            row += 1
        if section.paragraphs:
            row += 1
        for block in section.blocks:
            start = row + (1 if block.caption else 0) + 1  # the first row of data
            row = _block(ws, block, row, lang, styles, widths, max_rows)
            last = start + len(block.rows) - 1
            row += 1
            if block.key == "distribution" and block.rows:
                _distribution_chart(book, ws, lang, start, last - 1, block)  # not the total
                row += 18
            if block.key == "points" and block.rows:
                _pareto_chart(book, ws, lang, start, last)
        for col, width in widths.items():
            ws.set_column(col, col, min(max(width + 2, 8), 60))
        ws.hide_gridlines(2)


def _width(text: str) -> float:
    """Display width: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


#: Column widths are measured on the first rows of each table only.
WIDTH_SAMPLE = 200


def _block(
    ws, block: Block, row: int, lang: str, styles: _Styles, widths: dict, max_rows: int | None
) -> int:
    """Write ``block`` from ``row``; return the row after it."""
    if block.caption:
        ws.write_string(row, 0, block.caption, styles.heading)
        row += 1
    if not block.rows:
        if block.empty:
            ws.write_string(row, 0, block.empty, styles.note)
            row += 1
        return row
    for j, column in enumerate(block.columns):
        ws.write_string(row, j, column.header, styles.header)
        widths[j] = max(widths.get(j, 0), _width(column.header))
    row += 1
    room = EXCEL_MAX_ROWS - 1 - row  # keep one row for the "more" line
    shown = min(len(block.rows), room)
    if block.listing and max_rows is not None:
        shown = min(shown, max_rows)
    for i, values in enumerate(block.rows[:shown]):
        total = block.total_last and i == len(block.rows) - 1
        for j, (column, value) in enumerate(zip(block.columns, values, strict=True)):
            kind = cell_kind(column, value)
            raw = value.value if isinstance(value, Cell) else value
            if raw is None:
                continue
            if kind == "status":
                text = label(raw, lang)
                ws.write_string(row, j, text, styles.status.get(raw, styles.text))
            elif kind in NUMBER_FORMATS and isinstance(raw, int | float):
                ws.write_number(row, j, raw, (styles.totals if total else styles.numbers)[kind])
                text = f"{raw:,.2f}" if i < WIDTH_SAMPLE else ""
            else:
                text = str(raw)
                wrap = column.key == "explanation"
                style = styles.totals["text"] if total else styles.wrap if wrap else styles.text
                ws.write_string(row, j, text, style)
                text = text[:60]
            if i < WIDTH_SAMPLE:
                widths[j] = max(widths.get(j, 0), min(_width(text), 60))
        row += 1
    if shown < len(block.rows):
        more = label("more_rows_xlsx", lang).format(n=f"{len(block.rows) - shown:,}")
        ws.write_string(row, 0, more, styles.note)
        row += 1
    return row


def _distribution_chart(book, ws, lang: str, first: int, last: int, block: Block) -> None:
    """Column chart of the customers and revenue shares per tier, below the table."""
    keys = [c.key for c in block.columns]
    chart = book.add_chart({"type": "column"})
    for key, colour in (("customers_share", "#2B6CB0"), ("revenue_share", "#DD6B20")):
        j = keys.index(key)
        chart.add_series(
            {
                "name": label(key, lang),
                "categories": [ws.name, first, 0, last, 0],
                "values": [ws.name, first, j, last, j],
                "fill": {"color": colour},
                "data_labels": {"value": True, "num_format": "0%"},
            }
        )
    chart.set_title({"name": label("chart_distribution", lang)})
    chart.set_y_axis({"num_format": "0%", "major_gridlines": {"visible": False}})
    chart.set_legend({"position": "bottom"})
    ws.insert_chart(last + 3, 0, chart, {"x_scale": 1.3, "y_scale": 1.1})


def _pareto_chart(book, ws, lang: str, first: int, last: int) -> None:
    """The Pareto curve beside its points."""
    chart = book.add_chart({"type": "scatter", "subtype": "straight"})
    chart.add_series(
        {
            "name": label("pareto_curve", lang),
            "categories": [ws.name, first, 0, last, 0],
            "values": [ws.name, first, 1, last, 1],
            "line": {"color": "#2B6CB0", "width": 2.25},
        }
    )
    chart.set_title({"name": label("pareto_curve", lang)})
    chart.set_x_axis(
        {"num_format": "0%", "min": 0, "max": 1, "name": label("customer_share", lang)}
    )
    chart.set_y_axis({"num_format": "0%", "min": 0, "max": 1, "name": label("value_share", lang)})
    chart.set_legend({"none": True})
    ws.insert_chart(2, 4, chart, {"x_scale": 1.2, "y_scale": 1.2})
