"""The dashboard's figures: the engine's portfolio analytics (:mod:`tiering.reports`)
over the primary rule set's published results, as the viewer may see them.

The results are the latest *published* evaluation of the primary rule set (what the
customers' current tiers come from), its measures over the rule set's lookback as stored
in each result; the purchase rhythm for the churn warning (days since the last and the
first transaction, number of transactions up to the evaluation date) is the engine's own
metrics, computed in the database. Migration compares it
with the published evaluation before it.

Published results never change, so the figures for viewers who see every customer are
cached per pair of evaluations; an account manager's (a few hundred customers) are
computed on each visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet

from tiering.reports import layout, portfolio
from tiering_web.accounts.models import Role
from tiering_web.accounts.permissions import role
from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation, EvaluationResult
from tiering_web.rulesets.models import RuleSet

#: A customer holding more than this share of revenue is a concentration alert.
ALERT_SHARE = 0.10
CACHE_SECONDS = 3600
ALL_CUSTOMERS = frozenset({Role.ADMINISTRATOR, Role.MANAGER, Role.ANALYST})


@dataclass(frozen=True)
class Portfolio:
    """Everything the dashboard shows for one scope of customers."""

    evaluation: Evaluation
    previous: Evaluation | None
    tiers: list[dict[str, Any]]
    totals: dict[str, float]
    pareto: portfolio.Lorenz | None
    pareto_profit: portfolio.Lorenz | None
    concentration: portfolio.Concentration | None
    migration: portfolio.Migration | None
    churn: portfolio.ChurnWarning | None

    def migration_matrix(self) -> tuple[list[str], list[tuple[str, list[int]]]]:
        """(columns, [(row, counts)]) of the migration matrix, without an empty ``new``
        row or ``gone`` column."""
        m = self.migration
        if m is None:
            return [], []
        rows, columns = layout.visible_rows(m), layout.visible_columns(m)
        return [m.columns[j] for j in columns], [
            (m.rows[i], [m.counts[i][j] for j in columns]) for i in rows
        ]

    @property
    def top20_share(self) -> float | None:
        """The share of revenue held by the best 20% of customers."""
        return None if self.pareto is None else self.pareto.at(0.2)


def published(ruleset: RuleSet) -> list[Evaluation]:
    """The rule set's published evaluations, the latest (by as-of date) first."""
    return list(
        Evaluation.objects.filter(
            ruleset_version__ruleset=ruleset, status=Evaluation.Status.PUBLISHED
        )
        .select_related("ruleset_version", "published_by")
        .order_by("-as_of", "-published_at", "-id")[:2]
    )


def tier_order(evaluation: Evaluation) -> list[str]:
    """The tiers of the evaluation's rule set version, best first (empty for RFM)."""
    tiers = evaluation.ruleset_version.definition.get("tiers") or []
    return [t["name"] for t in tiers if isinstance(t, dict) and "name" in t]


def _results(evaluation: Evaluation, customers: QuerySet | None) -> pa.Table:
    """customer_id, name, tier, revenue, profit of the evaluation's results, without the
    customers deactivated since (their tiers ended with it)."""
    rows = EvaluationResult.objects.filter(
        evaluation=evaluation, customer__deactivated_at__isnull=True
    )
    if customers is not None:
        rows = rows.filter(customer__in=customers.values("pk"))
    ids, names, tiers, revenue, profit = [], [], [], [], []
    for code, name, tier, details in rows.values_list(
        "customer__code", "customer__name", "tier", "details"
    ).iterator(chunk_size=5000):
        details = details or {}
        ids.append(code)
        names.append(name)
        tiers.append(tier)
        revenue.append(_float(details.get("revenue")))
        profit.append(_float(details.get("profit")))
    return pa.table(
        {
            "customer_id": pa.array(ids, pa.string()),
            "name": pa.array(names, pa.string()),
            "tier": pa.array(tiers, pa.string()),
            "revenue": pa.array(revenue, pa.float64()),
            "profit": pa.array(profit, pa.float64()),
        }
    )


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rhythm(table: pa.Table, evaluation: Evaluation, customers: QuerySet | None) -> pa.Table:
    """Adds recency_days, tenure_days and lifetime_orders as of the evaluation's date, as
    the engine computes them (:func:`tiering.metrics.compute_metrics`, in the app's
    database through :mod:`tiering_web.evaluations.adapters`): one definition of the
    purchase rhythm for the dashboard, ``tiering report`` and the rules."""
    from tiering.metrics import compute_metrics
    from tiering_web.evaluations import adapters

    codes = table.column("customer_id").to_pylist()
    con = adapters.connect()
    try:
        people = adapters.customers_table(con).select("customer_id")
        if customers is not None:
            people = people.filter(people.customer_id.isin(codes))
        rhythm = compute_metrics(
            people,
            adapters.transactions_table(con),
            as_of=evaluation.as_of,
            needed={"recency_days", "tenure_days", "lifetime_orders"},
        )
        found = {
            row["customer_id"]: row
            for row in rhythm.select(
                "customer_id", "recency_days", "tenure_days", "lifetime_orders"
            )
            .to_pyarrow()
            .to_pylist()
        }
    finally:
        con.disconnect()
    empty = {"recency_days": None, "tenure_days": None, "lifetime_orders": 0}
    rows = [found.get(code, empty) for code in codes]
    return (
        table.append_column(
            "recency_days", pa.array([r["recency_days"] for r in rows], pa.float64())
        )
        .append_column("tenure_days", pa.array([r["tenure_days"] for r in rows], pa.float64()))
        .append_column(
            "lifetime_orders", pa.array([r["lifetime_orders"] or 0 for r in rows], pa.int64())
        )
    )


