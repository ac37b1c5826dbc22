"""Evaluate a rule set: inputs -> metrics -> grades -> history -> one table of results.

:func:`evaluate` is the engine's entry point, shared by the ``tiering`` command, the web
app and anyone using the Python API. It builds a single Ibis expression, so the work runs
where the data is: DuckDB for files, the app's database, or a Spark session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tiering import data as data_mod
from tiering.exceptions import InputError, RowIssue, RuleError, TieringError
from tiering.grading import GRADERS
from tiering.grading.common import concat, label, language_key, zh
from tiering.history import Override, add_change, apply_overrides, apply_previous, parse_overrides
from tiering.metrics import aggregate_payments, aggregate_transactions, compute_metrics
from tiering.periods import parse_date
from tiering.prediction import add_predictions
from tiering.rules import (
    METRICS,
    PAYMENT_METRICS,
    PREDICTED,
    RuleSet,
    Window,
    load_rules,
    parse_rules,
)
from tiering.tables import join_on_customer

#: The order of the leading output columns (those present).
LEADING = (
    "customer_id",
    "tier",
    "score",
    "rfm_code",
    "rank",
    "cum_share_before",
    "reason",
    "next_tier",
    "gap",
    "gap_unit",
    "missing",
    "previous_tier",
    "change",
    "grace_count",
    "computed_tier",
    "override_reason",
    "override_expires",
    "flags",
)
FLAG_NAMES = ("loss_maker", "inactive", "overdue", "band", "grace", "override")

TableLike: TypeAlias = str | Path | ir.Table | pa.Table


@dataclass
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes
    ----------
    table
        The results as an Ibis expression (one row per customer), not yet computed.
    rules, as_of
        What was evaluated, and as of when.
    expired_overrides
        Overrides ignored because they expired before ``as_of``.
    """

    table: ir.Table
    rules: RuleSet
    as_of: dt.date
    lang: str = "en"
    expired_overrides: list[Override] = field(default_factory=list)
    has_previous: bool = False
    languages: tuple[str, ...] = ()
    #: the same results without the customers' own columns the rules do not use (no join
    #: to the customers table), for :meth:`select`
    lean: ir.Table | None = field(default=None, repr=False)

    def select(self, *names: str) -> ir.Table:
        """The results' columns ``names``, in that order. When none of them is one of the
        customers' own columns, they come from the results without the join to the
        customers table (``--columns customer_id,tier`` then reads no customer record)."""
        lean = self.lean
        base = lean if lean is not None and set(names) <= set(lean.columns) else self.table
        return base.select(*names)

    def to_pyarrow(self) -> pa.Table:
        """Compute the results as an Arrow table."""
        return self.table.to_pyarrow()

    def to_pandas(self):
        """Compute the results as a pandas DataFrame."""
        return self.to_pyarrow().to_pandas()


def _as_rules(rules: RuleSet | str | Path | dict) -> RuleSet:
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, dict):
        return parse_rules(rules)
    return load_rules(rules)


def _needed(rules: RuleSet) -> set[str]:
    needed = {r for r in rules.metric_refs() if r in METRICS}
    if rules.method_name == "rfm":
        needed.add("orders")
    return needed


def _arrow(value) -> pa.Table | None:
    """An Arrow table from an Arrow table or a pandas DataFrame; None for anything else."""
    if isinstance(value, pa.Table):
        return value
    if type(value).__name__ == "DataFrame" and hasattr(value, "to_dict"):
        return pa.Table.from_pandas(value, preserve_index=False)
    return None


def _table(value, con: ibis.BaseBackend, name: str) -> ir.Table:
    if isinstance(value, ir.Table):
        return value
    arrow = _arrow(value)
    if arrow is None:
        raise TypeError(f"{name}: expected a path, an Ibis table, a pyarrow Table or a DataFrame")
    con.con.register(name, arrow)
    return con.table(name)


def _normalise_transactions(t: ir.Table) -> ir.Table:
    missing = [c for c in ("customer_id", "date", "amount") if c not in t.columns]
    if missing:
        raise InputError(
            "<transactions>", [RowIssue(None, c, None, "missing column", "缺少列") for c in missing]
        )
    cols = {
        "customer_id": t.customer_id.cast("string"),
        "date": t.date if t.date.type().is_date() else t.date.cast("date"),
        "amount": t.amount,
        "cost": t.cost if "cost" in t.columns else ibis.literal(0),
    }
    return t.select(**cols).mutate(cost=ibis.coalesce(ibis._.cost, 0))


