"""Customer Tiering (客户分级管理): grade customers from their transactions, explained.

The engine is pure Python on Ibis expressions: it reads customers and transactions
(CSV, Parquet, Excel) into DuckDB, or takes tables on any Ibis backend (PostgreSQL,
SQLite, a Spark session), computes per-customer metrics and grades them with a rule file.

>>> import tiering
>>> rules = tiering.load_rules("examples/scorecard.yaml")          # doctest: +SKIP
>>> ev = tiering.evaluate(rules, "customers.xlsx", "交易记录.csv")  # doctest: +SKIP
>>> tiering.write_table(ev.to_pyarrow(), "tiers.xlsx")             # doctest: +SKIP
"""

from tiering.data import Inputs, read_inputs
from tiering.evaluation import Evaluation, evaluate
from tiering.exceptions import InputError, OutputError, Problem, RowIssue, RuleError, TieringError
from tiering.history import Override
from tiering.metrics import compute_metrics
from tiering.output import summarise, write_table
from tiering.periods import Period, add_months, parse_date, parse_period
from tiering.rules import RuleSet, load_rules, parse_rules

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
