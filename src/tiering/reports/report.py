"""The portfolio report: every analysis of :mod:`tiering.reports.portfolio` in one bundle.

:func:`build_report` computes the sections once; the writers (terminal, HTML, Excel) only
lay them out, so the three outputs always show the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tiering.output import summarise
from tiering.reports.labels import lang_key
from tiering.reports.portfolio import (
    Assessment,
    ChurnWarning,
    Comparison,
    Concentration,
    FollowUps,
    Lorenz,
    Migration,
    as_arrow,
    assess,
    churn_warning,
    concentration,
    follow_ups,
    lorenz,
    migration,
)


@dataclass(frozen=True)
class Report:
    """A customer portfolio report.

    Attributes
    ----------
    title, lang, as_of
        The heading (None: "Customer portfolio report" in the output's language), the
        default language of the outputs (``"en"``/``"zh"``), the evaluation date if known.
    tier_names
        The tiers, best first.
    distribution
        :func:`tiering.summarise` rows: customers, revenue, profit and their shares per
        tier, then a total row (tier None).
    assessment, concentration, lorenz, follow_ups, churn
        The analyses, see :mod:`tiering.reports.portfolio`.
    migration
        Previous → current tier, when a previous output was given.
    comparison
        Current → proposed rules, when the report is about a what-if.
    """

    title: str | None
    lang: str
    tier_names: tuple[str, ...]
    customers: int
    distribution: tuple[dict, ...]
    assessment: Assessment
    concentration: Concentration
    lorenz: Lorenz
    follow_ups: FollowUps
    churn: ChurnWarning
    migration: Migration | None = None
    comparison: Comparison | None = None
    as_of: dt.date | None = None


def build_report(
    results,
    tier_names: Sequence[str],
    *,
    previous=None,
    alert_share: float = 0.10,
    lang: str = "en",
    title: str | None = None,
    as_of: dt.date | None = None,
    metric: str = "profit",
    p_alive: str | Mapping[str, float] | None = None,
    churn_threshold: float = 0.5,
    top_tiers: int = 1,
    min_revenue: float | None = None,
    comparison: Comparison | None = None,
) -> Report:
    """Compute every section of the portfolio report on one results table.

    Parameters
    ----------
    results
        One row per customer (Arrow table, pandas DataFrame, Ibis table or an
        :class:`~tiering.Evaluation`) with at least ``customer_id, tier, revenue, profit,
        orders``; ``recency_days``, ``tenure_days``, ``lifetime_orders``,
        ``lifetime_revenue``, ``p_alive`` and ``clv`` enable more of the churn warning.
    tier_names
        The tiers, best first (``evaluation.rules.tier_names``).
    previous
        An earlier output (``customer_id, tier, revenue``) for the migration section: a
        table, or the path of a file written by ``tiering evaluate --out``.
    alert_share
        Concentration alert: customers holding this share of revenue or more.
    lang
        ``"en"`` or ``"zh"``: the default language of the outputs and of the title.
    title
        The heading (default: "Customer portfolio report" / 客户组合分析报告).
    as_of
        The evaluation date, shown in the heading (``evaluation.as_of``).
    metric
        The metric of the upgrade candidates (:func:`~tiering.reports.follow_ups`).
    p_alive, churn_threshold, top_tiers, min_revenue
        Passed to :func:`~tiering.reports.churn_warning` (``threshold`` there).
    comparison
        A :func:`~tiering.reports.compare` result to show as a what-if section.
    """
    table = as_arrow(results)
    names = list(tier_names)
    if as_of is None:
        as_of = getattr(results, "as_of", None)
    return Report(
        title=title,
        lang=lang_key(lang),
        tier_names=tuple(names),
        customers=table.num_rows,
        distribution=tuple(summarise(table, names)),
        assessment=assess(table),
        concentration=concentration(table, alert_share=alert_share),
        lorenz=lorenz(table),
        follow_ups=follow_ups(table, names, metric=metric),
        churn=churn_warning(
            table,
            p_alive=p_alive,
            threshold=churn_threshold,
            top_tiers=top_tiers,
            min_revenue=min_revenue,
            tier_names=names,
        ),
        migration=migration(read_output(previous), table, names) if previous is not None else None,
        comparison=comparison,
        as_of=as_of,
    )


def read_output(source) -> pa.Table:
    """An output of ``tiering evaluate`` as an Arrow table: a path (CSV, Parquet, Excel;
    numbers written as text are parsed where they are used) or a table, passed through."""
    if not isinstance(source, str | Path):
        return as_arrow(source)
    from tiering import data

    src, raw = data.read_table(source, "previous")
    try:
        return raw.to_pyarrow()
    finally:
        src.close()
