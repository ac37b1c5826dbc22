"""Customer Tiering (客户分级管理): grade customers from their transactions, explained.

The engine is pure Python on Ibis expressions: it reads customers and transactions
(CSV, Parquet, Excel) into DuckDB, or takes tables on any Ibis backend (PostgreSQL,
SQLite, a Spark session), computes per-customer metrics and grades them with a rule file.

>>> import tiering
>>> rules = tiering.load_rules("examples/scorecard.yaml")          # doctest: +SKIP
>>> ev = tiering.evaluate(rules, "customers.xlsx", "交易记录.csv")  # doctest: +SKIP
>>> tiering.write_table(ev.to_pyarrow(), "tiers.xlsx")             # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from tiering.exceptions import InputError, OutputError, Problem, RowIssue, RuleError, TieringError
from tiering.periods import Period, add_months, parse_date, parse_period
from tiering.rules import RuleSet, load_rules, parse_rules

#: The engine's names, imported on first use (PEP 562): Ibis, DuckDB and Arrow take about a
#: second to import, which ``tiering --help`` and ``import tiering.rules`` should not pay.
_LAZY = {
    "Inputs": "tiering.data",
    "read_inputs": "tiering.data",
    "Evaluation": "tiering.evaluation",
    "evaluate": "tiering.evaluation",
    "Override": "tiering.history",
    "compute_metrics": "tiering.metrics",
    "summarise": "tiering.output",
    "write_table": "tiering.output",
}

if TYPE_CHECKING:  # pragma: no cover
    from tiering.data import Inputs, read_inputs
    from tiering.evaluation import Evaluation, evaluate
    from tiering.history import Override
    from tiering.metrics import compute_metrics
    from tiering.output import summarise, write_table


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tiering' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "Evaluation",
    "InputError",
    "Inputs",
    "OutputError",
    "Override",
    "Period",
    "Problem",
    "RowIssue",
    "RuleError",
    "RuleSet",
    "TieringError",
    "__version__",
    "add_months",
    "compute_metrics",
    "evaluate",
    "load_rules",
    "parse_date",
    "parse_period",
    "parse_rules",
    "read_inputs",
    "summarise",
    "write_table",
]
