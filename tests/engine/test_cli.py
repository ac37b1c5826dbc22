"""The ``tiering`` command: check, evaluate (summary, output files, --as-of, --lang,
--previous, --overrides), atomic writes, error messages and exit codes. Tested in-process
with typer's CliRunner, and a few times as a real subprocess for the exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import tiering
from tiering.cli import app

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PARETO = ROOT / "examples" / "pareto.yaml"
SCORECARD = ROOT / "examples" / "scorecard.yaml"
TIERING = Path(sys.executable).parent / "tiering"
ENV = {"COLUMNS": "300", "TIERING_LANG": "en", "TIERING_PROGRESS": ""}
N_CUSTOMERS = 200
SEED = 11
FORMATS = ("xlsx", "csv", "parquet")

runner = CliRunner()


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Demo:
    folder: Path
    customers: Path
    transactions: Path
    ids: tuple[str, ...]


def invoke(*args: object):
    """Run ``tiering ARGS`` in-process; wide output so that no message is wrapped."""
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def run_tiering(*args: object) -> subprocess.CompletedProcess:
    """Run the installed ``tiering`` console script as a real process."""
    env = {**os.environ, **ENV}
    return subprocess.run(
        [str(TIERING), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
    )


def flat(text: str) -> str:
    """Text without any whitespace: robust to how the console wraps long lines."""
    return re.sub(r"\s+", "", text)


def says(output: str, *needles: object) -> bool:
    return all(flat(str(n)) in flat(output) for n in needles)


def read_rows(path: Path) -> list[dict]:
    """An output file (xlsx, csv or parquet) as a list of dicts."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as f:
            return list(csv.DictReader(f))
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet1") -> Path:
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def parse_summary(stdout: str) -> dict[str, dict[str, str]]:
    """The rows of the printed summary table, keyed by tier name (and Total/合计): any line
    ending in customers, %, revenue, %, profit, % (box drawing or not)."""
    number, share = r"-?[\d,]+(?:\.\d+)?", r"-?\d+(?:\.\d+)?%"
    row = re.compile(
        rf"^(?P<tier>.+?)\s+(?P<customers>[\d,]+)\s+(?P<customers_share>{share})\s+"
        rf"(?P<revenue>{number})\s+(?P<revenue_share>{share})\s+"
        rf"(?P<profit>{number})\s+(?P<profit_share>{share})$"
    )
    out = {}
    for line in stdout.splitlines():
        m = row.match(" ".join(line.replace("│", " ").replace("┃", " ").split()))
        if m:
            out[m["tier"]] = {k: v for k, v in m.groupdict().items() if k != "tier"}
    return out


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def small_inputs(folder: Path, tx_lines: list[list] | None = None) -> tuple[Path, Path]:
    """A tiny valid customers.csv / 交易记录.csv pair (Chinese headers) for error tests."""
    folder.mkdir(parents=True, exist_ok=True)
    cust = write_csv(
        folder / "customers.csv", [["客户编号", "地区"], ["A1", "华东"], ["A2", "华北"]]
    )
    rows = tx_lines or [
        ["A1", "2026-06-30", "100", "50"],
        ["A2", "2026-05-31", "10", "4"],
    ]
    tx = write_csv(folder / "交易记录.csv", [["客户编号", "日期", "金额", "成本"], *rows])
    return cust, tx


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A 200-customer demo company made by the real ``tiering demo-data`` command."""
    folder = tmp_path_factory.mktemp("demo")
    proc = run_tiering("demo-data", folder, "--customers", N_CUSTOMERS, "--seed", SEED)
    assert proc.returncode == 0, proc.stderr
    customers, transactions = folder / "customers.xlsx", folder / "交易记录.csv"
    assert customers.exists() and transactions.exists()
    rows = read_rows(customers)
    ids = tuple(str(r["客户编号"]) for r in rows)
    assert len(set(ids)) == N_CUSTOMERS
    return Demo(folder, customers, transactions, ids)


def evaluate_ok(demo: Demo, rules: Path, out: Path, *extra: object):
    result = invoke(
        "evaluate",
        rules,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--payments",  # read only by rules on payment metrics (examples/collection.yaml)
        demo.folder / "回款记录.csv",
        "--out",
        out,
        *extra,
    )
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


# --------------------------------------------------------------------------- check


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_check_passes_every_example(demo: Demo, example: Path) -> None:
    """Given a shipped example and the demo customers, when checked, then exit 0 and OK."""
    result = invoke("check", example, "--customers", demo.customers)
    assert result.exit_code == 0, result.stderr
    assert "OK" in result.stdout
    assert says(result.stdout, tiering.load_rules(example).name)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_check_passes_every_example_without_customers(example: Path) -> None:
    """Given a shipped example alone, when checked, then exit 0."""
    assert invoke("check", example).exit_code == 0


CHECK_CASES = {
    "unknown_metric": (
        "name: x\nthresholds: {metric: revenu}\ntiers:\n  - {name: A, min: 5}\n  - {name: B}\n",
        2,
        ["thresholds.metric", "revenu"],
    ),
    "weight_not_positive": (
        "name: x\nscorecard:\n  - {factor: revenue, weight: 1, scale: percentile}\n"
        "  - {factor: profit, weight: 0, scale: percentile}\n"
        "tiers:\n  - {name: A, min_score: 75}\n  - {name: B}\n",
        4,
        ["scorecard[1].weight", "positive"],
    ),
    "tiers_out_of_order": (
        "name: x\npareto: {metric: profit}\ntiers:\n  - {name: A, top: 50%}\n"
        "  - {name: B, top: 20%}\n  - {name: C}\n",
        5,
        ["tiers[1].top", "out of order"],
    ),
    "percentage_over_100": (
        "name: x\npareto: {metric: profit}\ntiers:\n  - {name: A, top: 150%}\n  - {name: B}\n",
        4,
        ["tiers[0].top", "100%"],
    ),
    "yaml_syntax": (
        "name: x\npareto:\n  metric: profit\n by: customers\n",
        4,
        ["YAML"],
    ),
    "unknown_key": (
        "name: x\npareto: {metric: profit}\ntiers:\n  - {name: A, top: 20%}\n  - {name: B}\n"
        "lookbak: 12 months\n",
        6,
        ["lookbak", "lookback"],
    ),
    "two_methods": (
        "name: x\npareto: {metric: profit}\nthresholds: {metric: revenue}\n"
        "tiers:\n  - {name: A, top: 20%}\n  - {name: B}\n",
        3,
        ["pareto", "thresholds"],
    ),
}


@pytest.mark.parametrize("case", CHECK_CASES)
def test_check_reports_the_problem_with_its_line(tmp_path: Path, case: str) -> None:
    """Given a rule file with one problem, when checked, then exit 1 and the message names
    the file, the line and what is wrong."""
    text, line, needles = CHECK_CASES[case]
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    result = invoke("check", rules)
    assert result.exit_code == 1
    assert says(result.stderr, rules, f"line {line}", *needles), result.stderr
    assert "OK" not in result.stdout


def test_check_in_chinese(tmp_path: Path) -> None:
    """Given a zero weight on line 4, when checked with --lang zh, then 第 4 行 in Chinese."""
    text, _, _ = CHECK_CASES["weight_not_positive"]
    rules = tmp_path / "规则.yaml"
    rules.write_text(text, encoding="utf-8")
    result = invoke("check", rules, "--lang", "zh")
    assert result.exit_code == 1
    assert says(result.stderr, "第 4 行", "权重", "错误")


ATTRIBUTE_RULES = """\
name: x
as_of: 2026-09-30
scorecard:
  - {factor: revenue, weight: 40, scale: percentile}
  - {factor: attribute.影响, weight: 10, scale: {map: {高: 100}}}
