"""Rule files (tiering.load_rules): every problem is reported with its line and field, in
English and Chinese; the shipped examples are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

import tiering

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def write_rules(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tiering.Problem]:
    with pytest.raises(tiering.RuleError) as info:
        tiering.load_rules(path)
    return info.value.problems


def where(problems: list[tiering.Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.field) for p in problems]


# --------------------------------------------------------------------------- valid files


def test_there_are_examples() -> None:
    """Given the repository, then it ships the five example rule files."""
    assert {p.stem for p in EXAMPLES} >= {"membership", "pareto", "prospects", "rfm", "scorecard"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_load(path: Path) -> None:
    """Given a shipped example, when loaded, then it is valid, named, has tiers and maps
    columns, without warnings."""
    rules = tiering.load_rules(path)
    assert rules.name
    assert len(rules.tier_names) >= 2
    assert rules.as_of is not None
    assert dict(rules.columns).get("customer_id") == "客户编号"
    assert rules.warnings == ()


def test_columns_mapping_is_kept(tmp_path: Path) -> None:
    """Given a columns: mapping, when loaded, then it is available as (ours, theirs) pairs."""
    path = write_rules(
        tmp_path,
        "name: x\ncolumns: {customer_id: 客户编号, date: 日期, amount: 金额, cost: 成本}\n"
        "pareto: {metric: profit}\ntiers:\n  - {name: A, top: 20%}\n  - {name: B}\n",
    )
    assert dict(tiering.load_rules(path).columns) == {
        "customer_id": "客户编号",
        "date": "日期",
        "amount": "金额",
        "cost": "成本",
    }


# --------------------------------------------------------------------------- problems

UNKNOWN_METRIC = """\
name: x
as_of: 2026-09-30
scorecard:
  - {factor: revenue, weight: 40, scale: percentile}
  - {factor: revenu, weight: 60, scale: percentile}
tiers:
  - {name: A, min_score: 75}
  - {name: B}
"""

WEIGHTS = """\
name: x
scorecard:
  - {factor: revenue, weight: 40, scale: percentile}
  - {factor: profit, weight: 0, scale: percentile}
  - {factor: orders, weight: -5, scale: percentile}
tiers:
  - {name: A, min_score: 75}
  - {name: B}
