"""Rule files: parse, validate, and explain every problem with its line.

A rule file is YAML with a ``name``, an optional ``as_of``, ``lookback`` and ``columns``,
exactly one grading method (``scorecard``, ``pareto``, ``thresholds``, ``rfm`` or
``window``), ``tiers`` ordered best first, and optional ``downgrade`` protection. The
README's rule-file guide describes each key; this module turns the YAML into frozen
dataclasses (:class:`RuleSet` and friends) and collects *every* problem it finds, each with
the line it is on, before raising one :class:`~tiering.exceptions.RuleError`.

Numbers that decide a tier are kept exact: percentages as :class:`fractions.Fraction`,
money thresholds as :class:`decimal.Decimal`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from tiering.exceptions import Problem, RuleError
from tiering.periods import Period, parse_date, parse_period

#: Metrics computed per customer (see :mod:`tiering.metrics`), with their labels.
METRICS: dict[str, tuple[str, str]] = {
    "revenue": ("revenue", "营收"),
    "cost": ("cost", "成本"),
    "profit": ("profit", "利润"),
    "margin": ("margin", "毛利率"),
    "orders": ("orders", "订单数"),
    "avg_order_value": ("average order value", "客单价"),
    "active_months": ("active months", "活跃月数"),
    "recency_days": ("days since last order", "距最近购买天数"),
    "tenure_days": ("days since first order", "合作天数"),
    "lifetime_revenue": ("lifetime revenue", "累计营收"),
    "lifetime_orders": ("lifetime orders", "累计订单数"),
    "growth": ("growth", "增长率"),
    "payments": ("payments received", "回款金额"),
    "collection_rate": ("collection rate", "回款率"),
    "receivables": ("receivables", "应收账款"),
    "receivables_turnover": ("receivables turnover", "应收账款周转率"),
    "clv": ("predicted value (CLV)", "预测客户价值"),
    "p_alive": ("probability still active", "存活概率"),
    "expected_orders": ("expected orders", "预期订单数"),
}
#: Metrics that are sums of money: exact decimals, compared exactly with thresholds.
MONEY_METRICS = frozenset(
    {"revenue", "cost", "profit", "lifetime_revenue", "payments", "receivables"}
)
#: Metrics computed from the payments received (回款): they need a payments input.
PAYMENT_METRICS = frozenset({"payments", "collection_rate", "receivables", "receivables_turnover"})
#: Metrics that need a ``lookback`` to mean anything.
WINDOWED_ONLY = frozenset({"growth"})
#: Metrics predicted by the buy-till-you-die models (see :mod:`tiering.clv`).
PREDICTED = frozenset({"clv", "p_alive", "expected_orders"})

RFM_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    # code (R, F, M high=1), Chinese name, English name
    ("111", "重要价值客户", "important value"),
    ("101", "重要发展客户", "important development"),
    ("011", "重要保持客户", "important retention"),
    ("001", "重要挽留客户", "important win-back"),
    ("110", "一般价值客户", "general value"),
    ("100", "一般发展客户", "general development"),
    ("010", "一般保持客户", "general retention"),
    ("000", "一般挽留客户", "general win-back"),
)

METHODS = ("scorecard", "pareto", "thresholds", "rfm", "window")
#: The key that bounds a tier, per method (pareto: ``top`` or ``share`` by its ``by``).
TIER_KEY = {"scorecard": "min_score", "thresholds": "min", "window": "within", "rfm": "code"}
TOP_KEYS = (
    "name",
    "as_of",
    "lookback",
    "columns",
    "tiers",
    "downgrade",
    "clv",
    "description",
    *METHODS,
)


def metric_label(ref: str, lang: str) -> str:
    """A metric reference as a user reads it: ``revenue`` -> 营收 in Chinese."""
    if ref.startswith("attribute."):
        return ref.split(".", 1)[1]
    en, zh = METRICS.get(ref, (ref, ref))
    return zh if lang.startswith("zh") else en


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Tier:
    """One tier, best first in :attr:`RuleSet.tiers`. Only the key of its method is set."""

    name: str
    min_score: float | None = None
    top: Fraction | None = None
    share: Fraction | None = None
    min: Decimal | None = None
    within: Period | None = None
    code: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Scale:
    """How a factor's value becomes 0-100 points."""

    kind: str  # percentile | minmax | bands | map
    bands: tuple[tuple[float, float], ...] = ()
    mapping: tuple[tuple[str, float], ...] = ()
    default: float = 0.0


