"""What-if for a rule set being edited: grade the app's customers under the version in
force and under the edited rules, and say who would move, without saving anything.

It is the web's ``tiering simulate``: the same :func:`tiering.evaluate` on the app's
database (through :func:`tiering_web.evaluations.adapters.engine_inputs`) and the same
:func:`tiering.reports.compare`. Both sides are graded from the rules alone, without the
current tiers' downgrade protection or overrides, so the difference is the rules'.

At a million customers the two gradings take a while, so the pages and the API do not call
:func:`what_if` themselves: they queue a :class:`~tiering_web.rulesets.models.WhatIfRun`,
the background worker runs it (:mod:`tiering_web.rulesets.jobs`) and stores
:func:`result_json`, the few numbers the page shows, which :meth:`WhatIfResult.from_json`
reads back for the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import connections

import tiering
from tiering import reports
from tiering.rules import PAYMENT_METRICS
from tiering_web.customers.models import Customer
from tiering_web.evaluations.adapters import engine_inputs
from tiering_web.rulesets.models import RuleSet, RuleSetVersion, WhatIfRun

#: How many customers moving up (and down) the page lists by name, largest revenue first.
MOVERS_SHOWN = 20

Stage = WhatIfRun.Stage


@dataclass(frozen=True)
class Cell:
    customers: int
    revenue: float | Decimal


@dataclass
class WhatIf:
    """The outcome: ``comparison`` against ``baseline`` when there is one; always the
    tiers the edited rules give (``distribution``: tier -> customers, revenue)."""

    as_of: dt.date
    baseline: RuleSetVersion | None
    tier_names: list[str]
    distribution: list[tuple[str, Cell]]
    comparison: reports.Comparison | None = None
    names: dict[str, str] = field(default_factory=dict)

    def movers(self, direction: str) -> list[dict]:
        if self.comparison is None:
            return []
        moves = {
            "up": self.comparison.matrix.upgrades,
            "down": self.comparison.matrix.downgrades,
            "unordered": self.comparison.matrix.unordered,
        }[direction]
        return [
            {
                "code": m.customer_id,
                "name": self.names.get(m.customer_id, ""),
                "before": m.before,
                "after": m.after,
                "revenue": m.revenue,
            }
            for m in moves[:MOVERS_SHOWN]
        ]


def baseline_version(ruleset: RuleSet) -> RuleSetVersion | None:
    """The version a change is measured against: the latest approved one, else the latest."""
    approved = ruleset.versions.filter(status=RuleSetVersion.Status.APPROVED).order_by("-number")
    return approved.first() or ruleset.latest_version()


def _grade(rules: tiering.RuleSet, inputs, as_of: dt.date, lang: str) -> pa.Table:
    evaluation = tiering.evaluate(
        rules,
        inputs.customers,
        inputs.transactions,
        as_of=as_of,
        lang=lang,
        attributes=False,
        extra_metrics=("revenue",),
        payments=inputs.payments,
    )
    # only the three columns computed: the database skips the reasons and the factors
    return evaluation.table.select("customer_id", "tier", "revenue").to_pyarrow()


def what_if(
    definition: dict,
    baseline: RuleSetVersion | None,
    as_of: dt.date,
    *,
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
) -> WhatIf:
    """Grade the app's customers as of ``as_of`` under ``definition`` (and ``baseline``).

    ``progress`` is called with each :class:`~tiering_web.rulesets.models.WhatIfRun.Stage`
    as it begins. Raises :class:`tiering.TieringError` when the engine cannot grade (e.g.
    the rules read a column the customers lack). Reads through a second connection, so it
    must not run inside a transaction (it would not see uncommitted rows).
    """
    if connections["default"].in_atomic_block:
        raise RuntimeError("what_if reads through a second connection: call it outside atomic()")
    step = progress or (lambda stage: None)
    proposed_rules = tiering.parse_rules(definition, source=definition.get("name") or "<rules>")
    baseline_rules = baseline.rules() if baseline is not None else None
    paying = any(
        PAYMENT_METRICS.intersection(r.metric_refs())
        for r in (proposed_rules, baseline_rules)
        if r is not None
    )
    step(Stage.READING)
    # read out once (PostgreSQL's tables copied into Arrow) and graded twice in DuckDB: the
    # database grading a million customers took a minute and a half per side
    with engine_inputs(want_payments=paying, read_out=True) as inputs:
        current = None
        if baseline_rules is not None:
            step(Stage.GRADING_CURRENT)
            current = _grade(baseline_rules, inputs, as_of, lang)
        step(Stage.GRADING_PROPOSED)
        proposed = _grade(proposed_rules, inputs, as_of, lang)

    step(Stage.COMPARING)
    totals: dict[str, list[float]] = {name: [0, 0.0] for name in proposed_rules.tier_names}
    # grouped in Arrow: a million customers as Python rows would cost a few hundred MB
    grouped = proposed.group_by("tier").aggregate([("customer_id", "count"), ("revenue", "sum")])
    for row in grouped.to_pylist():
        cell = totals.setdefault(row["tier"], [0, 0.0])
        cell[0] += row["customer_id_count"]
        cell[1] += float(row["revenue_sum"] or 0)
    result = WhatIf(
        as_of=as_of,
        baseline=baseline,
        tier_names=proposed_rules.tier_names,
        distribution=[(name, Cell(int(c), float(r))) for name, (c, r) in totals.items()],
    )
    if current is not None:
        result.comparison = reports.compare(
            current, proposed, baseline_rules.tier_names, proposed_rules.tier_names
        )
        codes = [
            m.customer_id
            for moves in (result.comparison.matrix.upgrades, result.comparison.matrix.downgrades)
            for m in moves[:MOVERS_SHOWN]
        ]
        codes += [m.customer_id for m in result.comparison.matrix.unordered[:MOVERS_SHOWN]]
        result.names = dict(Customer.objects.filter(code__in=codes).values_list("code", "name"))
    return result


# --- what is stored: the page's numbers, not a row per customer ----------------------------

_TOTALS = (
    "customers",
    "total_revenue",
    "changed",
    "changed_revenue",
    "up",
    "up_revenue",
    "down",
    "down_revenue",
    "unordered",
    "unordered_revenue",
)
_CENT = Decimal("0.01")


def cents(value: Any) -> Decimal:
    """Revenue as stored: the engine's float rounded to the cent (half even, from its
    shortest repr), so the database holds no binary floats."""
    return Decimal(repr(float(value or 0))).quantize(_CENT)


def _money(value: Any) -> str:
    return str(cents(value))


def result_json(result: WhatIf) -> dict[str, Any]:
    """What a :class:`~tiering_web.rulesets.models.WhatIfRun` keeps of ``result``: the
    distribution, the matrix's counts and revenue, the totals and the first
    :data:`MOVERS_SHOWN` movers each way (money as decimal strings of cents)."""
    data: dict[str, Any] = {
        "as_of": result.as_of.isoformat(),
        "baseline": result.baseline.number if result.baseline is not None else None,
        "tier_names": list(result.tier_names),
        "distribution": [[name, c.customers, _money(c.revenue)] for name, c in result.distribution],
        "comparison": None,
    }
    c = result.comparison
    if c is not None:
        m = c.matrix
        data["comparison"] = {
            **{
                name: (_money(getattr(c, name)) if name.endswith("revenue") else getattr(c, name))
                for name in _TOTALS
            },
            "rows": list(m.rows),
            "columns": list(m.columns),
            "counts": [list(row) for row in m.counts],
            "revenue": [[_money(v) for v in row] for row in m.revenue],
            "movers": {
                d: [{**mover, "revenue": _money(mover["revenue"])} for mover in result.movers(d)]
                for d in ("up", "down", "unordered")
            },
        }
    return data


@dataclass(frozen=True)
class Matrix:
    """The stored from × to matrix: ``rows`` the current tiers, ``columns`` the proposed."""

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    revenue: list[list[Decimal]]

    def count(self, before: str, after: str) -> int:
        return self.counts[self.rows.index(before)][self.columns.index(after)]

    def revenue_of(self, before: str, after: str) -> Decimal:
        return self.revenue[self.rows.index(before)][self.columns.index(after)]


@dataclass(frozen=True)
class Totals:
    """The stored totals, named as :class:`tiering.reports.Comparison` names them."""

    matrix: Matrix
    customers: int
    total_revenue: Decimal
    changed: int
    changed_revenue: Decimal
    up: int
    up_revenue: Decimal
    down: int
    down_revenue: Decimal
    unordered: int
    unordered_revenue: Decimal


@dataclass(frozen=True)
class WhatIfResult:
    """A finished run's result as the page reads it (see :func:`result_json`)."""

    as_of: dt.date
    baseline: int | None
    tier_names: list[str]
    distribution: list[tuple[str, Cell]]
    comparison: Totals | None
    movers_by_direction: dict[str, list[dict]]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WhatIfResult:
        c = data.get("comparison")
        comparison = movers = None
        if c is not None:
            matrix = Matrix(
                rows=c["rows"],
                columns=c["columns"],
                counts=c["counts"],
                revenue=[[Decimal(v) for v in row] for row in c["revenue"]],
            )
            comparison = Totals(
                matrix=matrix,
                **{
                    name: (Decimal(c[name]) if name.endswith("revenue") else c[name])
                    for name in _TOTALS
                },
            )
            movers = {
                d: [{**m, "revenue": Decimal(m["revenue"])} for m in c["movers"].get(d, [])]
                for d in ("up", "down", "unordered")
            }
        return cls(
            as_of=dt.date.fromisoformat(data["as_of"]),
            baseline=data.get("baseline"),
            tier_names=data["tier_names"],
            distribution=[(n, Cell(int(k), Decimal(r))) for n, k, r in data["distribution"]],
            comparison=comparison,
            movers_by_direction=movers or {},
        )

    @property
    def matrix(self) -> list[tuple[str, list[Cell]]]:
        """The rows of the from × to matrix that hold customers."""
        if self.comparison is None:
            return []
        m = self.comparison.matrix
        return [
            (row, [Cell(m.counts[i][j], m.revenue[i][j]) for j in range(len(m.columns))])
            for i, row in enumerate(m.rows)
            if any(m.counts[i])
        ]

    @property
    def columns(self) -> list[str]:
        return list(self.comparison.matrix.columns) if self.comparison else []

    @property
    def up(self) -> list[dict]:
        return self.movers_by_direction.get("up", [])

    @property
    def down(self) -> list[dict]:
        return self.movers_by_direction.get("down", [])

    @property
    def unordered(self) -> list[dict]:
        return self.movers_by_direction.get("unordered", [])