"""


def test_unknown_metric(tmp_path: Path) -> None:
    """Given a factor 'revenu' on line 5, when loaded, then one problem on line 5 names it
    and suggests revenue."""
    [problem] = problems_of(write_rules(tmp_path, UNKNOWN_METRIC))
    assert (problem.line, problem.field) == (5, "scorecard[1].factor")
    en = problem.message("en")
    assert "line 5" in en and "revenu" in en and "'revenue'" in en


def test_unknown_metric_in_thresholds(tmp_path: Path) -> None:
    """Given thresholds on metric 'sales' (line 2), when loaded, then line 2 is reported."""
    path = write_rules(
        tmp_path,
        "name: x\nthresholds: {metric: sales}\ntiers:\n  - {name: A, min: 5}\n  - {name: B}\n",
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.field) == (2, "thresholds.metric")
    assert "sales" in problem.message("en")


def test_weights_must_be_positive(tmp_path: Path) -> None:
    """Given weights 0 (line 4) and -5 (line 5), when loaded, then both are reported."""
    problems = problems_of(write_rules(tmp_path, WEIGHTS))
    assert where(problems) == [(4, "scorecard[1].weight"), (5, "scorecard[2].weight")]
    assert "positive" in problems[0].message("en")
    assert "-5" in problems[1].message("en")


@pytest.mark.parametrize(
    ("method", "first", "second"),
    [
        ("pareto: {metric: profit}", "top: 50%", "top: 20%"),
        ("pareto: {metric: profit, by: value}", "share: 80%", "share: 50%"),
        ("thresholds: {metric: revenue}", "min: 1000", "min: 50000"),
        (
            "scorecard: [{factor: revenue, weight: 1, scale: percentile}]",
            "min_score: 60",
            "min_score: 75",
        ),
        ("window: {date: attribute.close}", "within: 6 months", "within: 3 months"),
    ],
)
def test_tiers_out_of_order(tmp_path: Path, method: str, first: str, second: str) -> None:
    """Given a second tier that is not worse than the first (line 5), when loaded, then
    the problem is on line 5 and says the tiers are out of order."""
    text = (
        f"name: x\n{method}\ntiers:\n"
        f"  - {{name: A, {first}}}\n  - {{name: B, {second}}}\n  - {{name: C}}\n"
    )
    [problem] = problems_of(write_rules(tmp_path, text))
    assert problem.line == 5
    assert problem.field.startswith("tiers[1].")
    assert "out of order" in problem.message("en")


@pytest.mark.parametrize(("key", "value"), [("top", "120%"), ("top", "1.5"), ("share", "101%")])
def test_percentage_over_100(tmp_path: Path, key: str, value: str) -> None:
    """Given a tier bound over 100% on line 4, when loaded, then line 4 reports it."""
    by = "value" if key == "share" else "customers"
    text = (
        f"name: x\npareto: {{metric: profit, by: {by}}}\ntiers:\n"
        f"  - {{name: A, {key}: {value}}}\n  - {{name: B}}\n"
    )
    [problem] = problems_of(write_rules(tmp_path, text))
    assert (problem.line, problem.field) == (4, f"tiers[0].{key}")
    assert "100%" in problem.message("en")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    """Given a key indented wrongly on line 4, when loaded, then a YAML problem on line 4."""
    text = "name: x\npareto:\n  metric: profit\n by: customers\ntiers: []\n"
    [problem] = problems_of(write_rules(tmp_path, text))
    assert problem.line == 4
    assert "YAML" in problem.message("en")


def test_yaml_tab_indentation(tmp_path: Path) -> None:
    """Given a tab used for indentation on line 3, when loaded, then a YAML problem on line 3."""
    text = "name: x\npareto:\n\tmetric: profit\n"
    [problem] = problems_of(write_rules(tmp_path, text))
    assert problem.line == 3
    assert "YAML" in problem.message("en")


@pytest.mark.parametrize(
    ("text", "line", "field", "key"),
    [
        ("lookbak: 12 months\n", 6, "lookbak", "lookbak"),
        ("downgrade: {grace: 1, graze: 2}\n", 6, "downgrade.graze", "graze"),
    ],
)
def test_unknown_keys(tmp_path: Path, text: str, line: int, field: str, key: str) -> None:
    """Given a misspelt key, when loaded, then its line and dotted path are reported."""
    base = "name: x\npareto: {metric: profit}\ntiers:\n  - {name: A, top: 20%}\n  - {name: B}\n"
    [problem] = problems_of(write_rules(tmp_path, base + text))
    assert (problem.line, problem.field) == (line, field)
    assert f"unknown key '{key}'" in problem.message("en")


def test_unknown_key_in_a_tier(tmp_path: Path) -> None:
    """Given a tier with key 'minimum' (line 4), when loaded, then line 4 reports it."""
    text = (
        "name: x\nthresholds: {metric: revenue}\ntiers:\n"
        "  - {name: A, min: 5, minimum: 9}\n  - {name: B}\n"
    )
    [problem] = problems_of(write_rules(tmp_path, text))
    assert (problem.line, problem.field) == (4, "tiers[0].minimum")


def test_two_methods(tmp_path: Path) -> None:
    """Given pareto (line 2) and thresholds (line 3), when loaded, then the second method's
    line is reported and both methods are named."""
    text = (
        "name: x\npareto: {metric: profit}\nthresholds: {metric: revenue}\n"
        "tiers:\n  - {name: A, top: 20%}\n  - {name: B}\n"
    )
    [problem] = problems_of(write_rules(tmp_path, text))
    assert problem.line == 3
    message = problem.message("en")
    assert "pareto" in message and "thresholds" in message


def test_every_problem_is_collected(tmp_path: Path) -> None:
    """Given an unknown key, a zero weight and tiers out of order, when loaded, then one
    RuleError lists all three, each with its line."""
    text = """\
name: x
scorecard:
  - {factor: revenue, weight: 0, scale: percentile}
tiers:
  - {name: A, min_score: 60}
  - {name: B, min_score: 75}
  - {name: C}
colums: {customer_id: 客户编号}
"""
    problems = problems_of(write_rules(tmp_path, text))
    assert sorted(p.line for p in problems) == [3, 6, 8]


def test_problems_in_chinese(tmp_path: Path) -> None:
    """Given a zero weight on line 4, when the message is asked for in Chinese, then it
    says 第 4 行 and the problem in Chinese."""
    problems = problems_of(write_rules(tmp_path, WEIGHTS))
    zh = problems[0].message("zh")
    assert "第 4 行" in zh
    assert "权重" in zh
    assert "line" not in zh


def test_rule_error_message_names_the_file(tmp_path: Path) -> None:
    """Given an invalid rule file, when the RuleError is printed, then it names the file and
    every problem's line, in English and in Chinese."""
    path = write_rules(tmp_path, WEIGHTS, "评级规则.yaml")
    with pytest.raises(tiering.RuleError) as info:
        tiering.load_rules(path)
    assert str(path) in str(info.value)
    assert "line 4" in str(info.value) and "line 5" in str(info.value)
    assert "第 4 行" in info.value.message("zh") and "第 5 行" in info.value.message("zh")


def test_missing_rule_file(tmp_path: Path) -> None:
    """Given a path that does not exist, when loaded, then a RuleError names it."""
    with pytest.raises(tiering.RuleError) as info:
        tiering.load_rules(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_rule_error_is_a_tiering_error(tmp_path: Path) -> None:
    """Given an invalid rule file, then the error can be caught as TieringError."""
    with pytest.raises(tiering.TieringError):
        tiering.load_rules(write_rules(tmp_path, WEIGHTS))