tiers:
  - {name: A, min_score: 75}
  - {name: B}
"""


def test_check_unknown_attribute_needs_customers(demo: Demo, tmp_path: Path) -> None:
    """Given a factor attribute.影响 (line 5) that the customers file lacks, when checked
    without --customers, then exit 0; with --customers, then exit 1 naming line 5, the
    attribute, and suggesting 影响力."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(ATTRIBUTE_RULES, encoding="utf-8")
    assert invoke("check", rules).exit_code == 0
    result = invoke("check", rules, "--customers", demo.customers)
    assert result.exit_code == 1
    assert says(result.stderr, rules, "line 5", "'影响'", "'影响力'")
    zh = invoke("check", rules, "--customers", demo.customers, "--lang", "zh")
    assert zh.exit_code == 1
    assert says(zh.stderr, "第 5 行", "影响")


def test_check_missing_rule_file(tmp_path: Path) -> None:
    """Given a rule path that does not exist, when checked, then exit 1 naming it."""
    result = invoke("check", tmp_path / "nope.yaml")
    assert result.exit_code == 1
    assert "nope.yaml" in flat(result.stderr)


# --------------------------------------------------------------------------- evaluate


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_evaluate_example(demo: Demo, tmp_path: Path, example: Path, fmt: str) -> None:
    """Given the demo company and a shipped example, when evaluated to .xlsx/.csv/.parquet,
    then exit 0, one row per customer with customer_id, tier and reason, every tier is one
    of the rules' tiers, and the printed summary counts match the file."""
    out = tmp_path / f"tiers.{fmt}"
    result = evaluate_ok(demo, example, out)
    rows = read_rows(out)
    assert len(rows) == N_CUSTOMERS
    assert sorted(str(r["customer_id"]) for r in rows) == sorted(demo.ids)
    assert {"customer_id", "tier", "reason"} <= set(rows[0])
    names = tiering.load_rules(example).tier_names
    assert {r["tier"] for r in rows} <= set(names)
    assert all(r["reason"] for r in rows)
    summary = parse_summary(result.stdout)
    counts = Counter(r["tier"] for r in rows)
    for name in names:
        assert int(summary[name]["customers"].replace(",", "")) == counts[name]
    assert summary["Total"]["customers"] == f"{N_CUSTOMERS:,}"
    assert says(result.stdout, f"Wrote {N_CUSTOMERS:,} rows", out)
    assert not [p for p in tmp_path.iterdir() if p.name != out.name]


