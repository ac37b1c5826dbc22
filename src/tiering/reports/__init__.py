"""Portfolio insight: is tiering worth it, concentration, Pareto curve, follow-ups, churn
warning, migration and what-if, on per-customer results; written to the terminal, one
self-contained HTML page, or an Excel workbook.

>>> import tiering
>>> from tiering import reports
>>> ev = tiering.evaluate("examples/scorecard.yaml", "customers.xlsx",
...                       "交易记录.csv")  # doctest: +SKIP
>>> report = reports.build_report(ev, ev.rules.tier_names, lang="zh")  # doctest: +SKIP
>>> reports.write_html(report, "report.html")  # doctest: +SKIP
"""

from tiering.reports.html_page import render_html, write_html
from tiering.reports.portfolio import (
    Assessment,
    AtRisk,
    Candidate,
    ChurnWarning,
    Comparison,
    Concentration,
    Condition,
    CustomerShare,
    FollowUps,
    Lorenz,
    Migration,
    Move,
    assess,
    churn_warning,
    compare,
    concentration,
    follow_ups,
    lorenz,
    migration,
)
from tiering.reports.report import Report, build_report, read_output
from tiering.reports.terminal import render_comparison, render_migration, render_terminal
from tiering.reports.workbook import sheet_names, write_xlsx

__all__ = [
    "Assessment",
    "AtRisk",
    "Candidate",
    "ChurnWarning",
    "Comparison",
    "Concentration",
    "Condition",
    "CustomerShare",
    "FollowUps",
    "Lorenz",
    "Migration",
    "Move",
    "Report",
    "assess",
    "build_report",
    "churn_warning",
    "compare",
    "concentration",
    "follow_ups",
    "lorenz",
    "migration",
    "read_output",
    "render_comparison",
    "render_html",
    "render_migration",
    "render_terminal",
    "sheet_names",
    "write_html",
    "write_xlsx",
]
