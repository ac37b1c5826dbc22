"""The portfolio report on a terminal, as rich tables."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tiering.reports.labels import label, lang_key
from tiering.reports.layout import (
    Block,
    Section,
    cell_kind,
    comparison_section,
    fmt,
    migration_section,
    sections,
)
from tiering.reports.portfolio import Comparison, Migration
from tiering.reports.report import Report

VERDICT_STYLE = {"worth it": "bold green", "marginal": "bold yellow", "not worth it": "bold red"}
STATUS_STYLE = {"met": "green", "partly": "yellow", "not_met": "red"}
NUMERIC = ("int", "money", "share", "number", "index", "days")


def render_terminal(
    report: Report, console: Console, lang: str | None = None, *, max_rows: int = 10
) -> None:
    """Print ``report`` to ``console`` in ``lang`` (default: the report's language).

    Long lists show their first ``max_rows`` rows and say how many more there are; the
    Pareto points are left to the HTML and Excel reports (the curve is summed up in one
    sentence)."""
    lang = lang_key(lang or report.lang)
    console.rule(Text(report.title or label("title", lang), style="bold"))
    line = label("customers_count", lang).format(customers=f"{report.customers:,}")
    if report.as_of is not None:
        line = label("customers_as_of", lang).format(
            customers=f"{report.customers:,}", as_of=report.as_of.isoformat()
        )
    console.print(Text(line, style="dim"))
    for section in sections(report, lang):
        console.print()
        _section(console, section, lang, max_rows)


def render_comparison(
    comparison: Comparison, console: Console, lang: str = "en", *, max_rows: int = 10
) -> None:
    """Print a what-if :func:`~tiering.reports.compare` result: customers and revenue
    changing tier by direction, and the current → proposed matrices."""
    _section(console, comparison_section(comparison, lang_key(lang)), lang_key(lang), max_rows)


def render_migration(
    migration: Migration, console: Console, lang: str = "en", *, max_rows: int = 10
) -> None:
    """Print a :func:`~tiering.reports.migration` result: the from → to matrices of
    customers and revenue, and who moved up and down."""
    _section(console, migration_section(migration, lang_key(lang)), lang_key(lang), max_rows)


def _section(console: Console, section: Section, lang: str, max_rows: int) -> None:
    console.print(Text(section.title, style="bold underline"))
    if section.verdict is not None:
        console.print(
            Panel(
                Text(label(section.verdict, lang), style=VERDICT_STYLE[section.verdict]),
                expand=False,
                box=box.ROUNDED,
            )
        )
    for paragraph in section.paragraphs:
        console.print(Text(paragraph))
    for block in section.blocks:
        if not block.detail:
            _block(console, block, lang, max_rows)


def _block(console: Console, block: Block, lang: str, max_rows: int) -> None:
    if block.caption:
        console.print(Text(block.caption, style="italic"))
    if not block.rows:
        if block.empty:
            console.print(Text(block.empty, style="dim"))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in block.columns:
        table.add_column(Text(column.header), justify="right" if column.kind in NUMERIC else "left")
    shown = block.rows[:max_rows] if block.listing else block.rows
    for i, row in enumerate(shown):
        cells = []
        for column, value in zip(block.columns, row, strict=True):
            kind = cell_kind(column, value)
            text = Text(fmt(value, kind, lang))
            if kind == "status":
                text.stylize(STATUS_STYLE.get(str(getattr(value, "value", value)), ""))
            cells.append(text)
        is_total = block.total_last and i == len(block.rows) - 1
        before_total = block.total_last and i == len(block.rows) - 2
        table.add_row(*cells, style="bold" if is_total else None, end_section=before_total)
    console.print(table)
    if len(block.rows) > len(shown):
        more = label("more_rows", lang).format(n=f"{len(block.rows) - max_rows:,}")
        console.print(Text(more, style="dim"))