@dataclass(frozen=True)
class Factor:
    """One scorecard factor: a metric, its weight and its scale."""

    factor: str
    name: str
    weight: float
    scale: Scale
    invert: bool = False
    group_by: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Scorecard:
    factors: tuple[Factor, ...]

    @property
    def total_weight(self) -> float:
        return sum(f.weight for f in self.factors)


@dataclass(frozen=True)
class Pareto:
    metric: str
    by: str = "customers"  # or "value"
    group_by: str | None = None


@dataclass(frozen=True)
class Thresholds:
    metric: str


@dataclass(frozen=True)
class RFM:
    recency: str = "recency_days"
    frequency: str = "orders"
    monetary: str = "revenue"
    split: str = "mean"


@dataclass(frozen=True)
class Window:
    date: str


Method: TypeAlias = Scorecard | Pareto | Thresholds | RFM | Window
"""A grading method's settings: :attr:`RuleSet.method`, as named by its ``method_name``."""


@dataclass(frozen=True)
class Downgrade:
    grace: int = 0
    band: float = 0.0


@dataclass(frozen=True)
class CLVSettings:
    """How the predicted metrics are computed (``clv:`` in a rule file).

    ``horizon`` is how far ahead CLV and expected_orders look; ``margin`` turns expected
    revenue into profit; ``discount`` is the monthly discount rate; ``model`` is ``bgnbd``
    or ``paretonbd`` for purchases (spend always from Gamma-Gamma).
    """

    horizon: Period = field(default_factory=lambda: Period(12, "months"))
    margin: float = 1.0
    discount: float = 0.01
    model: str = "bgnbd"


@dataclass(frozen=True)
class RuleSet:
    """A validated rule file. Build one with :func:`load_rules` or :func:`parse_rules`."""

    name: str
    method_name: str
    method: Method
    tiers: tuple[Tier, ...]
    as_of: dt.date | None = None
    lookback: Period | None = None
    columns: tuple[tuple[str, str], ...] = ()
    downgrade: Downgrade = field(default_factory=Downgrade)
    clv: CLVSettings = field(default_factory=CLVSettings)
    source: str = "<rules>"
    warnings: tuple[Problem, ...] = ()
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]

    def metric_refs(self) -> list[str]:
        """Every metric or attribute the method reads, in order, without repeats."""
        m = self.method
        if isinstance(m, Scorecard):
            refs = [f.factor for f in m.factors] + [f.group_by for f in m.factors if f.group_by]
        elif isinstance(m, Pareto):
            refs = [m.metric] + ([m.group_by] if m.group_by else [])
        elif isinstance(m, Thresholds):
            refs = [m.metric]
        elif isinstance(m, RFM):
            refs = [m.recency, m.frequency, m.monetary]
        else:
            refs = [m.date]
        return list(dict.fromkeys(refs))

    def attribute_problems(self, columns: list[str]) -> list[Problem]:
        """Problems for attributes the rules use that the customers file does not have."""
        problems = []
        for ref in self.metric_refs():
            if ref.startswith("attribute."):
                name = ref.split(".", 1)[1]
                if name not in columns:
                    problems.append(
                        _problem(
                            self.lines.get("@" + ref),
                            ref,
                            f"the customers file has no column {name!r}"
                            + _suggest(name, columns, "en"),
                            f"客户文件中没有列 {name!r}" + _suggest(name, columns, "zh"),
                        )
                    )
        return problems