def test_summary_has_revenue_profit_and_shares(demo: Demo, tmp_path: Path) -> None:
    """Given the pareto example, when evaluated, then the summary gives per tier the
    customers, revenue and profit with their shares, matching the output rows."""
    out = tmp_path / "tiers.parquet"
    summary = parse_summary(evaluate_ok(demo, PARETO, out).stdout)
    rows = read_rows(out)
    total_rev = sum(Decimal(str(r["revenue"])) for r in rows)
    total_pro = sum(Decimal(str(r["profit"])) for r in rows)
    for name in ("A", "B", "C"):
        mine = [r for r in rows if r["tier"] == name]
        rev = sum(Decimal(str(r["revenue"])) for r in mine)
        pro = sum(Decimal(str(r["profit"])) for r in mine)
        line = summary[name]
        assert line["customers_share"] == f"{len(mine) / len(rows):.1%}"
        assert abs(money(line["revenue"]) - rev) <= 1
        assert abs(money(line["profit"]) - pro) <= 1
        assert line["revenue_share"] == f"{float(rev / total_rev):.1%}"
        assert line["profit_share"] == f"{float(pro / total_pro):.1%}"
    assert summary["Total"]["customers_share"] == "100.0%"
    assert abs(money(summary["Total"]["revenue"]) - total_rev) <= 1


def test_summary_without_out_writes_nothing(demo: Demo, tmp_path: Path) -> None:
    """Given no --out, when evaluated, then the summary is printed and no file is written."""
    before = listing(demo.folder)
    result = invoke(
        "evaluate", PARETO, "--customers", demo.customers, "--transactions", demo.transactions
    )
    assert result.exit_code == 0, result.stderr
    assert "Total" in parse_summary(result.stdout)
    assert listing(demo.folder) == before


