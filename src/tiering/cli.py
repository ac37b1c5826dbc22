"""The ``tiering`` command: thin on purpose. It parses options, calls the engine and prints.

Exit codes: 0 ok, 1 invalid input or rules, 2 usage.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tiering.exceptions import OutputError, RuleError, TieringError
from tiering.periods import parse_date
from tiering.rules import load_rules


class _Lazy:
    """A module imported on first use: the engine (Ibis, DuckDB, Arrow, NumPy) costs about
    a second to import, which ``tiering --help`` and a mistyped option should not pay."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


data = _Lazy("tiering.data")
reports = _Lazy("tiering.reports")
_engine = _Lazy("tiering.evaluation")
_output = _Lazy("tiering.output")
_demo = _Lazy("tiering.demo")
_prediction = _Lazy("tiering.prediction")

app = typer.Typer(
    name="tiering",
    help="Customer tiering (客户分级管理): grade customers from their transactions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def default_lang() -> str:
    env = os.environ.get("TIERING_LANG") or os.environ.get("LANG", "")
    return "zh" if env.lower().startswith("zh") else "en"


Lang = Annotated[
    str | None,
    typer.Option(
        "--lang",
        help="Language of messages and reasons: zh or en "
        "[default: zh when $TIERING_LANG or $LANG starts with zh, else en].",
    ),
]


Payments = Annotated[
    str | None,
    typer.Option(
        help="Payments received (回款) file: .csv, .parquet, .xlsx; needed by the payment "
        "metrics (payments, collection_rate, receivables, receivables_turnover), "
        "not read otherwise."
    ),
]


def _t(lang: str, en: str, zh: str) -> str:
    return zh if lang.startswith("zh") else en


def _progress(lang: str) -> Progress:
    """A progress display on stderr (hidden when stderr is not a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal and not os.environ.get("TIERING_PROGRESS"),
    )


def _fail(e: TieringError, lang: str) -> typer.Exit:
    err.print(f"[bold red]{_t(lang, 'Error', '错误')}:[/] ", end="")
    err.print(e.message(lang), markup=False, highlight=False)
    return typer.Exit(1)


def _check_lang(lang: str | None) -> str:
    if lang is None:
        return default_lang()
    if lang not in ("zh", "en", "zh-hans", "zh_CN"):
        raise typer.BadParameter("use zh or en", param_hint="--lang")
    return "zh" if lang.startswith("zh") else "en"


@app.command()
def check(
    rules: Annotated[Path, typer.Argument(help="The rule file (YAML).")],
    customers: Annotated[
        str | None, typer.Option(help="A customers file, to check the attributes exist too.")
    ] = None,
    lang: Lang = None,
) -> None:
    """Validate a rule file and report each problem with its line."""
    lang = _check_lang(lang)
    try:
        rs = load_rules(rules)
        if customers:
            src, _ = data.read_table(customers, "customers")
            mapping = dict(rs.columns)
            cols = [next((o for o, t in mapping.items() if t == c), c) for c in src.types]
            src.close()
            problems = rs.attribute_problems(cols)
            if problems:
                raise RuleError(rs.source, problems)
    except TieringError as e:
        raise _fail(e, lang) from None
    for w in rs.warnings:
        err.print(f"[yellow]{_t(lang, 'warning', '警告')}:[/] {w.message(lang)}", highlight=False)
    tiers = ", ".join(rs.tier_names)
    out.print(
        _t(
            lang,
            f"[green]OK[/] {rs.name}: {rs.method_name}, tiers {tiers}",
            f"[green]通过[/] {rs.name}：{rs.method_name}，等级 {tiers}",
        ),
        highlight=False,
    )


@app.command()
def evaluate(
    rules: Annotated[Path, typer.Argument(help="The rule file (YAML).")],
    customers: Annotated[str, typer.Option(help="Customers file: .csv, .parquet, .xlsx[#Sheet].")],
    transactions: Annotated[str, typer.Option(help="Transactions file: .csv, .parquet, .xlsx.")],
    payments: Payments = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Write one row per customer: .csv, .parquet, .xlsx."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Evaluation date (default: the rule file's as_of).")
    ] = None,
    previous: Annotated[
        str | None, typer.Option(help="An earlier output: adds previous_tier and change.")
    ] = None,
    overrides: Annotated[
        str | None, typer.Option(help="Overrides file: customer_id, tier, reason, expires.")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Write only these result columns, comma-separated (e.g. customer_id,tier): "
            "what no column needs (reasons, the customers' own columns) is not computed."
        ),
    ] = None,
    lang: Lang = None,
) -> None:
    """Grade every customer and print a summary per tier; --out writes the details."""
    lang = _check_lang(lang)
    stages = {
        "customers": _t(lang, "Reading customers", "读取客户"),
        "transactions": _t(lang, "Reading transactions", "读取交易"),
        "payments": _t(lang, "Reading payments", "读取回款"),
        "grading": _t(lang, "Preparing grades", "准备评级"),
        "predicting": _t(lang, "Predicting value", "预测客户价值"),
        "computing": _t(lang, "Grading", "评级计算"),
        "writing": _t(lang, "Writing", "写出结果"),
    }
    try:
        if as_of is not None:
            try:
                as_of_date = parse_date(as_of)
            except ValueError:
                raise typer.BadParameter(f"not a date: {as_of}", param_hint="--as-of") from None
        else:
            as_of_date = None
        if out_path is not None:
            _output.output_format(out_path)
        with _progress(lang) as progress:
            task = progress.add_task(stages["customers"], total=len(stages))

            def step(name: str) -> None:
                progress.update(
                    task, description=stages.get(name, name), completed=list(stages).index(name)
                )

            ev = _engine.evaluate(
                rules,
                customers,
                transactions,
                payments=payments,
                as_of=as_of_date,
                previous=previous,
                overrides=overrides,
                lang=lang,
                progress=step,
            )
            step("computing")
            chosen = _chosen_columns(ev.table, columns, lang)
            # the few columns the summary reads (computed where they live, once)
            summary = [c for c in _SUMMARY_COLUMNS if c in ev.table.columns]
            results, written = None, ev.table
            if chosen is not None:
                # what is written and what is summarised, computed together
                results = ev.select(*dict.fromkeys([*chosen, *summary])).cache()
                written = results.select(*chosen)
            if out_path is not None:
                step("writing")
                if _output.output_format(out_path) == "xlsx":
                    written = written.to_pyarrow()  # computed once: written and summarised
                _output.write_table(written, out_path)
                results = results if results is not None else _read_back(written, out_path)
            if results is None:
                results = ev.select(*summary).cache()
            progress.update(task, completed=len(stages))
    except TieringError as e:
        raise _fail(e, lang) from None

    _print_summary(ev, results, lang)
    if out_path is not None:
        rows = results.count().to_pyarrow().as_py()
        out.print(
            _t(lang, f"Wrote {rows:,} rows to {out_path}", f"已写出 {rows:,} 行到 {out_path}"),
            highlight=False,
        )


#: The result columns the summary and the movers read.
_SUMMARY_COLUMNS = ("customer_id", "tier", "revenue", "profit", "previous_tier", "change")


def _chosen_columns(table, columns: str | None, lang: str) -> list[str] | None:
    """The ``--columns`` asked for, in that order, checked against ``table``; None for all."""
    if columns is None:
        return None
    names = list(dict.fromkeys(c.strip() for c in columns.split(",") if c.strip()))
    unknown = [c for c in names if c not in table.columns]
    if unknown or not names:
        have = ", ".join(table.columns)
        raise typer.BadParameter(
            _t(
                lang,
                f"no result column {', '.join(unknown) or '(none given)'}; the results have: "
                f"{have}",
                f"结果中没有列 {'、'.join(unknown) or '（未给出）'}；结果列有：{have}",
            ),
            param_hint="--columns",
        )
    return names


def _read_back(written, out_path: Path):
    """What the summary reads once the whole results are written, without computing them
    again (an Ibis table): the Arrow table itself, or the Parquet file just written (read
    back by DuckDB: its decimals as they are); None for a CSV file."""
    import pyarrow as pa

    if isinstance(written, pa.Table):
        import ibis

        return ibis.memtable(written)
    if _output.output_format(out_path) != "parquet":
        return None
    return written._find_backend().read_parquet(out_path)


def _money(x) -> str:
    return f"{float(x):,.0f}"


def _print_summary(ev, results, lang: str) -> None:
    rows = _output.summarise(results, ev.rules.tier_names)
    title = _t(
        lang,
        f"{ev.rules.name} — as of {ev.as_of.isoformat()}",
        f"{ev.rules.name} — 评估日 {ev.as_of.isoformat()}",
    )
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column(_t(lang, "Tier", "等级"), no_wrap=True)
    for head in (
        _t(lang, "Customers", "客户数"),
        "%",
        _t(lang, "Revenue", "营收"),
        "%",
        _t(lang, "Profit", "利润"),
        "%",
    ):
        table.add_column(head, justify="right", no_wrap=True)
    for r in rows:
        name = r["tier"] if r["tier"] is not None else _t(lang, "Total", "合计")
        if r["tier"] is None:
            table.add_section()
        table.add_row(
            name,
            f"{r['customers']:,}",
            f"{r['customers_share']:.1%}",
            _money(r["revenue"]),
            f"{r['revenue_share']:.1%}",
            _money(r["profit"]),
            f"{r['profit_share']:.1%}",
        )
    out.print(table)

    moves = _output.movements(results)
    if moves:
        words = {
            "up": ("up", "升级"),
            "down": ("down", "降级"),
            "same": ("same", "不变"),
            "new": ("new", "新增"),
            "changed": ("changed", "其他变化"),
        }
        text = ", ".join(f"{_t(lang, *words[k])} {moves[k]:,}" for k in words if k in moves)
        out.print(
            _t(lang, f"Since the previous evaluation: {text}", f"与上次评级相比：{text}"),
            highlight=False,
        )
        _print_movers(results, lang)
    if ev.expired_overrides:
        t = Table(
            title=_t(lang, "Expired overrides (ignored)", "已过期的人工调整（未生效）"),
            box=box.SIMPLE_HEAD,
        )
        for h in ("customer_id", "tier", "reason", "expires"):
            t.add_column(h)
        for o in ev.expired_overrides:
            t.add_row(o.customer_id, o.tier, o.reason, o.expires.isoformat())
        out.print(t)


def _print_movers(results, lang: str, limit: int = 10) -> None:
    """The customers who moved up and down, biggest revenue first (``results`` is an Ibis
    table: only the rows shown are fetched)."""
    import ibis

    moves = _output.movements(results)
    for change, title in (
        ("up", _t(lang, "Moved up", "升级客户")),
        ("down", _t(lang, "Moved down", "降级客户")),
    ):
        if not moves.get(change):
            continue
        movers = (
            results.filter(results.change == change)
            .order_by([ibis.desc("revenue"), "customer_id"])
            .select("customer_id", "previous_tier", "tier", "revenue")
            .limit(limit)
            .to_pyarrow()
        )
        t = Table(title=f"{title} ({moves[change]:,})", box=box.SIMPLE_HEAD)
        for h in (
            "customer_id",
            _t(lang, "from", "原等级"),
            _t(lang, "to", "新等级"),
            _t(lang, "Revenue", "营收"),
        ):
            t.add_column(h)
        for r in movers.to_pylist():
            t.add_row(r["customer_id"], r["previous_tier"], r["tier"], _money(r["revenue"]))
        out.print(t)


#: Metrics a report needs besides the rules' own (churn warning, repeat-purchase rate).
REPORT_METRICS = ("recency_days", "tenure_days", "lifetime_orders", "lifetime_revenue")


@app.command()
def report(
    rules: Annotated[Path, typer.Argument(help="The rule file (YAML) that grades the customers.")],
    customers: Annotated[str, typer.Option(help="Customers file: .csv, .parquet, .xlsx[#Sheet].")],
    transactions: Annotated[str, typer.Option(help="Transactions file: .csv, .parquet, .xlsx.")],
    payments: Payments = None,
    as_of: Annotated[
        str | None, typer.Option(help="Evaluation date (default: the rule file's as_of).")
    ] = None,
    previous: Annotated[
        str | None, typer.Option(help="Last period's output: adds the migration matrix.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Write the report as one HTML page.")] = None,
    xlsx: Annotated[
        Path | None, typer.Option(help="Write the report's tables to a workbook.")
    ] = None,
    alert_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Alert for any customer above this share.")
    ] = 0.10,
    churn_threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Warn below this probability of being active.")
    ] = 0.5,
    predict: Annotated[
        bool, typer.Option(help="Fit the CLV models for p_alive and clv (churn warning).")
    ] = True,
    lang: Lang = None,
) -> None:
    """Portfolio insight: is tiering worth it, concentration, tiers, Pareto curve,
    follow-ups, churn warning and (with --previous) migration."""
    lang = _check_lang(lang)
    try:
        for path in (html, xlsx):
            if path is not None and not (path.parent if str(path.parent) else Path(".")).is_dir():
                raise OutputError(f"{path}: folder does not exist", f"{path}：文件夹不存在")
        as_of_date = _as_of(as_of)
        extra = REPORT_METRICS + (("p_alive", "clv") if predict else ())
        with _progress(lang) as progress:
            progress.add_task(_t(lang, "Grading and analysing", "评级与分析"), total=None)
            ev = _engine.evaluate(
                rules,
                customers,
                transactions,
                payments=payments,
                as_of=as_of_date,
                lang=lang,
                extra_metrics=extra,
            )
            results = ev.table.cache()
            built = reports.build_report(
                results,
                ev.rules.tier_names,
                previous=previous,
                alert_share=alert_share,
                churn_threshold=churn_threshold,
                lang=lang,
                title=ev.rules.name,
                as_of=ev.as_of,
            )
            _write_report(built, html, xlsx, lang)
    except TieringError as e:
        raise _fail(e, lang) from None
    reports.render_terminal(built, out, lang)
    _wrote(lang, html, xlsx)


@app.command()
def simulate(
    proposed: Annotated[Path, typer.Argument(help="The new rule file to try.")],
    against: Annotated[Path, typer.Option(help="The rule file in use today.")],
    customers: Annotated[str, typer.Option(help="Customers file: .csv, .parquet, .xlsx[#Sheet].")],
    transactions: Annotated[str, typer.Option(help="Transactions file: .csv, .parquet, .xlsx.")],
    payments: Payments = None,
    as_of: Annotated[
        str | None, typer.Option(help="Evaluation date (default: each rule file's as_of).")
    ] = None,
    html: Annotated[
        Path | None, typer.Option(help="Write the comparison as one HTML page.")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option(help="Write the comparison to a workbook.")] = None,
    lang: Lang = None,
) -> None:
    """What-if: grade the same customers under both rule files and show who would change
    tier, before anyone adopts the new rules."""
    lang = _check_lang(lang)
    try:
        as_of_date = _as_of(as_of)
        with _progress(lang) as progress:
            progress.add_task(
                _t(lang, "Grading under both rule files", "按两套规则评级"), total=None
            )
            current = _engine.evaluate(
                against, customers, transactions, payments=payments, as_of=as_of_date, lang=lang
            )
            new = _engine.evaluate(
                proposed, customers, transactions, payments=payments, as_of=as_of_date, lang=lang
            )
            current_results, new_results = current.table.cache(), new.table.cache()
            comparison = reports.compare(
                current_results, new_results, current.rules.tier_names, new.rules.tier_names
            )
            if html is not None or xlsx is not None:
                built = reports.build_report(
                    current_results,
                    current.rules.tier_names,
                    lang=lang,
                    title=f"{current.rules.name} → {new.rules.name}",
                    as_of=current.as_of,
                    comparison=comparison,
                )
                _write_report(built, html, xlsx, lang)
    except TieringError as e:
        raise _fail(e, lang) from None
    reports.render_comparison(comparison, out, lang)
    _wrote(lang, html, xlsx)


@app.command()
def migration(
    previous: Annotated[str, typer.Argument(help="Last period's output (tiering evaluate --out).")],
    current: Annotated[str, typer.Argument(help="This period's output.")],
    rules: Annotated[
        Path | None,
        typer.Option(help="The rule file, for the tier order (default: as the outputs list them)."),
    ] = None,
    lang: Lang = None,
) -> None:
    """Who moved between two outputs: the from→to matrix of customers and revenue, and the
    upgrades and downgrades."""
    lang = _check_lang(lang)
    try:
        before, after = reports.read_output(previous), reports.read_output(current)
        for name, table in ((previous, before), (current, after)):
            missing = [c for c in ("customer_id", "tier", "revenue") if c not in table.column_names]
            if missing:
                raise OutputError(
                    f"{name}: missing column(s) {', '.join(missing)}: is it an output of "
                    "tiering evaluate?",
                    f"{name}：缺少列 {'、'.join(missing)}：这是 tiering evaluate 的输出吗？",
                )
        if rules is not None:
            order = load_rules(rules).tier_names
        else:  # outputs list the best tier first
            order = list(dict.fromkeys(after.column("tier").to_pylist()))
            order += [t for t in dict.fromkeys(before.column("tier").to_pylist()) if t not in order]
        moved = reports.migration(before, after, [t for t in order if t is not None])
    except TieringError as e:
        raise _fail(e, lang) from None
    reports.render_migration(moved, out, lang)


def _write_report(built, html: Path | None, xlsx: Path | None, lang: str) -> None:
    if html is not None:
        reports.write_html(built, html, lang)
    if xlsx is not None:
        reports.write_xlsx(built, xlsx, lang)


def _wrote(lang: str, *paths: Path | None) -> None:
    for path in paths:
        if path is not None:
            out.print(_t(lang, f"Wrote {path}", f"已写出 {path}"), highlight=False)


def _as_of(text: str | None):
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise typer.BadParameter(f"not a date: {text}", param_hint="--as-of") from None


@app.command("clv")
def clv_command(
    customers: Annotated[str, typer.Option(help="Customers file: .csv, .parquet, .xlsx[#Sheet].")],
    transactions: Annotated[str, typer.Option(help="Transactions file: .csv, .parquet, .xlsx.")],
    as_of: Annotated[str, typer.Option(help="Predict from this date (required).")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write the predictions: .csv, .parquet, .xlsx.")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="A rule file whose columns: and clv: sections apply.")
    ] = None,
    horizon: Annotated[
        str | None, typer.Option(help="e.g. '12 months' (default 12 months).")
    ] = None,
    margin: Annotated[
        float | None, typer.Option(help="Margin on revenue, 0-1 (default 1).")
    ] = None,
    discount: Annotated[
        float | None, typer.Option(help="Monthly discount rate (default 0.01).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="bgnbd (default) or paretonbd.")] = None,
    lang: Lang = None,
) -> None:
    """Predict each customer's future purchases, survival and value (BG/NBD + Gamma-Gamma)."""
    lang = _check_lang(lang)
    try:
        as_of_date = parse_date(as_of)
    except ValueError:
        raise typer.BadParameter(f"not a date: {as_of}", param_hint="--as-of") from None
    try:
        if out_path is not None:
            _output.output_format(out_path)
        base = load_rules(rules) if rules else None
        overrides = {"horizon": horizon, "margin": margin, "discount": discount, "model": model}
        settings = _clv_settings(base, {k: v for k, v in overrides.items() if v is not None})
        with _progress(lang) as progress:
            progress.add_task(_t(lang, "Fitting and predicting", "拟合模型并预测"), total=None)
            table, purchases, spend = _prediction.predict_customers(
                customers,
                transactions,
                as_of=as_of_date,
                settings=settings,
                columns=base.columns if base else (),
            )
            if out_path is not None:
                _output.write_table(table, out_path, sheet="clv")
    except TieringError as e:
        raise _fail(e, lang) from None
    _print_models(purchases, spend, table, settings, lang)
    if out_path is not None:
        out.print(
            _t(
                lang,
                f"Wrote {table.num_rows:,} rows to {out_path}",
                f"已写出 {table.num_rows:,} 行到 {out_path}",
            ),
            highlight=False,
        )


def _clv_settings(base, given: dict):
    """The clv settings of a rule file (or the defaults), with options given on the command
    line taking precedence; checked like the rule file's own."""
    from tiering.rules import parse_rules

    section = {}
    if base is not None:
        s = base.clv
        section = {
            "horizon": str(s.horizon),
            "margin": s.margin,
            "discount": s.discount,
            "model": s.model,
        }
    section.update(given)
    rules = parse_rules(
        {
            "name": "clv",
            "clv": section,
            "thresholds": {"metric": "clv"},
            "tiers": [{"name": "a", "min": 1}, {"name": "b"}],
        },
        source="--horizon/--margin/--discount/--model",
    )
    return rules.clv


def _print_models(purchases, spend, table, settings, lang: str) -> None:
    import pyarrow.compute as pc

    t = Table(title=_t(lang, "Fitted models", "模型参数"), box=box.SIMPLE_HEAD)
    for h in (
        _t(lang, "Model", "模型"),
        _t(lang, "Parameter", "参数"),
        _t(lang, "Estimate", "估计值"),
        _t(lang, "Std. error", "标准误"),
    ):
        t.add_column(h)
    for m in (purchases, spend):
        name = type(m).__name__
        errors = getattr(m, "standard_errors_", {}) or {}
        for key, value in m.params_.items():
            se = errors.get(key)
            t.add_row(name, key, f"{value:.4g}", "" if se is None else f"{se:.3g}")
        t.add_row(name, "log-likelihood", f"{m.log_likelihood_:,.1f}", "")
    out.print(t)
    values = table.column("clv")
    alive = table.column("p_alive")
    buyers = pc.sum(pc.is_valid(values)).as_py()
    at_risk = pc.sum(pc.less(alive, 0.5)).as_py() or 0
    total = pc.sum(values).as_py() or 0.0
    out.print(
        _t(
            lang,
            f"{buyers:,} customers with purchases; predicted value over {settings.horizon} "
            f"(margin {settings.margin:g}, discount {settings.discount:g}/month): {total:,.0f}; "
            f"{at_risk:,} with p_alive < 0.5",
            f"{buyers:,} 个有购买记录的客户；未来 {settings.horizon} 预测价值"
            f"（毛利率 {settings.margin:g}，月贴现率 {settings.discount:g}）：{total:,.0f}；"
            f"存活概率低于 0.5 的客户 {at_risk:,} 个",
        ),
        highlight=False,
    )


@app.command("demo-data")
def demo_data(
    directory: Annotated[Path, typer.Argument(help="Folder to write the demo company into.")],
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="xlsx (customers.xlsx + 交易记录.csv + 回款记录.csv), csv or parquet."
        ),
    ] = "xlsx",
    lang: Lang = None,
) -> None:
    """Generate a realistic, seeded demo company: customers, three years of orders and the
    payments received for them."""
    lang = _check_lang(lang)
    if fmt not in ("xlsx", "csv", "parquet"):
        raise typer.BadParameter("use xlsx, csv or parquet", param_hint="--format")
    with _progress(lang) as progress:
        task = progress.add_task(_t(lang, "Generating", "生成中"), total=1.0)

        def report(label: str, fraction: float) -> None:
            progress.update(task, description=label, completed=fraction)

        try:
            files = _demo.generate_demo(
                directory, customers=customers, seed=seed, fmt=fmt, progress=report
            )
        except ValueError as e:
            err.print(f"[bold red]{_t(lang, 'Error', '错误')}:[/] {e}", highlight=False)
            raise typer.Exit(1) from None
    out.print(
        _t(
            lang,
            f"Wrote {files.customer_count:,} customers to {files.customers}, "
            f"{files.transaction_count:,} transactions to {files.transactions} and "
            f"{files.payment_count:,} payments to {files.payments}",
            f"已生成 {files.customer_count:,} 个客户（{files.customers}）、"
            f"{files.transaction_count:,} 条交易（{files.transactions}）和 "
            f"{files.payment_count:,} 条回款（{files.payments}）",
        ),
        highlight=False,
    )


def main() -> None:
    """Entry point of the ``tiering`` console script."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