def _normalise_payments(t: ir.Table) -> ir.Table:
    missing = [c for c in ("customer_id", "date", "amount") if c not in t.columns]
    if missing:
        raise InputError(
            "<payments>", [RowIssue(None, c, None, "missing column", "缺少列") for c in missing]
        )
    return t.select(
        customer_id=t.customer_id.cast("string"),
        date=t.date if t.date.type().is_date() else t.date.cast("date"),
        amount=t.amount,
    )


def _payments_missing(metrics: list[str]) -> TieringError:
    """The error for rules that read payment metrics when no payments were given."""
    en = ", ".join(f"{m} ({METRICS[m][0]})" for m in metrics)
    zh_names = "、".join(f"{m}（{METRICS[m][1]}）" for m in metrics)
    return TieringError(
        f"the rules use {en}, computed from the payments received: pass the payments "
        "(payments=... in Python, --payments FILE on the command line)",
        f"规则使用了 {zh_names}，需要回款数据：请传入回款记录"
        "（Python 中 payments=...，命令行 --payments 文件）",
    )


def evaluate(
    rules: RuleSet | str | Path | dict,
    customers: TableLike,
    transactions: TableLike,
    *,
    payments: TableLike | None = None,
    as_of: dt.date | str | None = None,
    previous: TableLike | None = None,
    overrides: TableLike | list[Override] | None = None,
    lang: str = "en",
    languages: tuple[str, ...] = (),
    attributes: bool = True,
    extra_metrics: tuple[str, ...] = (),
    unknown_customers: str = "error",
    con: ibis.BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Grade every customer under ``rules``.

    Parameters
    ----------
    rules
        A :class:`~tiering.rules.RuleSet`, a path to a rule file, or the rules as a dict.
    customers, transactions
        Paths (CSV, Parquet, Excel) read and checked by :func:`tiering.data.read_inputs`,
        or tables already loaded: Ibis tables (on any backend, e.g. a Spark session),
        Arrow tables or pandas DataFrames with columns ``customer_id`` (+ attributes) and
        ``customer_id, date, amount[, cost]``.
    payments
        The payments received (回款), as a path (CSV, Parquet, Excel; headers such as
        客户编号, 回款日期, 回款金额 recognised) or a table with ``customer_id, date,
        amount``. Needed only by the payment metrics (``payments``, ``collection_rate``,
        ``receivables``, ``receivables_turnover``): a rule using one without payments is a
        :class:`TieringError`; when no rule needs them they are not read.
    as_of
        The evaluation date; defaults to the rule file's ``as_of``. Required one way or the
        other: the engine never assumes "today".
    previous
        An earlier output (path or table with ``customer_id``, ``tier``[, ``grace_count``]):
        adds ``previous_tier`` and ``change`` and enables downgrade protection.
    overrides
        A path or table with ``customer_id, tier, reason, expires``, or a list of
        :class:`~tiering.history.Override`.
    lang
        ``"en"`` or ``"zh"``: the language of ``reason`` and ``missing``.
    languages
        More languages to word the explanations in, from the same grading (one query):
        for each of ``"zh"`` and ``"en"`` listed, columns ``reason_<lang>`` and
        ``missing_<lang>`` (placed after ``missing``), equal to what a run with
        ``lang=<lang>`` gives in ``reason`` and ``missing``. ``reason`` and ``missing``
        stay in ``lang``. Empty (the default): no such columns.
    attributes
        Append every column of the customers file to the results (name, owner...);
        with False, only the attributes the rules use.
    extra_metrics
        More metrics to compute and output besides those the rules use (e.g.
        ``("tenure_days", "p_alive")`` for the churn warning of a report).
    unknown_customers
        ``"error"`` (the default): transactions (and payments) of customers missing from
        ``customers`` are an :class:`InputError` naming them; ``"ignore"``: they are left
        out, e.g. to grade one region's customers against the whole ledger.
    con
        The DuckDB backend to read files into (a new in-memory one by default).
    progress
        Called with a short label as each stage starts.

    Returns
    -------
    Evaluation
        ``.table`` is an Ibis expression of the results; ``.to_pyarrow()`` computes it.

    Examples
    --------
    >>> import tiering
    >>> ev = tiering.evaluate("examples/pareto.yaml", "customers.xlsx",
    ...                       "交易记录.csv")  # doctest: +SKIP
    >>> ev.to_pandas()[["customer_id", "tier", "reason"]]  # doctest: +SKIP
    """
    rules = _as_rules(rules)
    languages = _languages(languages)
    step = progress or (lambda label: None)
    if unknown_customers not in ("error", "ignore"):
        raise ValueError("unknown_customers is 'error' or 'ignore'")
    if as_of is None:
        as_of = rules.as_of
    if as_of is None:
        raise TieringError(
            "no as_of date: pass --as-of (as_of=...) or set as_of in the rule file",
            "缺少评估日期：请传入 --as-of 或在规则文件中设置 as_of",
        )
    as_of = parse_date(as_of)
    unknown_metrics = [m for m in extra_metrics if m not in METRICS]
    if unknown_metrics:
        raise ValueError(f"unknown metrics: {', '.join(unknown_metrics)}")
    needed = _needed(rules) | set(extra_metrics)
    paying = sorted(needed & PAYMENT_METRICS)
    if paying and payments is None:
        raise _payments_missing(paying)
    if not paying:
        payments = None  # not read at all when no rule needs them
    payments_path = payments if isinstance(payments, str | Path) else None

    date_attrs = []
    if isinstance(rules.method, Window):
        date_attrs.append(rules.method.date.split(".", 1)[1])
    if isinstance(customers, str | Path) or isinstance(transactions, str | Path):
        if not (isinstance(customers, str | Path) and isinstance(transactions, str | Path)):
            raise TypeError("pass both customers and transactions as paths, or both as tables")
        inputs = data_mod.read_inputs(
            customers,
            transactions,
            payments_path,
            columns=rules.columns,
            con=con,
            progress=progress,
            date_columns=date_attrs,
            check_unknown=False,  # checked below, on the ids grouped anyway
            defer_checks=True,  # a file read in place: empty cells counted while grouping
        )
        con = inputs.con
        cust, tx = inputs.customers, inputs.transactions
    else:
        inputs = None
        con = con or data_mod.connect()
        cust = _table(customers, con, "tiering_customers_in")
        tx = _normalise_transactions(_table(transactions, con, "tiering_transactions_in"))
        if "customer_id" not in cust.columns:
            raise InputError(
                "<customers>", [RowIssue(None, "customer_id", None, "missing column", "缺少列")]
            )
        cust = cust.mutate(customer_id=cust.customer_id.cast("string"))
    pay, pay_file = None, None
    if payments is not None:
        if inputs is not None and inputs.payments is not None:
            pay = inputs.payments
        elif payments_path is not None:
            step("payments")
            pay_file = data_mod.read_payments(payments_path, columns=rules.columns, con=con)
            pay = pay_file.table
            if isinstance(customers, ir.Table):  # on another backend: hand it over as data
                pay = ibis.memtable(pay.to_pyarrow())
        else:
            pay = _normalise_payments(_table(payments, con, "tiering_payments_in"))

    problems = rules.attribute_problems([c for c in cust.columns if c != "customer_id"])
    if problems:
        raise RuleError(rules.source, problems)
    reserved = set(METRICS) | set(LEADING) | {"tier", "score"}
    clash = [c for c in cust.columns if c != "customer_id" and (c in reserved or c.startswith("_"))]
    if clash:
        raise InputError(
            "<customers>",
            [
                RowIssue(
                    None,
                    c,
                    None,
                    "this header is also a result column; rename it in the file or map it "
                    "with columns:",
                    "该列名与结果列重名；请在文件中改名或用 columns: 映射",
                )
                for c in clash
            ],
        )

    step("grading")
    # grade a narrow table (ids and the attributes the rules read): window functions and
    # sorts then move a few columns, not the whole customer record
    used = [r.split(".", 1)[1] for r in rules.metric_refs() if r.startswith("attribute.")]
    narrow = cust.select("customer_id", *dict.fromkeys(used))
    tx_checks = inputs.transaction_checks if inputs is not None else None
    per_customer = aggregate_transactions(
        tx,
        as_of=as_of,
        lookback=rules.lookback,
        needed=needed,
        null_counts=tx_checks.columns if tx_checks else (),
    ).cache()
    per_customer = _checked(per_customer, tx_checks)
    per_payer = None
    if pay is not None:
        pay_checks = inputs.payment_checks if inputs is not None else None
        per_payer = aggregate_payments(
            pay,
            as_of=as_of,
            lookback=rules.lookback,
            null_counts=pay_checks.columns if pay_checks else (),
        ).cache()
        per_payer = _checked(per_payer, pay_checks)
    unknown = _unknown_ids(per_customer, cust)
    if unknown and unknown_customers == "error":
        if inputs is not None:
            raise inputs.unknown_customers_error(unknown)
        raise InputError(
            "<transactions>",
            [
                RowIssue(
                    None,
                    "customer_id",
                    i,
                    "customer id not in the customers table",
                    "客户表中没有该客户编号",
                )
                for i in unknown
            ],
        )
    if per_payer is not None:
        unknown = _unknown_ids(per_payer, cust)
        if unknown and unknown_customers == "error":
            if inputs is not None and inputs.payments is not None:
                raise inputs.unknown_payers_error(unknown)
            if pay_file is not None:
                raise pay_file.unknown_customers_error(unknown)
            raise InputError(
                "<payments>",
                [
                    RowIssue(
                        None,
                        "customer_id",
                        i,
                        "customer id not in the customers table",
                        "客户表中没有该客户编号",
                    )
                    for i in unknown
                ],
            )
    metrics = compute_metrics(
        narrow,
        tx,
        as_of=as_of,
        lookback=rules.lookback,
        needed=needed,
        per_customer=per_customer,
        per_customer_payments=per_payer,
    )
    predicted = needed & PREDICTED
    if predicted:
        step("predicting")
        metrics = add_predictions(metrics, tx, as_of=as_of, settings=rules.clv, needed=predicted)
    graded = GRADERS[rules.method_name](metrics, rules, lang, as_of=as_of, languages=languages)
    graded = graded.mutate(_flag_inactive=graded.orders == 0)

    has_previous = previous is not None
    if has_previous:
        prev_table = _side_table(previous, con, "previous", ("customer_id", "tier"))
        graded = apply_previous(graded, prev_table, rules, lang)
    expired: list[Override] = []
    if overrides is not None:
        if not (isinstance(overrides, list) and all(isinstance(o, Override) for o in overrides)):
            overrides = _read_overrides(overrides, con, rules, cust)
        graded, expired = apply_overrides(graded, overrides, rules, as_of, lang)
    if has_previous:
        # against the tier the customer ends with, an override's included: a customer
        # forced from A down to D moved down, whatever the rules alone gave
        graded = add_change(graded)

    finished = _finish(graded, lang, cust if attributes else None, used, languages)
    lean = _finish(graded, lang, None, used, languages) if attributes else None
    return Evaluation(finished, rules, as_of, lang, expired, has_previous, languages, lean)


def _checked(grouped: ir.Table, checks: data_mod.CellChecks | None) -> ir.Table:
    """``grouped`` without its empty-cell counts, once they are found to be all zero: the
    input checks that :func:`tiering.data.read_inputs` left to this pass (``defer_checks``);
    otherwise the :class:`InputError` naming the bad rows, as the reading would have."""
    if checks is None:
        return grouped
    names = [f"_null_{c}" for c in checks.columns]
    with data_mod.reading(checks.src):
        sums = grouped.aggregate(**{n: grouped[n].sum() for n in names}).to_pyarrow()
    pairs = zip(checks.columns, names, strict=True)
    counts = {c: int(sums.column(n)[0].as_py() or 0) for c, n in pairs}
    error = checks.error(counts)
    if error is not None:
        raise error
    return grouped.drop(*names)


def _unknown_ids(grouped: ir.Table, customers: ir.Table) -> list[str]:
    """The first ids of ``grouped`` (one row per id) that are not among ``customers``."""
    return (
        grouped.anti_join(customers, "customer_id")
        .select("customer_id")
        .limit(InputError.MAX_SHOWN)
        .to_pyarrow()
        .column("customer_id")
        .to_pylist()
    )


def _side_table(value, con, label: str, required: tuple[str, ...]) -> ir.Table:
    """A small side file (previous output) as an in-memory table on any backend."""
    if isinstance(value, ir.Table):
        table = value
    else:
        arrow = _arrow(value)
        source = f"<{label}>"
        if arrow is None:
            src, raw = data_mod.read_table(value, label)
            arrow = raw.to_pyarrow()
            source = src.spec
            src.close()
        missing = [c for c in required if c not in arrow.column_names]
        if missing:
            raise InputError(
                source,
                [
                    RowIssue(
                        None,
                        c,
                        None,
                        "missing column (is this an earlier output of tiering?)",
                        "缺少列（这是 tiering 之前的输出吗？）",
                    )
                    for c in missing
                ],
            )
        table = ibis.memtable(arrow)
    return table


def _read_overrides(value, con, rules: RuleSet, customers: ir.Table) -> list[Override]:
    if isinstance(value, ir.Table):
        arrow, source = value.to_pyarrow(), "<overrides>"
    elif _arrow(value) is not None:
        arrow, source = _arrow(value), "<overrides>"
    else:
        src, _ = data_mod.read_table(value, "overrides")
        arrow = src.db.sql(src.with_rows()).to_arrow_table()
        source = src.spec
        src.close()
    ids = {r["customer_id"] for r in customers.select("customer_id").to_pyarrow().to_pylist()}
    return parse_overrides(arrow, source, rules, ids)


def _languages(languages) -> tuple[str, ...]:
    """``languages`` as keys (``zh``, ``en``), each once, in the order given."""
    if isinstance(languages, str):
        languages = (languages,)
    keys = []
    for language in languages:
        if not (language.startswith("zh") or language.startswith("en")):
            raise ValueError(f"languages: {language!r} is not 'zh' or 'en'")
        keys.append(language_key(language))
    return tuple(dict.fromkeys(keys))


def _finish(
    table: ir.Table,
    lang: str,
    customers: ir.Table | None,
    used: list[str],
    languages: tuple[str, ...] = (),
) -> ir.Table:
    """Add ``flags`` and ``missing``; order the columns; drop the private ones; append the
    customers' own columns (those the rules used, or all of them when ``customers``).
    For each of ``languages``, ``reason_<key>`` and ``missing_<key>`` follow ``missing``
    (the columns of ``lang`` itself are ``reason`` and ``missing``, not worded twice)."""
    flags = [f for f in FLAG_NAMES if f"_flag_{f}" in table.columns]
    parts = [ibis.ifelse(table[f"_flag_{f}"], f + ";", "") for f in flags]
    joined = concat(*parts) if parts else ibis.literal("")
    table = table.mutate(flags=joined.re_replace(";$", ""))
    table = table.mutate(missing=_missing(table, lang))
    own = language_key(lang)
    extra = {f"_missing_{k}": _missing(table, k) for k in languages if k != own}
    if extra:
        table = table.mutate(**extra)
    attrs = list(dict.fromkeys(used))
    if customers is not None:
        others = [c for c in customers.columns if c != "customer_id" and c not in attrs]
        if others:
            table = join_on_customer(table, customers.select("customer_id", *others))
        attrs = [c for c in customers.columns if c != "customer_id"]
    order = [table._tier_rank]
    if "_sort" in table.columns:
        order.append(ibis.desc(table._sort))
    order.append(table.customer_id)
    table = table.order_by(order)
    columns = [c for c in LEADING if c in table.columns]
    rest = [
        c for c in table.columns if c not in columns and not c.startswith("_") and c not in attrs
    ]
    worded = [
        table[what if k == own else f"_{what}_{k}"].name(f"{what}_{k}")
        for what in ("reason", "missing")
        for k in languages
    ]
    at = columns.index("missing") + 1
    return table.select(*columns[:at], *worded, *columns[at:], *rest, *attrs)


#: How ``missing`` reads, per language: (before the gap, after it) by ``gap_unit``.
_MISSING = {
    "en": {
        "head": ("to reach ", ": "),
        "points": ("+", " points"),
        "days": ("close ", " days earlier"),
        "recency_days": ("a new order (last one ", " days too long ago)"),
        "metric": ("{label} +", ""),
    },
    "zh": {
        "head": ("升至 ", "："),
        "points": ("还差 ", " 分"),
        "days": ("成交需提前 ", " 天"),
        "recency_days": ("需要新订单（距上次购买超出 ", " 天）"),
        "metric": ("{label}还差 ", ""),
    },
}


def _missing(table: ir.Table, lang: str) -> ir.StringValue:
    """What is missing for the next tier up, as a phrase."""
    words = _MISSING["zh" if zh(lang) else "en"]
    gap = table.gap.cast("string")
    if table.gap.type().is_floating():
        # a whole number reads as one ("还差 11 分", not "11.0"), on every backend alike
        # (DuckDB writes 11.0, PostgreSQL 11)
        whole = table.gap.round(0)
        gap = ibis.ifelse(table.gap == whole, whole.cast("int64").cast("string"), gap)

    def phrase(unit: str, metric: str | None = None):
        before, after = words[unit]
        if metric is not None:
            before = before.format(label=label(metric, lang))
        return concat(words["head"][0], table.next_tier, words["head"][1], before, gap, after)

    cases = [(table.gap_unit == u, phrase(u)) for u in ("points", "days", "recency_days")]
    cases += [(table.gap_unit == m, phrase("metric", m)) for m in METRICS if m != "recency_days"]
    generic = concat(words["head"][0], table.next_tier, words["head"][1], table.gap_unit, " ", gap)
    missing = ibis.cases(*cases, else_=generic)
    return ibis.ifelse(table.next_tier.isnull() | table.gap.isnull(), ibis.null("string"), missing)
