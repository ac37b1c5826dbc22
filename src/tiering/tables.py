"""Relational pieces shared by the metrics, the grading methods and the history: kept out
of :mod:`tiering.grading` so that :mod:`tiering.metrics`, which the graders import, does not
need the grading package to be loaded first."""

from __future__ import annotations

import ibis.expr.types as ir


def join_on_customer(left: ir.Table, right: ir.Table) -> ir.Table:
    """``left`` LEFT JOIN ``right`` on ``customer_id``, keeping one ``customer_id``."""
    joined = left.left_join(right, "customer_id")
    return joined.drop(*[c for c in joined.columns if c.endswith("_right")])