def _tiers(table: pa.Table, order: list[str]) -> tuple[list[dict], dict[str, float]]:
    """Per tier (best first): customers, revenue, profit and their shares."""
    sums: dict[str, list[float]] = {}
    for tier, revenue, profit in zip(
        table.column("tier").to_pylist(),
        table.column("revenue").to_pylist(),
        table.column("profit").to_pylist(),
        strict=True,
    ):
        s = sums.setdefault(tier, [0, 0.0, 0.0])
        s[0] += 1
        s[1] += revenue
        s[2] += profit
    known = {t: i for i, t in enumerate(order)}
    names = sorted(sums, key=lambda t: (known.get(t, len(known)), t))
    customers = sum(s[0] for s in sums.values())
    revenue = sum(s[1] for s in sums.values())
    profit = sum(s[2] for s in sums.values())
    rows = [
        {
            "tier": t,
            "customers": sums[t][0],
            "customer_share": sums[t][0] / customers if customers else 0.0,
            "revenue": sums[t][1],
            "revenue_share": sums[t][1] / revenue if revenue else 0.0,
            "profit": sums[t][2],
            "profit_share": sums[t][2] / profit if profit else 0.0,
        }
        for t in names
    ]
    return rows, {"customers": customers, "revenue": revenue, "profit": profit}


def build(ruleset: RuleSet, customers: QuerySet | None = None) -> Portfolio | None:
    """The dashboard of ``ruleset`` over ``customers`` (None: every customer); None when
    the rule set has no published evaluation yet."""
    evaluations = published(ruleset)
    if not evaluations:
        return None
    evaluation = evaluations[0]
    previous = evaluations[1] if len(evaluations) > 1 else None
    if customers is None:
        # a deactivation (or a reactivation) changes who is counted
        gone = Customer.objects.deactivated().aggregate(n=Count("pk"), last=Max("updated_at"))
        key = (
            "dashboard:"
            + ":".join(
                f"{e.pk}@{e.published_at.timestamp() if e.published_at else 0}" for e in evaluations
            )
            + f":{gone['n']}@{gone['last'].timestamp() if gone['last'] else 0}"
        )
        cached = cache.get(key)
        if cached is None:
            cached = _build(evaluation, previous, None)
            cache.set(key, cached, CACHE_SECONDS)
        return cached
    return _build(evaluation, previous, customers)


def _build(
    evaluation: Evaluation, previous: Evaluation | None, customers: QuerySet | None
) -> Portfolio:
    order = tier_order(evaluation)
    table = _results(evaluation, customers)
    tiers, totals = _tiers(table, order)
    empty = table.num_rows == 0
    migration = None
    if previous is not None and not empty:
        migration = portfolio.migration(
            _results(previous, customers), table, order or [t["tier"] for t in tiers]
        )
    churn = None
    if not empty:
        churn = portfolio.churn_warning(
            _rhythm(table, evaluation, customers), tier_names=order or None, top_tiers=1
        )
    positive_profit = not empty and any(p > 0 for p in table.column("profit").to_pylist())
    return Portfolio(
        evaluation=evaluation,
        previous=previous,
        tiers=tiers,
        totals=totals,
        pareto=None if empty else portfolio.lorenz(table, "revenue"),
        pareto_profit=portfolio.lorenz(table, "profit") if positive_profit else None,
        concentration=None if empty else portfolio.concentration(table, alert_share=ALERT_SHARE),
        migration=migration,
        churn=churn,
    )


def scope(user, visible: QuerySet) -> QuerySet | None:
    """None (every customer: the cached figures) for the roles that see every customer,
    else the customers ``user`` may see."""
    return None if role(user) in ALL_CUSTOMERS else visible