# --------------------------------------------------------------------------- parsing


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a rule file. Raises :class:`RuleError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RuleError(str(path), [_problem(None, "", "file not found", "找不到文件")]) from None
    except UnicodeDecodeError:
        try:
            text = path.read_bytes().decode("gb18030")
        except UnicodeDecodeError:
            raise RuleError(
                str(path),
                [_problem(None, "", "not a UTF-8 or GBK text file", "不是 UTF-8 或 GBK 文本文件")],
            ) from None
    return parse_rules(text, source=str(path))


def parse_rules(text: str | dict, source: str = "<rules>") -> RuleSet:
    """Validate rules given as YAML text or as an already-parsed dict."""
    lines: dict[str, int] = {}
    if isinstance(text, dict):
        data = text
    else:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            what = getattr(e, "problem", None) or str(e)
            raise RuleError(
                source,
                [_problem(line, "", f"not valid YAML: {what}", f"YAML 格式错误：{what}")],
            ) from None
        if node is None:
            raise RuleError(source, [_problem(None, "", "the file is empty", "文件为空")])
        data = _to_python(node, "", lines)
    return _Validator(data, lines, source).build()


def _to_python(node: yaml.Node, path: str, lines: dict[str, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(  # construct the scalar key the way SafeLoader would
                ""
            ).construct_object(key_node)
            key = str(key)
            child = f"{path}.{key}" if path else key
            lines[child] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, child, lines)
            lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, f"{path}[{i}]", lines) for i, v in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node)


def _problem(line, field_, en, zh, severity="error") -> Problem:
    return Problem(line, field_, en, zh, severity)


def _suggest(word: str, options, lang: str) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    if not close:
        return ""
    return f"（是否想写 {close[0]!r}？）" if lang == "zh" else f" (did you mean {close[0]!r}?)"


def _fraction(value: Any) -> Fraction:
    """``20%`` / ``"12.5%"`` / ``0.2`` as an exact fraction in [0, 1]. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str) and value.strip().endswith("%"):
        frac = Fraction(Decimal(value.strip()[:-1].strip())) / 100
    elif isinstance(value, int | float):
        frac = Fraction(Decimal(str(value)))
        if frac > 1:
            raise OverflowError
    else:
        raise ValueError
    return frac


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    return float(value)


class _Validator:
    """Walks the parsed YAML once, collecting problems instead of stopping at the first."""

    def __init__(self, data: Any, lines: dict[str, int], source: str):
        self.data = data
        self.lines = lines
        self.source = source
        self.problems: list[Problem] = []

    # helpers
    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rsplit(".", 1)[0] if "." in path else ""
        return self.lines.get("")

    def error(self, path: str, en: str, zh: str, severity: str = "error") -> None:
        self.problems.append(_problem(self.line(path), path, en, zh, severity))

    def mapping(self, path: str, value: Any) -> dict | None:
        if not isinstance(value, dict):
            self.error(path, "must be a mapping (key: value)", "应为键值映射（key: value）")
            return None
        return value

    def unknown_keys(self, path: str, value: dict, allowed) -> None:
        for key in value:
            if key not in allowed:
                self.error(
                    f"{path}.{key}" if path else key,
                    f"unknown key {key!r}" + _suggest(key, allowed, "en"),
                    f"未知的键 {key!r}" + _suggest(key, allowed, "zh"),
                )

    def metric(self, path: str, ref: Any, *, lookback: bool) -> str | None:
        if not isinstance(ref, str) or not ref.strip():
            self.error(path, "must name a metric", "应为指标名称")
            return None
        ref = ref.strip()
        if ref.startswith("attribute."):
            if not ref.split(".", 1)[1]:
                self.error(path, "attribute. needs a column name", "attribute. 后应写列名")
                return None
            self.lines.setdefault("@" + ref, self.line(path) or 0)
            return ref
        if ref not in METRICS:
            self.error(
                path,
                f"unknown metric {ref!r}"
                + _suggest(ref, METRICS, "en")
                + f"; metrics are {', '.join(METRICS)} or attribute.COLUMN",
                f"未知的指标 {ref!r}"
                + _suggest(ref, METRICS, "zh")
                + f"；可用指标：{', '.join(METRICS)} 或 attribute.列名",
            )
            return None
        if ref in WINDOWED_ONLY and not lookback:
            self.error(
                path,
                f"{ref} compares two windows: add 'lookback' (e.g. lookback: 12 months)",
                f"{ref} 比较前后两个周期：请设置 lookback（如 lookback: 12 months）",
            )
        return ref

    # the whole file
    def build(self) -> RuleSet:
        data = self.mapping("", self.data)
        if data is None:
            raise RuleError(self.source, self.problems)
        self.unknown_keys("", data, TOP_KEYS)

        name = data.get("name")
        if name is None or not str(name).strip():
            self.error("name", "a rule set needs a name", "规则需要名称（name）")
            name = ""

        as_of = None
        if data.get("as_of") is not None:
            try:
                as_of = parse_date(data["as_of"])
            except ValueError:
                self.error(
                    "as_of",
                    f"not a date: {data['as_of']!r} (write e.g. 2026-06-30)",
                    f"不是日期：{data['as_of']!r}（应写如 2026-06-30）",
                )

        lookback = None
        if data.get("lookback") is not None:
            try:
                lookback = parse_period(data["lookback"])
            except ValueError:
                self.error(
                    "lookback",
                    f"not a period: {data['lookback']!r} (write e.g. 12 months, 1 year, 90 days)",
                    f"不是时间长度：{data['lookback']!r}（应写如 12 months、1年、90天）",
                )

        columns: list[tuple[str, str]] = []
        if data.get("columns") is not None:
            cols = self.mapping("columns", data["columns"])
            for ours, theirs in (cols or {}).items():
                if theirs is None or not str(theirs).strip():
                    self.error(f"columns.{ours}", "needs the file's header", "应写文件中的列名")
                else:
                    columns.append((str(ours), str(theirs).strip()))

        present = [m for m in METHODS if m in data]
        if not present:
            self.error(
                "",
                "no grading method: add one of " + ", ".join(METHODS),
                "缺少分级方法：请添加 " + "、".join(METHODS) + " 之一",
            )
        elif len(present) > 1:
            self.error(
                present[1],
                "exactly one grading method per file; found " + ", ".join(present),
                "每个规则文件只能有一种分级方法；发现 " + "、".join(present),
            )
        method_name = present[0] if present else ""
        method: Method | None = None
        if method_name:
            method = getattr(self, "_" + method_name)(data[method_name], lookback is not None)

        tiers = self._tiers(data.get("tiers"), method_name, method)
        downgrade = self._downgrade(data.get("downgrade"), method_name)
        clv = self._clv(data.get("clv"))

        errors = [p for p in self.problems if p.severity == "error"]
        if errors or method is None:  # a method that cannot be read has said why
            raise RuleError(self.source, self.problems)
        return RuleSet(
            name=str(name).strip(),
            method_name=method_name,
            method=method,
            tiers=tuple(tiers),
            as_of=as_of,
            lookback=lookback,
            columns=tuple(columns),
            downgrade=downgrade,
            clv=clv,
            source=self.source,
            warnings=tuple(self.problems),
            lines=self.lines,
        )

    # methods
    def _scorecard(self, value: Any, lookback: bool) -> Scorecard | None:
        if not isinstance(value, list) or not value:
            self.error("scorecard", "must be a list of factors", "应为评分因子列表")
            return None
        factors = []
        names: set[str] = set()
        for i, item in enumerate(value):
            path = f"scorecard[{i}]"
            item = self.mapping(path, item)
            if item is None:
                continue
            self.unknown_keys(
                path, item, ("factor", "weight", "scale", "invert", "group_by", "label")
            )
            ref = self.metric(f"{path}.factor", item.get("factor"), lookback=lookback)
            try:
                weight = _number(item.get("weight"))
                if weight <= 0:
                    raise ValueError
            except ValueError:
                self.error(
                    f"{path}.weight",
                    f"weight must be a positive number, not {item.get('weight')!r}",
                    f"权重应为正数，而不是 {item.get('weight')!r}",
                )
                weight = 0.0
            scale = self._scale(f"{path}.scale", item.get("scale"))
            invert = item.get("invert", False)
            if not isinstance(invert, bool):
                self.error(f"{path}.invert", "must be true or false", "应为 true 或 false")
                invert = False
            group_by = None
            if item.get("group_by") is not None:
                group_by = self.metric(f"{path}.group_by", item["group_by"], lookback=lookback)
                if scale and scale.kind not in ("percentile", "minmax"):
                    self.error(
                        f"{path}.group_by",
                        "group_by applies to percentile and minmax scales only",
                        "group_by 只适用于 percentile 和 minmax 评分方式",
                    )
            if ref is None or scale is None:
                continue
            name = ref.split(".", 1)[1] if ref.startswith("attribute.") else ref
            if name in names:
                self.error(
                    f"{path}.factor",
                    f"factor {ref!r} appears twice",
                    f"因子 {ref!r} 重复出现",
                )
            names.add(name)
            label = item.get("label")
            factors.append(
                Factor(ref, name, weight, scale, invert, group_by, str(label) if label else None)
            )
        return Scorecard(tuple(factors))

    def _scale(self, path: str, value: Any) -> Scale | None:
        if value in ("percentile", "minmax"):
            return Scale(value)
        if isinstance(value, dict) and len(value) >= 1:
            kinds = [k for k in value if k in ("bands", "map")]
            self.unknown_keys(path, value, ("bands", "map", "default"))
            if len(kinds) != 1:
                self.error(path, "give either bands or map", "应给出 bands 或 map 之一")
                return None
            default = value.get("default", 0)
            if not self._points_ok(f"{path}.default", default):
                default = 0
            if kinds[0] == "bands":
                bands = value["bands"]
                ok = isinstance(bands, list) and bands
                parsed: list[tuple[float, float]] = []
                for j, band in enumerate(bands if ok else []):
                    bpath = f"{path}.bands[{j}]"
                    try:
                        if not isinstance(band, list) or len(band) != 2:
                            raise ValueError
                        bound, points = _number(band[0]), _number(band[1])
                    except ValueError:
                        self.error(
                            bpath,
                            f"a band is [bound, points], not {band!r}",
                            f"每个区间应写作 [下限, 分数]，而不是 {band!r}",
                        )
                        continue
                    if self._points_ok(bpath, points):
                        if parsed and bound <= parsed[-1][0]:
                            self.error(
                                bpath,
                                "band bounds must increase",
                                "区间下限应逐级递增",
                            )
                        parsed.append((bound, points))
                if not ok:
                    self.error(
                        f"{path}.bands",
                        "bands is a list of [bound, points]",
                        "bands 应为 [下限, 分数] 的列表",
                    )
                return Scale("bands", bands=tuple(parsed), default=float(default))
            mapping = value["map"]
            if not isinstance(mapping, dict) or not mapping:
                self.error(
                    f"{path}.map", "map is {value: points, ...}", "map 应为 {取值: 分数, ...}"
                )
                return None
            pairs = []
            for k, v in mapping.items():
                if self._points_ok(f"{path}.map.{k}", v):
                    pairs.append((str(k), float(v)))
            return Scale("map", mapping=tuple(pairs), default=float(default))
        self.error(
            path,
            f"unknown scale {value!r}: use percentile, minmax, {{bands: ...}} or {{map: ...}}",
            f"未知的评分方式 {value!r}：可用 percentile、minmax、{{bands: ...}} 或 {{map: ...}}",
        )
        return None

    def _points_ok(self, path: str, value: Any) -> bool:
        try:
            points = _number(value)
        except ValueError:
            self.error(
                path, f"points must be a number, not {value!r}", f"分数应为数字，而不是 {value!r}"
            )
            return False
        if not 0 <= points <= 100:
            self.error(
                path,
                f"points must be 0-100, not {value!r}",
                f"分数应在 0–100 之间，而不是 {value!r}",
            )
            return False
        return True

    def _pareto(self, value: Any, lookback: bool) -> Pareto | None:
        value = self.mapping("pareto", value)
        if value is None:
            return None
        self.unknown_keys("pareto", value, ("metric", "by", "group_by"))
        metric = self.metric("pareto.metric", value.get("metric", "profit"), lookback=lookback)
        by = value.get("by", "customers")
        if by not in ("customers", "value"):
            self.error("pareto.by", "by is 'customers' or 'value'", "by 应为 customers 或 value")
        group_by = None
        if value.get("group_by") is not None:
            group_by = self.metric("pareto.group_by", value["group_by"], lookback=lookback)
        return Pareto(metric, by, group_by) if metric else None

    def _thresholds(self, value: Any, lookback: bool) -> Thresholds | None:
        value = self.mapping("thresholds", value)
        if value is None:
            return None
        self.unknown_keys("thresholds", value, ("metric",))
        metric = self.metric("thresholds.metric", value.get("metric"), lookback=lookback)
        return Thresholds(metric) if metric else None

    def _rfm(self, value: Any, lookback: bool) -> RFM | None:
        value = self.mapping("rfm", value if value is not None else {})
        if value is None:
            return None
        self.unknown_keys("rfm", value, ("recency", "frequency", "monetary", "split"))
        recency, frequency, monetary = (
            self.metric(f"rfm.{key}", value.get(key, default), lookback=lookback)
            for key, default in (
                ("recency", "recency_days"),
                ("frequency", "orders"),
                ("monetary", "revenue"),
            )
        )
        split = value.get("split", "mean")
        if split not in ("mean", "median"):
            self.error("rfm.split", "split is 'mean' or 'median'", "split 应为 mean 或 median")
        if recency is None or frequency is None or monetary is None:
            return None
        return RFM(recency, frequency, monetary, split)

    def _window(self, value: Any, lookback: bool) -> Window | None:
        value = self.mapping("window", value)
        if value is None:
            return None
        self.unknown_keys("window", value, ("date",))
        ref = value.get("date")
        if not isinstance(ref, str) or not ref.startswith("attribute."):
            self.error(
                "window.date",
                "date names the customers column with the expected close date, "
                "e.g. attribute.expected_close",
                "date 应为客户文件中预计成交日期的列，如 attribute.expected_close",
            )
            return None
        date = self.metric("window.date", ref, lookback=lookback)
        return Window(date) if date else None

    def _tiers(self, value: Any, method_name: str, method: Method | None) -> list[Tier]:
        if method_name == "rfm" and value is None:
            return [Tier(name=zh, code=code) for code, zh, _ in RFM_SEGMENTS]
        if not isinstance(value, list) or not value:
            self.error(
                "tiers",
                "tiers is a list of at least two tiers, best first",
                "tiers 应为至少两个等级的列表，最好的在前",
            )
            return []
        if method_name == "pareto":
            key = "share" if isinstance(method, Pareto) and method.by == "value" else "top"
        else:
            key = TIER_KEY.get(method_name, "")
        if len(value) < 2 and method_name != "rfm":
            self.error("tiers", "at least two tiers are needed", "至少需要两个等级")
        tiers: list[Tier] = []
        seen: set[str] = set()
        previous = None
        for i, item in enumerate(value):
            path = f"tiers[{i}]"
            item = self.mapping(path, item)
            if item is None:
                continue
            self.unknown_keys(path, item, ("name", key, "description", "label"))
            name = item.get("name")
            if name is None or not str(name).strip():
                self.error(f"{path}.name", "each tier needs a name", "每个等级都需要名称")
                continue
            name = str(name).strip()
            if name in seen:
                self.error(f"{path}.name", f"tier {name!r} appears twice", f"等级 {name!r} 重复")
            seen.add(name)
            last = i == len(value) - 1
            raw = item.get(key)
            if method_name == "rfm":
                tiers.append(self._rfm_tier(path, name, raw))
                continue
            if raw is None:
                if not last:
                    self.error(
                        f"{path}.{key}",
                        f"every tier but the last needs {key}",
                        f"除最后一个等级外，每个等级都需要 {key}",
                    )
                tiers.append(Tier(name=name, line=self.line(path)))
                continue
            if last:
                self.error(
                    f"{path}.{key}",
                    f"the last tier takes everyone left: remove its {key}",
                    f"最后一个等级接收其余所有客户：请删除其 {key}",
                    severity="warning",
                )
                tiers.append(Tier(name=name, line=self.line(path)))
                continue
            bound = self._bound(f"{path}.{key}", key, raw)
            if bound is None:
                tiers.append(Tier(name=name, line=self.line(path)))
                continue
            if previous is not None:
                increasing = key in ("top", "share", "within")
                if key == "within":
                    bound_, previous_ = bound.approx_days, previous.approx_days
                else:
                    bound_, previous_ = bound, previous
                wrong = (bound_ <= previous_) if increasing else (bound_ >= previous_)
                if wrong:
                    self.error(
                        f"{path}.{key}",
                        "tiers are out of order: list them best first, "
                        + (f"with {key} increasing" if increasing else f"with {key} decreasing"),
                        "等级顺序错误：应从最好的开始列出，"
                        + (f"{key} 逐级递增" if increasing else f"{key} 逐级递减"),
                    )
            previous = bound
            tiers.append(Tier(name=name, line=self.line(path), **{key: bound}))
        if method_name == "rfm":
            codes = [t.code for t in tiers]
            if sorted(c for c in codes if c) != sorted(c for c, _, _ in RFM_SEGMENTS):
                self.error(
                    "tiers",
                    "rfm tiers rename the eight segments: give each code 000-111 exactly once",
                    "rfm 等级用于重命名八个细分：000–111 每个代码恰好出现一次",
                )
        return tiers

    def _rfm_tier(self, path: str, name: str, code: Any) -> Tier:
        code = str(code) if code is not None else ""
        if code not in {c for c, _, _ in RFM_SEGMENTS}:
            self.error(
                f"{path}.code",
                f"code is three digits of 0/1 for R, F, M (e.g. '101'), not {code!r}",
                f"code 应为 R、F、M 的三位 0/1 代码（如 '101'），而不是 {code!r}",
            )
        return Tier(name=name, code=code, line=self.line(path))

    def _bound(self, path: str, key: str, raw: Any):
        try:
            if key == "min_score":
                bound = _number(raw)
                if not 0 <= bound <= 100:
                    raise ValueError
                return bound
            if key in ("top", "share"):
                frac = _fraction(raw)
                if not 0 < frac <= 1:
                    raise OverflowError
                return frac
            if key == "min":
                if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                    raise ValueError
                return Decimal(str(raw).replace(",", ""))
            if key == "within":
                return parse_period(raw)
        except OverflowError:
            self.error(
                path,
                f"a percentage over 100%: {raw!r}",
                f"百分比超过 100%：{raw!r}",
            )
            return None
        except (ValueError, InvalidOperation, ArithmeticError):
            pass
        hints = {
            "min_score": ("a score from 0 to 100", "0–100 之间的分数"),
            "top": ("a percentage such as 20%", "百分比，如 20%"),
            "share": ("a percentage such as 80%", "百分比，如 80%"),
            "min": ("a number such as 100000", "数字，如 100000"),
            "within": ("a period such as 3 months", "时间长度，如 3 months"),
        }[key]
        self.error(
            path, f"{key} must be {hints[0]}, not {raw!r}", f"{key} 应为{hints[1]}，而不是 {raw!r}"
        )
        return None

    def _clv(self, value: Any) -> CLVSettings:
        if value is None:
            return CLVSettings()
        value = self.mapping("clv", value)
        if value is None:
            return CLVSettings()
        self.unknown_keys("clv", value, ("horizon", "margin", "discount", "model"))
        settings: dict[str, Any] = {}  # CLVSettings' keyword arguments
        if "horizon" in value:
            try:
                settings["horizon"] = parse_period(value["horizon"])
            except ValueError:
                self.error(
                    "clv.horizon",
                    f"not a period: {value['horizon']!r} (write e.g. 12 months)",
                    f"不是时间长度：{value['horizon']!r}（应写如 12 months）",
                )
        for key, lo, hi, en, zh in (
            ("margin", 0.0, 1.0, "a fraction from 0 to 1, e.g. 0.3", "0 到 1 之间的比例，如 0.3"),
            (
                "discount",
                0.0,
                1.0,
                "a monthly rate from 0 to 1, e.g. 0.01",
                "0 到 1 之间的月贴现率",
            ),
        ):
            if key in value:
                try:
                    number = (
                        _number(value[key])
                        if not isinstance(value[key], str)
                        else float(_fraction(value[key]))
                    )
                    if not lo <= number <= hi:
                        raise ValueError
                    settings[key] = number
                except (ValueError, OverflowError, ArithmeticError):
                    self.error(
                        f"clv.{key}",
                        f"{key} must be {en}, not {value[key]!r}",
                        f"{key} 应为{zh}，而不是 {value[key]!r}",
                    )
        if "model" in value:
            if value["model"] not in ("bgnbd", "paretonbd"):
                self.error(
                    "clv.model", "model is bgnbd or paretonbd", "model 应为 bgnbd 或 paretonbd"
                )
            else:
                settings["model"] = value["model"]
        return CLVSettings(**settings)

    def _downgrade(self, value: Any, method_name: str) -> Downgrade:
        if value is None:
            return Downgrade()
        value = self.mapping("downgrade", value)
        if value is None:
            return Downgrade()
        self.unknown_keys("downgrade", value, ("grace", "band"))
        grace, band = 0, 0.0
        if "grace" in value:
            g = value["grace"]
            if isinstance(g, bool) or not isinstance(g, int) or g < 0:
                self.error(
                    "downgrade.grace",
                    "grace is a whole number of evaluations (0 or more)",
                    "grace 应为非负整数（评估次数）",
                )
            else:
                grace = g
        if "band" in value:
            try:
                band = _number(value["band"])
                if band < 0:
                    raise ValueError
            except ValueError:
                self.error("downgrade.band", "band is a number of points ≥ 0", "band 应为非负分数")
                band = 0.0
            if method_name != "scorecard":
                self.error(
                    "downgrade.band",
                    "band applies to scorecards (a score margin); use grace for other methods",
                    "band 只适用于评分卡（分数缓冲）；其他方法请用 grace",
                )
        return Downgrade(grace, band)
