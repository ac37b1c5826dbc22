"""What-if for a rule set being edited: grade the app's customers under the version in
force and under the edited rules, and say who would move, without saving anything.

It is the web's ``tiering simulate``: the same :func:`tiering.evaluate` on the app's
database (through :func:`tiering_web.evaluations.adapters.engine_inputs`) and the same
:func:`tiering.reports.compare`. Both sides are graded from the rules alone, without the
current tiers' downgrade protection or overrides, so the difference is the rules'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa
from django.db import connections

import tiering
from tiering import reports
from tiering.rules import PAYMENT_METRICS
from tiering_web.customers.models import Customer
from tiering_web.evaluations.adapters import engine_inputs
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

#: How many customers moving up (and down) the page lists by name, largest revenue first.
MOVERS_SHOWN = 20


@dataclass(frozen=True)
class Cell:
    customers: int
    revenue: float


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

    @property
    def matrix(self) -> list[tuple[str, list[Cell]]]:
        """The rows of the from × to matrix (current tiers × proposed tiers)."""
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
        return self.movers("up")

    @property
    def down(self) -> list[dict]:
        return self.movers("down")

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
    return evaluation.to_pyarrow().select(["customer_id", "tier", "revenue"])


def what_if(
    definition: dict, baseline: RuleSetVersion | None, as_of: dt.date, *, lang: str = "en"
) -> WhatIf:
    """Grade the app's customers as of ``as_of`` under ``definition`` (and ``baseline``).

    Raises :class:`tiering.TieringError` when the engine cannot grade (e.g. the rules read
    a column the customers lack). Reads through a second connection, so it must not run
    inside a transaction (it would not see uncommitted rows).
    """
    if connections["default"].in_atomic_block:
        raise RuntimeError("what_if reads through a second connection: call it outside atomic()")
    proposed_rules = tiering.parse_rules(definition, source=definition.get("name") or "<rules>")
    baseline_rules = baseline.rules() if baseline is not None else None
    paying = any(
        PAYMENT_METRICS.intersection(r.metric_refs())
        for r in (proposed_rules, baseline_rules)
        if r is not None
    )
    with engine_inputs(want_payments=paying) as inputs:
        proposed = _grade(proposed_rules, inputs, as_of, lang)
        current = _grade(baseline_rules, inputs, as_of, lang) if baseline_rules else None

    totals: dict[str, list[float]] = {name: [0, 0.0] for name in proposed_rules.tier_names}
    for row in proposed.to_pylist():
        cell = totals.setdefault(row["tier"], [0, 0.0])
        cell[0] += 1
        cell[1] += float(row["revenue"] or 0)
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
