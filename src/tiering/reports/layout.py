"""The report as sections of labelled tables, in one language: what every writer lays out.

The terminal, HTML and Excel writers all render :func:`sections`, so the three show the
same rows under the same headings. Cells keep their raw values with a ``kind`` (money,
share, count...) so that Excel gets numbers and the text outputs format them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tiering.reports.labels import in_sentence, label, money, number, pct
from tiering.reports.portfolio import GONE, NEW, Candidate, Comparison, Migration, Move
from tiering.reports.report import Report

#: Kinds of cells: how a value is formatted.
KINDS = ("text", "int", "money", "share", "number", "index", "days", "status")


@dataclass(frozen=True)
class Cell:
    """A value with its own kind, in a column of mixed kinds."""

    value: Any
    kind: str


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = "text"
    optional: bool = False  # dropped when every value is empty


@dataclass
class Block:
    """A table: a caption, columns and every row (writers may show only the first ones).

    ``detail`` blocks are long data listings (the Pareto points) that only the workbook
    shows in full; ``empty`` is the sentence shown instead of a table without rows;
    ``total_last`` marks the last row as a total; ``listing`` marks a list of customers,
    of which the text outputs show the first rows."""

    key: str
    caption: str | None
    columns: list[Column]
    rows: list[list[Any]]
    empty: str | None = None
    detail: bool = False
    total_last: bool = False
    listing: bool = False  # a list of customers: text outputs show the first rows only

    def __post_init__(self) -> None:
        keep = [
            j
            for j, c in enumerate(self.columns)
            if not c.optional or any(_raw(r[j]) is not None for r in self.rows)
        ]
        if len(keep) != len(self.columns):
            self.columns = [self.columns[j] for j in keep]
            self.rows = [[r[j] for j in keep] for r in self.rows]


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    verdict: str | None = None  # the assessment's verdict key


def _raw(value: Any) -> Any:
    return value.value if isinstance(value, Cell) else value


def cell_kind(column: Column, value: Any) -> str:
    return value.kind if isinstance(value, Cell) else column.kind


def fmt(value: Any, kind: str, lang: str) -> str:
    """A cell as text."""
    value = _raw(value)
    if value is None:
        return "—"
    if kind == "money":
        return money(value)
    if kind == "share":
        return pct(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "number":
        return number(value, 3)
    if kind == "index":
        return number(round(float(value), 1), 1)
    if kind == "days":
        return number(round(float(value), 1), 1)
    if kind == "status":
        return label(value, lang)
    return str(value)


def sections(report: Report, lang: str) -> list[Section]:
    """Every section of ``report`` in ``lang``, in reading order."""
    out = [
        _assessment(report, lang),
        _distribution(report, lang),
        _concentration(report, lang),
        _pareto(report, lang),
        _follow_ups(report, lang),
        _churn(report, lang),
    ]
    if report.migration is not None:
        out.append(_migration(report, lang))
    if report.comparison is not None:
        out.append(_comparison(report, lang))
    return out


def _l(lang: str):
    return lambda key: label(key, lang)


def _assessment(report: Report, lang: str) -> Section:
    L = _l(lang)
    a = report.assessment
    conditions = Block(
        "conditions",
        None,
        [
            Column("condition", L("condition")),
            Column("status", L("status"), "status"),
            Column("explanation", L("explanation")),
        ],
        [[L("cond_" + c.key), c.status, c.text(lang)] for c in a.conditions],
    )
    kinds = {
        "customers": "int",
        "buyers": "int",
        "repeat_customers": "int",
        "repeat_rate": "share",
        "positive_customers": "int",
        "total_value": "money",
        "gini": "number",
        "top20_share": "share",
        "top1_share": "share",
        "top1_customer": "text",
    }
    measures = Block(
        "measures",
        None,
        [Column("measure", L("measure")), Column("value", L("value"))],
        [
            [L(r["measure"]), Cell(r["value"], kinds[r["measure"]])]
            for r in a.to_rows()
            if r["measure"] in kinds
        ],
    )
    return Section(
        "assessment",
        L("section_assessment"),
        [label("verdict_" + a.verdict, lang)],
        [conditions, measures],
        verdict=a.verdict,
    )


def _distribution(report: Report, lang: str) -> Section:
    L = _l(lang)
    columns = [
        Column("tier", L("tier")),
        Column("customers", L("customers"), "int"),
        Column("customers_share", L("customers_share"), "share"),
        Column("revenue", L("revenue"), "money"),
        Column("revenue_share", L("revenue_share"), "share"),
        Column("profit", L("profit"), "money"),
        Column("profit_share", L("profit_share"), "share"),
    ]
    rows = [
        [
            r["tier"] if r["tier"] is not None else L("total"),
            r["customers"],
            r["customers_share"],
            float(r["revenue"]),
            r["revenue_share"],
            float(r["profit"]),
            r["profit_share"],
        ]
        for r in report.distribution
    ]
    return Section(
        "distribution",
        L("section_distribution"),
        [],
        [Block("distribution", None, columns, rows, total_last=True)],
    )


def _share_columns(L) -> list[Column]:
    return [
        Column("customer_id", L("customer_id")),
        Column("name", L("name"), optional=True),
        Column("tier", L("tier"), optional=True),
        Column("revenue", L("revenue"), "money"),
        Column("share", L("share"), "share"),
    ]


def _concentration(report: Report, lang: str) -> Section:
    L = _l(lang)
    c = report.concentration
    tops = Block(
        "top_shares",
        None,
        [
            Column("top", L("top")),
            Column("revenue_share", L("revenue_share"), "share"),
            Column("profit_share", L("profit_share"), "share", optional=True),
        ],
        [
            [L("top_n").format(n=r["top"]), r["revenue_share"], r["profit_share"]]
            for r in c.to_rows()
        ]
        + [[L("hhi"), Cell(c.hhi, "index"), None]],
    )
    share = pct(c.alert_share, 0)
    alerts = Block(
        "alerts",
        L("alerts").format(share=share),
        _share_columns(L),
        [list(r.values()) for r in c.alert_rows()],
        empty=L("no_alerts").format(share=share),
        listing=True,
    )
    top10 = Block(
        "top10",
        L("top10_chart"),
        [Column("rank", L("rank"), "int"), *_share_columns(L)],
        [[k, *r.values()] for k, r in enumerate(c.top_rows(), start=1)],
        empty=L("none"),
        listing=True,
    )
    return Section("concentration", L("section_concentration"), [], [tops, alerts, top10])


def _pareto(report: Report, lang: str) -> Section:
    L = _l(lang)
    lz = report.lorenz
    value = in_sentence(lz.value, lang)
    paragraphs = []
    if lz.share_for_80 is not None:
        paragraphs.append(
            L("pareto_reading").format(
                top20=pct(report.assessment.top20_share, 0),
                for80=pct(lz.share_for_80, 0),
                value=value,
            )
        )
    paragraphs.append(L("pareto_note").format(value=value))
    points = Block(
        "points",
        L("pareto_curve"),
        [
            Column("customer_share", L("customer_share"), "share"),
            Column("value_share", L("value_share"), "share"),
        ],
        [[r["customer_share"], r["value_share"]] for r in lz.to_rows()],
        detail=True,
    )
    return Section("pareto", L("section_pareto"), paragraphs, [points])


def _candidate_rows(items: tuple[Candidate, ...]) -> list[list]:
    return [[c.customer_id, c.name, c.tier, c.value, c.revenue, c.profit] for c in items]


def _follow_ups(report: Report, lang: str) -> Section:
    L = _l(lang)
    f = report.follow_ups
    metric = label(f.metric, lang)
    head = [
        Column("customer_id", L("customer_id")),
        Column("name", L("name"), optional=True),
        Column("tier", L("tier")),
    ]
    tail = [
        Column("revenue", L("revenue"), "money", optional=True),
        Column("profit", L("profit"), "money", optional=True),
    ]

    def rows(items: tuple[Candidate, ...], with_value: bool) -> list[list]:
        return [
            [c.customer_id, c.name, c.tier, *([c.value] if with_value else []), c.revenue, c.profit]
            for c in items
        ]

    blocks = []
    if f.middle_tiers:
        # the metric gets its own column unless it is already one of revenue and profit
        own = f.metric not in ("revenue", "profit")
        value_col = [Column("value", metric, "number")] if own else []
        blocks.append(
            Block(
                "upgrade_candidates",
                L("upgrade_candidates").format(
                    metric=in_sentence(f.metric, lang), tiers="/".join(f.middle_tiers)
                ),
                [*head, *value_col, *tail],
                rows(f.upgrade_candidates, own),
                empty=L("none"),
                listing=True,
            )
        )
    for key, items, caption in (
        ("loss_makers", f.loss_makers, L("loss_makers").format(tier=f.last_tier or "")),
        ("other_loss_makers", f.other_loss_makers, L("other_loss_makers")),
    ):
        blocks.append(
            Block(key, caption, [*head, *tail], rows(items, False), empty=L("none"), listing=True)
        )
    paragraphs = [] if f.middle_tiers else [L("no_middle_tiers")]
    return Section("follow_ups", L("section_follow_ups"), paragraphs, blocks)


def _churn(report: Report, lang: str) -> Section:
    L = _l(lang)
    ch = report.churn
    who = []
    if ch.top_tiers:
        who.append(L("churn_who_tiers").format(tiers="/".join(ch.top_tiers)))
    if ch.min_revenue is not None:
        who.append(
            L("churn_who_revenue").format(
                column=L(ch.revenue_column), amount=money(ch.min_revenue, 0)
            )
        )
    paragraphs = [L("churn_intro").format(who=", ".join(who) or "—", threshold=ch.threshold)]
    for criterion, missing in ch.skipped:
        paragraphs.append(
            L("churn_skipped").format(criterion=L("crit_" + criterion), columns=", ".join(missing))
        )

    def why(a) -> str:
        parts = []
        if "p_alive" in a.reasons:
            parts.append(L("reason_p_alive").format(p=number(a.p_alive, 2), threshold=ch.threshold))
        if "overdue" in a.reasons:
            parts.append(
                L("reason_overdue").format(
                    recency=number(a.recency_days, 0), gap=number(round(a.usual_gap_days, 1), 1)
                )
            )
        return "; ".join(parts)

    columns = [
        Column("customer_id", L("customer_id")),
        Column("name", L("name"), optional=True),
        Column("tier", L("tier"), optional=True),
        Column("value", L(ch.value_column), "money"),
        Column("p_alive", L("p_alive"), "number", optional=True),
        Column("recency_days", L("recency_days"), "int", optional=True),
        Column("usual_gap_days", L("usual_gap_days"), "days", optional=True),
        Column("why", L("why")),
    ]
    rows = [
        [
            a.customer_id,
            a.name,
            a.tier,
            a.value,
            a.p_alive,
            a.recency_days,
            a.usual_gap_days,
            why(a),
        ]
        for a in ch.at_risk
    ]
    block = Block("at_risk", None, columns, rows, empty=L("no_churn"), listing=True)
    return Section("churn", L("section_churn"), paragraphs, [block])


def visible_rows(m: Migration) -> list[int]:
    """The rows of a matrix worth showing: every tier, and ``new`` when someone is new."""
    return [i for i, r in enumerate(m.rows) if r != NEW or any(m.counts[i])]


def visible_columns(m: Migration) -> list[int]:
    """The columns worth showing: every tier, and ``gone`` when someone has gone."""
    return [j for j, c in enumerate(m.columns) if c != GONE or any(r[j] for r in m.counts)]


def matrix_blocks(m: Migration, lang: str, row_title: str, col_title: str) -> list[Block]:
    """The counts and the revenue of a migration matrix as two tables."""
    L = _l(lang)
    shown, keep = visible_columns(m), set(visible_rows(m))
    heads = [L(m.columns[j]) if m.columns[j] in (NEW, GONE) else m.columns[j] for j in shown]
    corner = row_title + " \\ " + col_title
    blocks = []
    for key, caption_key, values, kind in (
        ("counts", "matrix_counts", m.counts, "int"),
        ("revenue", "matrix_revenue", m.revenue, "money"),
    ):
        columns = [Column("from", corner)] + [
            Column("to_" + str(j), h, kind) for j, h in enumerate(heads)
        ]
        rows = [
            [L(r) if r in (NEW, GONE) else r, *(values[i][j] for j in shown)]
            for i, r in enumerate(m.rows)
            if i in keep
        ]
        caption = L(caption_key).format(rows=row_title, columns=col_title)
        blocks.append(Block("matrix_" + key, caption, columns, rows))
    return blocks


def _move_block(key: str, caption: str, moves: tuple[Move, ...], lang: str) -> Block:
    L = _l(lang)
    return Block(
        key,
        caption,
        [
            Column("customer_id", L("customer_id")),
            Column("name", L("name"), optional=True),
            Column("from", L("from")),
            Column("to", L("to")),
            Column("revenue", L("revenue"), "money"),
        ],
        [[m.customer_id, m.name, m.before, m.after, m.revenue] for m in moves],
        empty=L("none"),
        listing=True,
    )


def _migration(report: Report, lang: str) -> Section:
    assert report.migration is not None
    return migration_section(report.migration, lang)


def migration_section(m: Migration, lang: str) -> Section:
    """The migration section on its own (``tiering migration``)."""
    L = _l(lang)
    blocks = matrix_blocks(m, lang, L("previous_tier"), L("current_tier"))
    blocks.append(_move_block("upgrades", L("upgrades"), m.upgrades, lang))
    blocks.append(_move_block("downgrades", L("downgrades"), m.downgrades, lang))
    return Section("migration", L("section_migration"), [L("migration_note")], blocks)


def _comparison(report: Report, lang: str) -> Section:
    assert report.comparison is not None
    return comparison_section(report.comparison, lang)


def comparison_section(c: Comparison, lang: str) -> Section:
    """The what-if section on its own (``tiering simulate``)."""
    L = _l(lang)
    summary = Block(
        "changes",
        None,
        [
            Column("direction", L("direction")),
            Column("customers", L("customers"), "int"),
            Column("revenue", L("revenue"), "money"),
        ],
        [[L(r["direction"]), r["customers"], r["revenue"]] for r in c.to_rows()],
    )
    blocks = [summary, *matrix_blocks(c.matrix, lang, L("current_rules_tier"), L("proposed_tier"))]
    return Section("comparison", L("section_compare"), [L("compare_note")], blocks)
