"""The insight commands: ``tiering report``, ``tiering simulate`` and ``tiering clv``.

Each is run in-process (typer's CliRunner) on a small demo company generated once."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tiering.cli import app
from tiering.demo import generate_demo

ROOT = Path(__file__).parents[2]
SCORECARD = ROOT / "examples" / "scorecard.yaml"
PARETO = ROOT / "examples" / "pareto.yaml"
CLV = ROOT / "examples" / "clv.yaml"
ENV = {"COLUMNS": "300", "TIERING_LANG": "en", "TIERING_PROGRESS": ""}
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], env=ENV)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("insight")
    files = generate_demo(folder, customers=250, seed=5, fmt="csv")
    return files.customers, files.transactions


def test_report_prints_every_section_and_writes_html_and_xlsx(demo, tmp_path):
    """Given the demo, when `tiering report` runs with --html and --xlsx, then the terminal
    shows the verdict, concentration, tiers, follow-ups and churn sections, the page holds
    plotly inlined (no network) and the workbook one sheet per section."""
    customers, transactions = demo
    html, xlsx = tmp_path / "r.html", tmp_path / "r.xlsx"
    result = invoke(
        "report",
        PARETO,
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--html",
        html,
        "--xlsx",
        xlsx,
    )
    assert result.exit_code == 0, result.output
    for heading in ("Is tiering worth it", "Concentration", "Follow-ups", "Churn"):
        assert flat(heading) in flat(result.output), heading
    page = html.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in page or "plotly" in page.lower()
    assert not re.search(r"<script[^>]+src=[\"']https?://", page)
    book = openpyxl.load_workbook(xlsx, read_only=True)
    try:
        assert len(book.sheetnames) >= 4
    finally:
        book.close()


def test_report_with_previous_adds_the_migration(demo, tmp_path):
    """Given last quarter's output, when `tiering report --previous` runs, then it shows the
    migration between the two periods."""
    customers, transactions = demo
    last = tmp_path / "q2.csv"
    done = invoke(
        "evaluate",
        SCORECARD,
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--as-of",
        "2026-06-30",
        "--out",
        last,
    )
    assert done.exit_code == 0, done.output
    result = invoke(
        "report",
        SCORECARD,
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--previous",
        last,
        "--no-predict",
    )
    assert result.exit_code == 0, result.output
    assert "migration" in result.output.lower()


def test_report_into_a_missing_folder_fails_cleanly(demo, tmp_path):
    """Given an --html path in a folder that does not exist, when the report runs, then it
    exits 1 naming the path and writes nothing."""
    customers, transactions = demo
    target = tmp_path / "nope" / "r.html"
    result = invoke(
        "report",
        PARETO,
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--html",
        target,
        "--no-predict",
    )
    assert result.exit_code == 1
    assert str(target) in flat(result.output) or "nope" in result.output
    assert not target.parent.exists()


def test_simulate_the_same_rules_changes_nobody(demo):
    """Given one rule file tried against itself, when simulated, then no customer changes
    tier."""
    customers, transactions = demo
    result = invoke(
        "simulate",
        PARETO,
        "--against",
        PARETO,
        "--customers",
        customers,
        "--transactions",
        transactions,
    )
    assert result.exit_code == 0, result.output
    changed = re.search(r"Changed tier\s+(\d+)", result.output)
    assert changed and changed.group(1) == "0"


def test_simulate_a_new_rule_file_shows_the_moves(demo, tmp_path):
    """Given the CLV-based rules tried against the scorecard, when simulated, then some
    customers change tier and the HTML page is written."""
    customers, transactions = demo
    html = tmp_path / "whatif.html"
    result = invoke(
        "simulate",
        CLV,
        "--against",
        SCORECARD,
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--html",
        html,
    )
    assert result.exit_code == 0, result.output
    changed = re.search(r"Changed tier\s+(\d+)", result.output)
    assert changed and int(changed.group(1)) > 0
    assert html.stat().st_size > 100_000  # plotly.js is inlined


def test_clv_writes_one_prediction_per_customer(demo, tmp_path):
    """Given the demo, when `tiering clv` runs, then every customer has a row; buyers get
    p_alive in [0, 1] and a CLV ≥ 0; prospects have none; the parameters are printed."""
    customers, transactions = demo
    out = tmp_path / "clv.parquet"
    result = invoke(
        "clv",
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--as-of",
        "2026-09-30",
        "--rules",
        CLV,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    assert "BetaGeoModel" in result.output and "GammaGammaModel" in result.output
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 250
    buyers = [r for r in rows if r["frequency"] is not None]
    assert buyers and all(0 <= r["p_alive"] <= 1 and r["clv"] >= 0 for r in buyers)
    assert any(r["frequency"] is None and r["clv"] is None for r in rows)


def test_clv_rejects_a_bad_margin_and_needs_as_of(demo):
    """Given --margin 3, then exit 1 naming margin; without --as-of, then usage exit 2."""
    customers, transactions = demo
    bad = invoke(
        "clv",
        "--customers",
        customers,
        "--transactions",
        transactions,
        "--as-of",
        "2026-09-30",
        "--margin",
        "3",
    )
    assert bad.exit_code == 1 and "margin" in bad.output
    usage = invoke("clv", "--customers", customers, "--transactions", transactions)
    assert usage.exit_code == 2


def test_migration_between_two_outputs(demo, tmp_path):
    """Given last and this quarter's outputs, when `tiering migration` runs, then it prints
    the from→to matrix and the upgrades; an output without a tier column is refused."""
    customers, transactions = demo
    outputs = []
    for as_of in ("2026-06-30", "2026-09-30"):
        path = tmp_path / f"{as_of}.csv"
        done = invoke(
            "evaluate",
            SCORECARD,
            "--customers",
            customers,
            "--transactions",
            transactions,
            "--as-of",
            as_of,
            "--out",
            path,
        )
        assert done.exit_code == 0, done.output
        outputs.append(path)
    result = invoke("migration", *outputs, "--rules", SCORECARD)
    assert result.exit_code == 0, result.output
    assert "Previoustier\\Currenttier" in flat(result.output)
    assert "Upgrades" in result.output
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("customer_id,x\nC1,1\n", encoding="utf-8")
    refused = invoke("migration", bogus, outputs[1])
    assert refused.exit_code == 1 and "tier" in refused.output
