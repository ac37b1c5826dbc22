"""Portfolio analytics on a per-customer results table (the output of :func:`tiering.evaluate`).

Every function takes the results as an Arrow table, a pandas DataFrame, an Ibis table or an
:class:`~tiering.Evaluation`, reads the few columns it needs, and returns a small frozen
dataclass; ``.to_rows()`` gives it as a list of dicts for a table. Work is vectorised
(NumPy and Arrow), so a few million customers take seconds.

One module per analysis, all re-exported here (import them from this module):

- :mod:`~tiering.reports.assessment`: is tiering worth it? (:func:`assess`)
- :mod:`~tiering.reports.concentration_risk`: dependence on the largest customers
  (:func:`concentration`)
- :mod:`~tiering.reports.pareto_curve`: the Pareto / Lorenz curve (:func:`lorenz`)
- :mod:`~tiering.reports.pareto_follow_ups`: upgrade candidates and loss-makers
  (:func:`follow_ups`)
- :mod:`~tiering.reports.churn_risk`: valuable customers going quiet
  (:func:`churn_warning`)
- :mod:`~tiering.reports.migration_matrix`: who moved between two evaluations
  (:func:`migration`)
- :mod:`~tiering.reports.what_if`: proposed rules against the current ones
  (:func:`compare`)

:mod:`~tiering.reports.results` reads the results table and states the conventions shared
by every function (money as floats, shares of the total of positive values, the order of
customers, "top 20%").
"""

from tiering.reports.assessment import (
    REPEAT_MET,
    REPEAT_PARTLY,
    SCALE_MET,
    SCALE_PARTLY,
    TOP1_EVEN_MULTIPLE,
    TOP1_MET,
    TOP20_MET,
    TOP20_PARTLY,
    Assessment,
    Condition,
    assess,
)
from tiering.reports.churn_risk import AtRisk, ChurnWarning, churn_warning
from tiering.reports.concentration_risk import Concentration, CustomerShare, concentration
from tiering.reports.migration_matrix import GONE, NEW, Migration, Move, migration
from tiering.reports.pareto_curve import Lorenz, lorenz
from tiering.reports.pareto_follow_ups import Candidate, FollowUps, follow_ups
from tiering.reports.results import NAME_COLUMNS, as_arrow
from tiering.reports.what_if import Comparison, compare

__all__ = [
    "GONE",
    "NAME_COLUMNS",
    "NEW",
    "REPEAT_MET",
    "REPEAT_PARTLY",
    "SCALE_MET",
    "SCALE_PARTLY",
    "TOP1_EVEN_MULTIPLE",
    "TOP1_MET",
    "TOP20_MET",
    "TOP20_PARTLY",
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
    "as_arrow",
    "assess",
    "churn_warning",
    "compare",
    "concentration",
    "follow_ups",
    "lorenz",
    "migration",
]