def test_help_does_not_import_the_engine() -> None:
    """Given a fresh interpreter, when the command line's module and the package are
    imported (what ``tiering --help`` loads), then neither Ibis, DuckDB, Arrow nor pandas
    is: they are imported on first use."""
    code = (
        "import sys, tiering, tiering.cli; "
        "print(sorted(m for m in ('ibis', 'duckdb', 'pyarrow', 'pandas', 'numpy') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    # and the lazy names still resolve
    assert tiering.evaluate.__module__ == "tiering.evaluation"
    assert "evaluate" in dir(tiering)


@pytest.mark.parametrize(
    "first",
    [
        *(f"from tiering import {name}" for name in sorted(tiering._LAZY)),
        *(
            f"import tiering.{m}"
            for m in ("metrics", "grading", "history", "prediction", "evaluation", "data")
        ),
    ],
)
def test_each_engine_name_imports_first(first: str) -> None:
    """Given a fresh interpreter, when an engine name or module is the first thing
    imported, then it loads (no import cycle depends on what was imported before)."""
    done = subprocess.run([sys.executable, "-c", first], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_writes_only_those(demo: Demo, tmp_path: Path, fmt: str) -> None:
    """Given --columns tier,customer_id, when evaluated, then the file holds exactly those
    columns in that order, the same tiers as the full output, and the summary is the
    full output's."""
    full, narrow = tmp_path / f"full.{fmt}", tmp_path / f"narrow.{fmt}"
    whole = evaluate_ok(demo, PARETO, full)
    chosen = evaluate_ok(demo, PARETO, narrow, "--columns", "tier, customer_id")
    rows = read_rows(narrow)
    assert list(rows[0]) == ["tier", "customer_id"]
    assert [(r["customer_id"], r["tier"]) for r in rows] == [
        (r["customer_id"], r["tier"]) for r in read_rows(full)
    ]
    assert parse_summary(chosen.stdout) == parse_summary(whole.stdout)


def test_columns_unknown_is_a_usage_error(demo: Demo, tmp_path: Path) -> None:
    """Given --columns naming a column the results do not have, when evaluated, then exit
    2 naming it and the columns there are, and nothing is written."""
    out = tmp_path / "t.csv"
    result = invoke(
        "evaluate",
        PARETO,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--out",
        out,
        "--columns",
        "customer_id,grade",
    )
    assert result.exit_code == 2
    assert says(result.output, "grade", "customer_id, tier")
    assert not out.exists()


def test_summary_in_chinese(demo: Demo, tmp_path: Path) -> None:
    """Given --lang zh, when evaluated, then the summary headings are Chinese."""
    result = evaluate_ok(demo, PARETO, tmp_path / "t.csv", "--lang", "zh")
    assert says(result.stdout, "等级", "客户数", "营收", "利润", "评估日", "已写出")
    assert "合计" in parse_summary(result.stdout)


def test_as_of_overrides_the_rule_file(demo: Demo, tmp_path: Path) -> None:
    """Given the pareto example (as_of 2026-09-30), when evaluated with --as-of 2026-06-30,
    then that date is used and the figures change."""
    default = evaluate_ok(demo, PARETO, tmp_path / "a.csv")
    earlier = evaluate_ok(demo, PARETO, tmp_path / "b.csv", "--as-of", "2026-06-30")
    assert "as of 2026-09-30" in default.stdout
    assert "as of 2026-06-30" in earlier.stdout
    assert "2026-09-30" not in earlier.stdout
    assert parse_summary(default.stdout)["Total"] != parse_summary(earlier.stdout)["Total"]


def test_as_of_is_needed_somewhere(demo: Demo, tmp_path: Path) -> None:
    """Given a rule file without as_of, when evaluated without --as-of, then exit 1 asking
    for it; with --as-of, then exit 0."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        PARETO.read_text(encoding="utf-8").replace("as_of: 2026-09-30\n", ""), encoding="utf-8"
    )
    out = tmp_path / "t.csv"
    result = invoke(
        "evaluate",
        rules,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--out",
        out,
    )
    assert result.exit_code == 1
    assert "--as-of" in result.stderr
    assert not out.exists()
    evaluate_ok(demo, rules, out, "--as-of", "2026-09-30")
    assert out.exists()


def test_customers_sheet_suffix_and_parquet_inputs_agree(demo: Demo, tmp_path: Path) -> None:
    """Given the same demo as customers.xlsx#客户 + CSV and as Parquet files, when both are
    evaluated, then every customer gets the same tier."""
    made = invoke(
        "demo-data",
        tmp_path / "pq",
        "--customers",
        N_CUSTOMERS,
        "--seed",
        SEED,
        "--format",
        "parquet",
    )
    assert made.exit_code == 0, made.stderr
    out_a, out_b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    result = invoke(
        "evaluate",
        SCORECARD,
        "--customers",
        f"{demo.customers}#客户",
        "--transactions",
        demo.transactions,
        "--out",
        out_a,
    )
    assert result.exit_code == 0, result.stderr
    result = invoke(
        "evaluate",
        SCORECARD,
        "--customers",
        tmp_path / "pq" / "customers.parquet",
        "--transactions",
        tmp_path / "pq" / "transactions.parquet",
        "--out",
        out_b,
    )
    assert result.exit_code == 0, result.stderr
    tiers_a = {r["customer_id"]: r["tier"] for r in read_rows(out_a)}
    tiers_b = {r["customer_id"]: r["tier"] for r in read_rows(out_b)}
    assert tiers_a == tiers_b


def test_mixed_headers_and_gbk_transactions(demo: Demo, tmp_path: Path) -> None:
    """Given customers.csv headed customer_id (UTF-8) and 交易记录.csv headed 客户编号 saved
    in GBK, when evaluated with the example mapping, then every customer is graded."""
    cust_rows = read_rows(demo.customers)
    header = ["customer_id" if h == "客户编号" else h for h in cust_rows[0]]
    cust = write_csv(
        tmp_path / "customers.csv",
        [header, *[["" if v is None else v for v in r.values()] for r in cust_rows]],
    )
    tx = tmp_path / "交易记录.csv"
    tx.write_bytes(demo.transactions.read_text(encoding="utf-8-sig").encode("gbk"))
    out = tmp_path / "out" / "tiers.xlsx"
    out.parent.mkdir()
    result = invoke("evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert sorted(str(r["customer_id"]) for r in read_rows(out)) == sorted(demo.ids)


# --------------------------------------------------------------------------- invalid input


def _bad_date(folder: Path):
    cust, tx = small_inputs(
        folder, [["A1", "2026-06-30", "1", "0"], ["A2", "2026-02-30", "2", "0"]]
    )
    return cust, tx, tx, ["row 3", "日期", "'2026-02-30'"]


def _bad_amount(folder: Path):
    cust, tx = small_inputs(
        folder, [["A1", "2026-06-30", "1", "0"], ["A2", "2026-06-30", "十二元", "0"]]
    )
    return cust, tx, tx, ["row 3", "金额", "'十二元'"]


def _unknown_customer(folder: Path):
    cust, tx = small_inputs(
        folder, [["A1", "2026-06-30", "1", "0"], ["Z9", "2026-06-30", "2", "0"]]
    )
    return cust, tx, tx, ["row 3", "客户编号", "'Z9'"]


def _duplicate_id(folder: Path):
    _, tx = small_inputs(folder)
    cust = write_xlsx(folder / "customers.xlsx", [["客户编号"], ["A1"], ["A2"], ["A2"]], "客户")
    return cust, tx, cust, ["row 3", "row 4", "客户编号", "'A2'", "duplicate"]


def _missing_column(folder: Path):
    cust, _ = small_inputs(folder)
    tx = write_csv(folder / "tx.csv", [["客户编号", "日期"], ["A1", "2026-06-30"]])
    return cust, tx, tx, ["金额", "missing"]


def _missing_file(folder: Path):
    cust, _ = small_inputs(folder)
    tx = folder / "没有这个文件.csv"
    return cust, tx, tx, ["not found"]


def _unknown_extension(folder: Path):
    cust, _ = small_inputs(folder)
    tx = folder / "tx.json"
    tx.write_text("[]", encoding="utf-8")
    return cust, tx, tx, [".csv"]


def _missing_sheet(folder: Path):
    _, tx = small_inputs(folder)
    book = write_xlsx(folder / "customers.xlsx", [["客户编号"], ["A1"], ["A2"]], "客户")
    return f"{book}#Nope", tx, book, ["Nope", "客户"]


INVALID = {
    "bad_date": _bad_date,
    "bad_amount": _bad_amount,
    "unknown_customer": _unknown_customer,
    "duplicate_id": _duplicate_id,
    "missing_column": _missing_column,
    "missing_file": _missing_file,
    "unknown_extension": _unknown_extension,
    "missing_sheet": _missing_sheet,
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_input_is_reported_and_nothing_written(tmp_path: Path, case: str) -> None:
    """Given an invalid input file, when evaluated with --out, then exit 1, the error names
    the file (and row, column, value where there are some), and no output file appears."""
    cust, tx, named, needles = INVALID[case](tmp_path / "in")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = invoke(
        "evaluate",
        PARETO,
        "--customers",
        cust,
        "--transactions",
        tx,
        "--out",
        out_dir / "tiers.xlsx",
    )
    assert result.exit_code == 1, (result.stdout, result.exception)
    assert says(result.stderr, "Error", named, *needles), result.stderr
    assert list(out_dir.iterdir()) == []


def test_invalid_input_in_chinese(tmp_path: Path) -> None:
    """Given a bad date on row 3, when evaluated with --lang zh, then the error is Chinese
    (第 3 行, 列 日期, the value)."""
    cust, tx, _, _ = _bad_date(tmp_path)
    result = invoke("evaluate", PARETO, "--customers", cust, "--transactions", tx, "--lang", "zh")
    assert result.exit_code == 1
    assert says(result.stderr, "错误", tx, "第 3 行", "列 日期", "2026-02-30", "不是日期")


@pytest.mark.parametrize("suffix", FORMATS)
def test_existing_output_untouched_on_invalid_input(tmp_path: Path, suffix: str) -> None:
    """Given an earlier tiers file, when a later run fails on invalid input, then the file
    is byte for byte unchanged and no temporary file is left beside it."""
    cust, tx = small_inputs(tmp_path / "in")
    out = tmp_path / "out" / f"tiers.{suffix}"
    out.parent.mkdir()
    first = invoke("evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", out)
    assert first.exit_code == 0, first.stderr
    before = listing(out.parent)
    stamp = out.stat().st_mtime_ns
    _, bad_tx, _, _ = _bad_amount(tmp_path / "bad")
    result = invoke("evaluate", PARETO, "--customers", cust, "--transactions", bad_tx, "--out", out)
    assert result.exit_code == 1
    assert listing(out.parent) == before
    assert out.stat().st_mtime_ns == stamp


def test_existing_output_untouched_on_invalid_rules(tmp_path: Path) -> None:
    """Given an earlier tiers file, when a later run has an invalid rule file, then exit 1
    and the file is unchanged."""
    cust, tx = small_inputs(tmp_path / "in")
    out = tmp_path / "out" / "tiers.csv"
    out.parent.mkdir()
    assert (
        invoke(
            "evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", out
        ).exit_code
        == 0
    )
    before = listing(out.parent)
    rules = tmp_path / "bad.yaml"
    rules.write_text(CHECK_CASES["two_methods"][0], encoding="utf-8")
    result = invoke("evaluate", rules, "--customers", cust, "--transactions", tx, "--out", out)
    assert result.exit_code == 1
    assert says(result.stderr, "line 3")
    assert listing(out.parent) == before


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    """Given --out in a folder that does not exist, when evaluated, then exit 1 naming it
    and nothing is created."""
    cust, tx = small_inputs(tmp_path / "in")
    out = tmp_path / "nowhere" / "tiers.csv"
    result = invoke("evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", out)
    assert result.exit_code == 1
    assert "nowhere" in flat(result.stderr)
    assert not out.parent.exists()


def test_unknown_output_extension(tmp_path: Path) -> None:
    """Given --out tiers.txt, when evaluated, then it is refused (exit 1 or 2) naming the
    extension and nothing is written."""
    cust, tx = small_inputs(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    result = invoke(
        "evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", out / "tiers.txt"
    )
    assert result.exit_code in (1, 2)
    assert ".txt" in result.stderr
    assert list(out.iterdir()) == []


def test_too_many_rows_for_excel(tmp_path: Path, monkeypatch) -> None:
    """Given more customers than an Excel sheet holds (the limit lowered to 1 here), when
    evaluated to .xlsx, then exit 1 saying to write .csv or .parquet and nothing is
    written; to .parquet the same run succeeds."""
    import tiering.output

    monkeypatch.setattr(tiering.output, "EXCEL_MAX_ROWS", 1)
    cust, tx = small_inputs(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    args = ("evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out")
    result = invoke(*args, out / "tiers.xlsx")
    assert result.exit_code == 1
    assert says(result.stderr, "do not fit in an Excel sheet", ".parquet")
    assert list(out.iterdir()) == []
    assert invoke(*args, out / "tiers.parquet").exit_code == 0


# --------------------------------------------------------------------------- usage


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", PARETO, "--customers", "c.csv"],
        ["evaluate", PARETO, "--customers", "c.csv", "--transactions", "t.csv", "--lang", "fr"],
        ["check", PARETO, "--lang", "de"],
        [
            "evaluate",
            PARETO,
            "--customers",
            "c.csv",
            "--transactions",
            "t.csv",
            "--as-of",
            "someday",
        ],
        ["evaluate"],
        ["nonsense"],
    ],
    ids=["missing_option", "bad_lang", "bad_lang_check", "bad_as_of", "no_rules", "no_command"],
)
def test_usage_errors_exit_2(args: list) -> None:
    """Given a command line that is wrong, when run, then exit 2 with a usage message."""
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Usage" in result.stderr or "Usage" in result.stdout


# --------------------------------------------------------------------------- previous


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_previous_round_trip_is_all_same(demo: Demo, tmp_path: Path, example: Path) -> None:
    """Given an output, when the same evaluation is run again with --previous of it, then
    previous_tier equals tier and change is 'same' for every customer."""
    first = tmp_path / "first.xlsx"
    evaluate_ok(demo, example, first)
    second = tmp_path / "second.parquet"
    result = evaluate_ok(demo, example, second, "--previous", first)
    rows = read_rows(second)
    assert len(rows) == N_CUSTOMERS
    assert {r["change"] for r in rows} == {"same"}
    assert all(r["previous_tier"] == r["tier"] for r in rows)
    assert {r["customer_id"]: r["tier"] for r in rows} == {
        str(r["customer_id"]): r["tier"] for r in read_rows(first)
    }
    assert says(result.stdout, f"same {N_CUSTOMERS:,}")
    assert "Moved up" not in result.stdout and "Moved down" not in result.stdout


def test_previous_lists_who_moved(demo: Demo, tmp_path: Path) -> None:
    """Given a previous output where one A customer was C, one C customer was A and one
    customer is absent, when evaluated with --previous, then change is up/down/new for
    them and the CLI prints who moved up and who moved down."""
    first = tmp_path / "first.csv"
    evaluate_ok(demo, PARETO, first)
    rows = read_rows(first)
    riser = next(r["customer_id"] for r in rows if r["tier"] == "A")
    faller = next(r["customer_id"] for r in rows if r["tier"] == "C")
    newcomer = next(r["customer_id"] for r in rows if r["tier"] == "B")
    was = {riser: "C", faller: "A"}
    previous = write_xlsx(
        tmp_path / "previous.xlsx",
        [
            ["customer_id", "tier"],
            *[
                [r["customer_id"], was.get(r["customer_id"], r["tier"])]
                for r in rows
                if r["customer_id"] != newcomer
            ],
        ],
    )
    out = tmp_path / "second.csv"
    result = evaluate_ok(demo, PARETO, out, "--previous", previous)
    change = {r["customer_id"]: r for r in read_rows(out)}
    assert (change[riser]["change"], change[riser]["previous_tier"]) == ("up", "C")
    assert (change[faller]["change"], change[faller]["previous_tier"]) == ("down", "A")
    assert change[newcomer]["change"] == "new"
    assert Counter(r["change"] for r in change.values()) == {
        "same": N_CUSTOMERS - 3,
        "up": 1,
        "down": 1,
        "new": 1,
    }
    text = result.stdout
    assert says(text, "up 1", "down 1", "new 1")
    up_part = text[text.index("Moved up") : text.index("Moved down")]
    down_part = text[text.index("Moved down") :]
    assert riser in up_part and faller not in up_part
    assert faller in down_part and riser not in down_part

    zh = evaluate_ok(demo, PARETO, tmp_path / "zh.csv", "--previous", previous, "--lang", "zh")
    assert says(zh.stdout, "升级客户", "降级客户", riser, faller)


def test_previous_file_missing(demo: Demo, tmp_path: Path) -> None:
    """Given --previous naming a missing file, when evaluated, then exit 1 naming it and
    nothing is written."""
    out = tmp_path / "t.csv"
    result = invoke(
        "evaluate",
        PARETO,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--out",
        out,
        "--previous",
        tmp_path / "old.xlsx",
    )
    assert result.exit_code == 1
    assert "old.xlsx" in flat(result.stderr)
    assert not out.exists()


# --------------------------------------------------------------------------- overrides


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_overrides_force_tiers_and_list_expired_ones(demo: Demo, tmp_path: Path, fmt: str) -> None:
    """Given an active override (C customer to A, until 2026-12-31) and an expired one
    (2026-01-31), when evaluated as of 2026-09-30, then the active one forces the tier with
    its reason and keeps computed_tier, the expired one is ignored and listed."""
    first = tmp_path / "first.csv"
    evaluate_ok(demo, PARETO, first)
    rows = read_rows(first)
    lifted = next(r["customer_id"] for r in rows if r["tier"] == "C")
    stale = next(r["customer_id"] for r in rows if r["tier"] == "B")
    header = ["customer_id", "tier", "reason", "expires"]
    if fmt == "csv":
        overrides = write_csv(
            tmp_path / "overrides.csv",
            [
                header,
                [lifted, "A", "战略客户", "2026-12-31"],
                [stale, "C", "old deal", "2026-01-31"],
            ],
        )
    else:
        overrides = write_xlsx(
            tmp_path / "overrides.xlsx",
            [
                header,
                [lifted, "A", "战略客户", dt.datetime(2026, 12, 31)],
                [stale, "C", "old deal", dt.datetime(2026, 1, 31)],
            ],
        )
    out = tmp_path / "second.csv"
    result = evaluate_ok(demo, PARETO, out, "--overrides", overrides)
    by_id = {r["customer_id"]: r for r in read_rows(out)}
    assert by_id[lifted]["tier"] == "A"
    assert by_id[lifted]["computed_tier"] == "C"
    assert by_id[lifted]["override_reason"] == "战略客户"
    assert by_id[stale]["tier"] == "B"
    assert not by_id[stale]["override_reason"]
    expired = result.stdout[result.stdout.index("Expired overrides") :]
    assert says(expired, stale, "old deal", "2026-01-31")
    assert lifted not in expired


def test_overrides_bad_row_is_reported(demo: Demo, tmp_path: Path) -> None:
    """Given an overrides file whose row 3 names tier 'Z', when evaluated, then exit 1
    naming the file, row 3, column tier and the value, and nothing is written."""
    overrides = write_csv(
        tmp_path / "overrides.csv",
        [
            ["customer_id", "tier", "reason", "expires"],
            [demo.ids[0], "A", "ok", "2026-12-31"],
            [demo.ids[1], "Z", "typo", "2026-12-31"],
        ],
    )
    out = tmp_path / "t.csv"
    result = invoke(
        "evaluate",
        PARETO,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--out",
        out,
        "--overrides",
        overrides,
    )
    assert result.exit_code == 1, result.exception
    assert says(result.stderr, overrides, "row 3", "column tier", "'Z'")
    assert not out.exists()


# --------------------------------------------------------------------------- real processes


def test_process_check_ok_exits_0(demo: Demo) -> None:
    """Given the scorecard example and the demo customers, when `tiering check` runs as a
    process, then it exits 0."""
    proc = run_tiering("check", SCORECARD, "--customers", demo.customers)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_process_check_problem_exits_1(tmp_path: Path) -> None:
    """Given a rule file with a zero weight, when `tiering check` runs, then it exits 1."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(CHECK_CASES["weight_not_positive"][0], encoding="utf-8")
    proc = run_tiering("check", rules)
    assert proc.returncode == 1
    assert says(proc.stderr, "line 4")


def test_process_evaluate_ok_and_invalid(demo: Demo, tmp_path: Path) -> None:
    """Given the demo, when `tiering evaluate` runs as a process, then it exits 0 and
    writes the file; with a bad transactions file it exits 1 and writes nothing."""
    out = tmp_path / "tiers.xlsx"
    proc = run_tiering(
        "evaluate",
        PARETO,
        "--customers",
        demo.customers,
        "--transactions",
        demo.transactions,
        "--out",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(read_rows(out)) == N_CUSTOMERS
    cust, tx, _, needles = _bad_date(tmp_path / "bad")
    bad_out = tmp_path / "bad.xlsx"
    proc = run_tiering(
        "evaluate", PARETO, "--customers", cust, "--transactions", tx, "--out", bad_out
    )
    assert proc.returncode == 1
    assert says(proc.stderr, tx, *needles)
    assert not bad_out.exists()


@pytest.mark.parametrize(
    "args",
    [["evaluate", PARETO, "--customers", "c.csv"], ["check", PARETO, "--lang", "xx"]],
    ids=["missing_option", "bad_lang"],
)
def test_process_usage_exits_2(args: list) -> None:
    """Given a wrong command line, when `tiering` runs as a process, then it exits 2."""
    assert run_tiering(*args).returncode == 2
