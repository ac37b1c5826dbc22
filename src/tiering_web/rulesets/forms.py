"""Forms of the rule-set pages: a rule set edited field by field, for every grading method
of the engine, and turned into the dict form of a rule file.

The forms check only what a form must (a date is a date, a choice is a choice); every rule
is validated by the engine itself (:func:`tiering.parse_rules`), and each of its problems
is put back on the form field it is about (``tiers[1].min`` -> the second tier row's
bound), in the viewer's language. Numbers are typed as text so that the engine, not the
form, says what is wrong with them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import yaml
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from tiering import RuleError, parse_rules
from tiering.rules import METRICS, RFM_SEGMENTS, metric_label
from tiering_web.customers.models import ATTRIBUTES
from tiering_web.rulesets.models import RuleSet, RuleSetVersion

METHOD_CHOICES = [
    ("scorecard", _("Weighted scorecard")),
    ("pareto", _("Pareto (ABC) by contribution")),
    ("thresholds", _("Thresholds on one metric")),
    ("rfm", _("RFM segments")),
    ("window", _("Prospects by expected close date")),
]
SCALE_CHOICES = [
    ("percentile", _("Percentile rank (0-100)")),
    ("minmax", _("Min-max (0-100)")),
    ("bands", _("Bands: bound → points")),
    ("map", _("Map: value → points")),
]
PARETO_BY_CHOICES = [
    ("customers", _("Share of customers (the top fifth of customers...)")),
    ("value", _("Share of the value (the customers making four fifths of it...)")),
]
SPLIT_CHOICES = [("mean", _("Mean")), ("median", _("Median"))]
CLV_MODEL_CHOICES = [
    ("", _("Default (BG/NBD)")),
    ("bgnbd", "BG/NBD"),
    ("paretonbd", "Pareto/NBD"),
]

#: What a tier row's bound means, per method (pareto by its ``by``).
BOUND_LABELS = {
    "scorecard": _("Minimum score (0-100)"),
    "pareto": _("Top customers, cumulative %"),
    "pareto_value": _("Share of the value, cumulative %"),
    "thresholds": _("Minimum value"),
    "rfm": _("Segment code (R F M, 1 = high)"),
    "window": _("Closes within (e.g. 3 months)"),
}

#: Tiers offered when a rule set switches to a method (the examples' tiers).
DEFAULT_TIERS: dict[str, list[dict[str, str]]] = {
    "scorecard": [
        {"name": "A", "bound": "75"},
        {"name": "B", "bound": "60"},
        {"name": "C", "bound": ""},
    ],
    "pareto": [{"name": "A", "bound": "20"}, {"name": "B", "bound": "50"}, {"name": "C"}],
    "thresholds": [
        {"name": "A", "bound": "100000"},
        {"name": "B", "bound": "20000"},
        {"name": "C", "bound": ""},
    ],
    "rfm": [{"name": zh, "bound": code} for code, zh, _en in RFM_SEGMENTS],
    "window": [
        {"name": "A", "bound": "3 months"},
        {"name": "B", "bound": "6 months"},
        {"name": "C", "bound": "12 months"},
        {"name": "D", "bound": ""},
    ],
}
DEFAULT_FACTORS = [
    {"metric": "revenue", "weight": "60", "scale": "percentile"},
    {"metric": "profit", "weight": "40", "scale": "percentile"},
]


def metric_choices(lang: str | None = None) -> list[tuple[str, str]]:
    """Every metric and customer attribute a rule may read, as (reference, label)."""
    lang = lang or get_language() or "en"
    refs = [*METRICS, *(f"attribute.{name}" for name in ATTRIBUTES)]
    return [(ref, metric_label(ref, lang)) for ref in refs]


# --------------------------------------------------------------------------- values


def _number(text: str) -> Any:
    """``"40"`` -> 40, ``"12.5"`` -> 12.5, ``"100,000"`` -> 100000; anything else stays
    text, for the engine to reject in its own words."""
    text = (text or "").strip()
    plain = text.replace(",", "").replace("，", "")
    try:
        value = Decimal(plain)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def _text(value: Any) -> str:
    """A number or text from a definition as a form shows it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _percent_text(value: Any) -> str:
    """A pareto cut (``"20%"``, 0.2) as the percent a form shows (``20``)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return value.strip()[:-1].strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        hundred = Fraction(Decimal(str(value))) * 100
        return _text(int(hundred) if hundred.denominator == 1 else float(hundred))
    return _text(value)


_PAIR_SPLIT = re.compile(r"[;；\n]+")
_KEY_SPLIT = re.compile(r"\s*[:：=]\s*")


def parse_pairs(text: str, *, numeric_keys: bool) -> list[tuple[Any, Any]]:
    """``"0: 50; 0.1: 80"`` as [(0, 50), (0.1, 80)]. Raises ValueError on a pair that is
    not ``key: points``."""
    pairs = []
    for chunk in _PAIR_SPLIT.split(text or ""):
        if not chunk.strip():
            continue
        parts = _KEY_SPLIT.split(chunk.strip())
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise ValueError(chunk.strip())
        key = _number(parts[0]) if numeric_keys else parts[0]
        pairs.append((key, _number(parts[1])))
    return pairs


def pairs_text(pairs) -> str:
    return "; ".join(f"{_text(k)}: {_text(v)}" for k, v in pairs)


# --------------------------------------------------------------------------- forms


class MetricInput(forms.TextInput):
    """A text box offering the metrics and attributes (an HTML datalist), so a typo is
    still the engine's to explain ("did you mean 'revenue'?")."""

    def __init__(self, attrs=None):
        super().__init__({"list": "tiering-metrics", "autocomplete": "off", **(attrs or {})})


class RuleSetCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if RuleSet.objects.filter(name=name).exists():
            raise ValidationError(_("A rule set with this name already exists."), code="unique")
        return name


class CommonForm(forms.Form):
    """What every rule file has, and the version's own fields."""

    name = forms.CharField(label=_("Name in the rules"), max_length=200, required=False)
    method = forms.ChoiceField(label=_("Grading method"), choices=METHOD_CHOICES)
    lookback = forms.CharField(
        label=_("Lookback"),
        required=False,
        help_text=_("The window of transactions graded, e.g. 12 months; empty: all history."),
    )
    as_of = forms.DateField(
        label=_("Fixed evaluation date"),
        required=False,
        help_text=_("Leave empty: each evaluation says its own date."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    grace = forms.CharField(
        label=_("Downgrade grace (evaluations)"),
        required=False,
        help_text=_("How many evaluations a customer keeps a higher tier before dropping."),
    )
    band = forms.CharField(
        label=_("Downgrade band (points)"),
        required=False,
        help_text=_("Scorecards only: how far below a threshold a customer may fall."),
    )
    clv_horizon = forms.CharField(label=_("CLV horizon"), required=False)
    clv_margin = forms.CharField(label=_("CLV margin"), required=False)
    clv_discount = forms.CharField(label=_("CLV monthly discount rate"), required=False)
    clv_model = forms.ChoiceField(label=_("CLV model"), required=False, choices=CLV_MODEL_CHOICES)
    effective_date = forms.DateField(
        label=_("Effective date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=500)


class ScorecardFactorForm(forms.Form):
    metric = forms.CharField(label=_("Factor"), required=False, widget=MetricInput())
    weight = forms.CharField(
        label=_("Weight"), required=False, widget=forms.TextInput(attrs={"size": 5})
    )
    scale = forms.ChoiceField(label=_("Scoring"), choices=SCALE_CHOICES, initial="percentile")
    bands = forms.CharField(
        label=_("Bands"),
        required=False,
        help_text=_("bound: points; ... e.g. 0: 50; 0.1: 80; 0.3: 100"),
    )
    mapping = forms.CharField(
        label=_("Map"), required=False, help_text=_("value: points; ... e.g. high: 100; low: 20")
    )
    default = forms.CharField(
        label=_("Other values"), required=False, widget=forms.TextInput(attrs={"size": 4})
    )
    invert = forms.BooleanField(label=_("Lower is better"), required=False)
    group_by = forms.CharField(label=_("Rank within"), required=False, widget=MetricInput())
    label = forms.CharField(label=_("Label"), required=False)


class TierForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("customer grade", "Tier"), required=False)
    bound = forms.CharField(label=_("Bound"), required=False)


FactorFormSet = forms.formset_factory(ScorecardFactorForm, extra=0, can_delete=True)
TierFormSet = forms.formset_factory(TierForm, extra=0, can_delete=True)


class ParetoForm(forms.Form):
    metric = forms.CharField(label=_("Metric"), widget=MetricInput(), initial="profit")
    by = forms.ChoiceField(label=_("Cut by"), choices=PARETO_BY_CHOICES, initial="customers")
    group_by = forms.CharField(label=_("Within each"), required=False, widget=MetricInput())


class ThresholdsForm(forms.Form):
    metric = forms.CharField(label=_("Metric"), widget=MetricInput(), initial="revenue")


class RFMForm(forms.Form):
    recency = forms.CharField(label=_("Recency"), widget=MetricInput(), initial="recency_days")
    frequency = forms.CharField(label=_("Frequency"), widget=MetricInput(), initial="orders")
    monetary = forms.CharField(label=_("Monetary"), widget=MetricInput(), initial="revenue")
    split = forms.ChoiceField(label=_("High/low split at"), choices=SPLIT_CHOICES)


class WindowForm(forms.Form):
    date = forms.CharField(
        label=_("Expected close date column"),
        widget=MetricInput(),
        initial="attribute.expected_close",
    )


METHOD_FORMS: dict[str, type[forms.Form]] = {
    "scorecard": forms.Form,
    "pareto": ParetoForm,
    "thresholds": ThresholdsForm,
    "rfm": RFMForm,
    "window": WindowForm,
}


# --------------------------------------------------------------------------- definitions


def initial_from_definition(definition: dict | None, method: str | None = None) -> dict:
    """The editor's initial values from a stored definition (or defaults when there is
    none, or when ``method`` switches to another method than the definition's)."""
    definition = dict(definition or {})
    own = next((m for m in METHOD_FORMS if m in definition), None)
    method = method or own or "scorecard"
    downgrade = definition.get("downgrade") or {}
    clv = definition.get("clv") or {}
    common = {
        "name": definition.get("name", ""),
        "method": method,
        "lookback": _text(definition.get("lookback")),
        "as_of": definition.get("as_of"),
        "description": definition.get("description", ""),
        "grace": _text(downgrade.get("grace")),
        "band": _text(downgrade.get("band")),
        "clv_horizon": _text(clv.get("horizon")),
        "clv_margin": _text(clv.get("margin")),
        "clv_discount": _text(clv.get("discount")),
        "clv_model": clv.get("model", ""),
    }
    if method != own:
        return {
            "common": common,
            "method": {},
            "factors": [dict(f) for f in DEFAULT_FACTORS] if method == "scorecard" else [],
            "tiers": [dict(t) for t in DEFAULT_TIERS[method]],
        }
    body = definition[method]
    factors: list[dict] = []
    method_initial: dict = {}
    if method == "scorecard":
        for item in body if isinstance(body, list) else []:
            scale = item.get("scale")
            row = {
                "metric": item.get("factor", ""),
                "weight": _text(item.get("weight")),
                "invert": bool(item.get("invert", False)),
                "group_by": item.get("group_by") or "",
                "label": item.get("label") or "",
                "scale": scale if isinstance(scale, str) else "percentile",
            }
            if isinstance(scale, dict):
                if "bands" in scale:
                    row["scale"] = "bands"
                    row["bands"] = pairs_text(tuple(b) for b in scale["bands"])
                elif "map" in scale:
                    row["scale"] = "map"
                    row["mapping"] = pairs_text(scale["map"].items())
                row["default"] = _text(scale.get("default"))
            factors.append(row)
    elif isinstance(body, dict):
        method_initial = {k: v for k, v in body.items() if v is not None}
    tiers = []
    key = _tier_key(method, method_initial.get("by"))
    raw_tiers = definition.get("tiers")
    if method == "rfm" and not raw_tiers:
        raw_tiers = [{"name": t["name"], "code": t["bound"]} for t in DEFAULT_TIERS["rfm"]]
    for item in raw_tiers or []:
        bound = item.get(key)
        text = _percent_text(bound) if method == "pareto" else _text(bound)
        tiers.append({"name": item.get("name", ""), "bound": text})
    return {"common": common, "method": method_initial, "factors": factors, "tiers": tiers}


def _tier_key(method: str, by: str | None = None) -> str:
    if method == "pareto":
        return "share" if by == "value" else "top"
    return {"scorecard": "min_score", "thresholds": "min", "window": "within", "rfm": "code"}[
        method
    ]


def _blank(row: dict) -> bool:
    return not any(str(v).strip() for k, v in row.items() if k not in ("DELETE", "scale", "invert"))


class RuleEditor:
    """The rule-set editor: the common fields, one method's fields, the scorecard's
    factor rows and the tier rows, bound to one POST or showing initial values.

    ``is_valid()`` builds :attr:`definition` and has the engine validate it (and check the
    customer columns it reads exist in the app); every problem ends up on a field, on a
    row, or in :attr:`problems` (for the page as a whole).
    """

    def __init__(
        self,
        data=None,
        *,
        initial: dict | None = None,
        method: str | None = None,
        add_row: str | None = None,
        purpose: str = "save",
    ):
        initial = initial or initial_from_definition(None, method)
        if data is not None and add_row:
            # "add a row": show what was typed, unvalidated, with one more empty row
            initial = self._typed(data)
            initial[add_row].append({} if add_row == "tiers" else {"scale": "percentile"})
            data = None
        self.bound = data is not None
        if data is not None:
            method = data.get("method") or method
        method = method or initial["common"].get("method") or "scorecard"
        if method not in METHOD_FORMS:
            method = "scorecard"
        self.method = method
        self.common = CommonForm(data, initial={**initial["common"], "method": method})
        if purpose != "save":  # a what-if saves nothing: no reason needed
            self.common.fields["reason"].required = False
        self.method_form = METHOD_FORMS[method](data, prefix="m", initial=initial["method"])
        # a bound formset takes only what was posted: with initial rows too, a posted row
        # equal to its initial one would count as unchanged and be dropped
        rows = data is None
        self.factors = FactorFormSet(
            data, prefix="factors", initial=initial["factors"] if rows else None
        )
        self.tiers = TierFormSet(data, prefix="tiers", initial=initial["tiers"] if rows else None)
        by = initial["method"].get("by") if data is None else data.get("m-by")
        self.bound_label = BOUND_LABELS[
            "pareto_value" if method == "pareto" and by == "value" else method
        ]
        self.problems: list[str] = []
        self.definition: dict | None = None

    @staticmethod
    def _typed(data) -> dict:
        """What the POST holds, as initial values (no validation)."""
        method = data.get("method") or "scorecard"
        common = CommonForm(data)
        method_form = METHOD_FORMS.get(method, forms.Form)(data, prefix="m")

        def rows(formset_class, prefix):
            formset = formset_class(data, prefix=prefix)
            out = []
            for form in formset.forms:
                row = {name: form[name].value() for name in form.fields}
                if not row.pop("DELETE", False):
                    out.append(row)
            return out

        return {
            "common": {name: common[name].value() for name in common.fields},
            "method": {name: method_form[name].value() for name in method_form.fields},
            "factors": rows(FactorFormSet, "factors") if method == "scorecard" else [],
            "tiers": rows(TierFormSet, "tiers"),
        }

    # ------------------------------------------------------------------ validation
    def is_valid(self) -> bool:
        if not self.bound:
            return False
        forms_ok = all(
            (
                self.common.is_valid(),
                self.method_form.is_valid(),
                self.tiers.is_valid(),
                self.method != "scorecard" or self.factors.is_valid(),
            )
        )
        self.definition = self._build()
        lang = get_language() or "en"
        try:
            rules = parse_rules(self.definition, source=self.definition.get("name") or "<rules>")
        except RuleError as e:
            for problem in e.problems:
                self._place(problem.field, problem, lang)
            return False
        problems = rules.attribute_problems(list(ATTRIBUTES))
        for problem in problems:
            self._place_attribute(problem, lang)
        return forms_ok and not problems and not self.problems and not self._errors_added

    _errors_added = False

    def errors(self) -> list[str]:
        """Every error of the editor as one line each: where (row, field) and what."""
        lines = list(self.problems)

        def add(where: str, form: forms.Form) -> None:
            for field, messages in form.errors.items():
                label = "" if field == "__all__" else f"{form.fields[field].label}: "
                lines.extend(f"{where}{label}{message}" for message in messages)

        for form in (self.common, self.method_form):
            add("", form)
        for title, formset in ((_("Factor %(n)s"), self.factors), (_("Tier %(n)s"), self.tiers)):
            if formset is self.factors and self.method != "scorecard":
                continue
            if not formset.is_bound:
                continue
            lines.extend(str(e) for e in formset.non_form_errors())
            for n, form in enumerate(formset.forms, 1):
                add(f"{title % {'n': n}} — ", form)
        return lines

    def _build(self) -> dict:
        c = self.common.cleaned_data
        d: dict[str, Any] = {"name": (c.get("name") or "").strip()}
        if c.get("description", "").strip():
            d["description"] = c["description"].strip()
        if c.get("as_of"):
            d["as_of"] = c["as_of"].isoformat()
        if c.get("lookback", "").strip():
            d["lookback"] = c["lookback"].strip()
        if self.carry_columns:
            d["columns"] = self.carry_columns

        self._factor_rows: list[forms.Form] = []
        if self.method == "scorecard":
            d["scorecard"] = self._factors()
        else:
            m = self.method_form.cleaned_data
            body = {k: (v.strip() if isinstance(v, str) else v) for k, v in m.items()}
            d[self.method] = {k: v for k, v in body.items() if v not in ("", None)}

        key = _tier_key(self.method, d.get("pareto", {}).get("by"))
        self._tier_rows: list[forms.Form] = []
        tiers = []
        for form in self.tiers.forms:
            row = getattr(form, "cleaned_data", None) or {}
            if row.get("DELETE") or _blank(row):
                continue
            item: dict[str, Any] = {"name": row.get("name", "").strip()}
            bound = row.get("bound", "").strip()
            if bound:
                if key in ("min_score", "min"):
                    item[key] = _number(bound)
                elif key in ("top", "share"):
                    item[key] = bound if bound.endswith("%") else f"{bound}%"
                else:
                    item[key] = bound
            tiers.append(item)
            self._tier_rows.append(form)
        if tiers or self.method != "rfm":
            d["tiers"] = tiers

        downgrade = {}
        if c.get("grace", "").strip():
            downgrade["grace"] = _number(c["grace"])
        if c.get("band", "").strip():
            downgrade["band"] = _number(c["band"])
        if downgrade:
            d["downgrade"] = downgrade
        clv = {}
        for key in ("horizon", "margin", "discount"):
            value = (c.get(f"clv_{key}") or "").strip()
            if value:
                clv[key] = value if key == "horizon" else _number(value)
        if c.get("clv_model"):
            clv["model"] = c["clv_model"]
        if clv:
            d["clv"] = clv
        return d

    carry_columns: dict | None = None

    def _factors(self) -> list[dict]:
        factors = []
        for form in self.factors.forms:
            row = getattr(form, "cleaned_data", None) or {}
            if row.get("DELETE") or _blank(row):
                continue
            item: dict[str, Any] = {
                "factor": row.get("metric", "").strip(),
                "weight": _number(row.get("weight", "")),
            }
            scale = row.get("scale") or "percentile"
            if scale in ("bands", "map"):
                field = "bands" if scale == "bands" else "mapping"
                try:
                    pairs = parse_pairs(row.get(field, ""), numeric_keys=scale == "bands")
                except ValueError as e:
                    self._add(
                        form,
                        field,
                        _("write each pair as key: points, separated by semicolons, not %(pair)s")
                        % {"pair": repr(e.args[0])},
                    )
                    pairs = []
                if not pairs and not form.errors.get(field):
                    self._add(form, field, _("give at least one pair (e.g. 0: 50; 0.1: 80)"))
                body: dict[str, Any] = (
                    {"bands": [list(p) for p in pairs]}
                    if scale == "bands"
                    else {"map": {str(k): v for k, v in pairs}}
                )
                if (row.get("default") or "").strip():
                    body["default"] = _number(row["default"])
                item["scale"] = body
            else:
                item["scale"] = scale
            if row.get("invert"):
                item["invert"] = True
            if (row.get("group_by") or "").strip():
                item["group_by"] = row["group_by"].strip()
            if (row.get("label") or "").strip():
                item["label"] = row["label"].strip()
            factors.append(item)
            self._factor_rows.append(form)
        return factors

    # ------------------------------------------------------------------ errors
    def _add(self, form: forms.Form, field: str | None, message) -> None:
        self._errors_added = True
        if field is not None and form.errors.get(field):
            return  # the form already says what is wrong with it
        form.add_error(field, message)

    def _place(self, path: str, problem, lang: str) -> None:
        """Put one engine problem on the field its path names."""
        text = problem.zh if lang.startswith("zh") else problem.en
        common = {
            "name": "name",
            "as_of": "as_of",
            "lookback": "lookback",
            "description": "description",
            "downgrade.grace": "grace",
            "downgrade.band": "band",
            "clv.horizon": "clv_horizon",
            "clv.margin": "clv_margin",
            "clv.discount": "clv_discount",
            "clv.model": "clv_model",
        }
        if path in common:
            return self._add(self.common, common[path], text)
        m = re.fullmatch(r"scorecard\[(\d+)\](?:\.(\w+))?(.*)", path)
        if m and int(m.group(1)) < len(self._factor_rows):
            form = self._factor_rows[int(m.group(1))]
            key, rest = m.group(2), m.group(3)
            field = {
                "factor": "metric",
                "weight": "weight",
                "invert": "invert",
                "group_by": "group_by",
                "label": "label",
                None: None,
            }.get(key)
            if key == "scale":
                field = (
                    "bands"
                    if rest.startswith(".bands")
                    else "mapping"
                    if rest.startswith(".map")
                    else "default"
                    if rest.startswith(".default")
                    else "scale"
                )
            return self._add(form, field, text)
        m = re.fullmatch(r"tiers\[(\d+)\](?:\.(\w+))?", path)
        if m and int(m.group(1)) < len(self._tier_rows):
            form = self._tier_rows[int(m.group(1))]
            field = None if m.group(2) is None else "name" if m.group(2) == "name" else "bound"
            return self._add(form, field, text)
        if path in ("tiers", "scorecard"):
            formset = self.tiers if path == "tiers" else self.factors
            self._errors_added = True
            formset.non_form_errors().append(text)
            return None
        if path.startswith(f"{self.method}.") and path.split(".", 1)[1] in self.method_form.fields:
            return self._add(self.method_form, path.split(".", 1)[1], text)
        self._errors_added = True
        self.problems.append(problem.message(lang))
        return None

    def _place_attribute(self, problem, lang: str) -> None:
        """A column the rules read that the app's customers do not have: on every field
        naming it."""
        text = problem.zh if lang.startswith("zh") else problem.en
        placed = False
        candidates = [(f, n) for f in self._factor_rows for n in ("metric", "group_by")]
        candidates += [(self.method_form, n) for n in self.method_form.fields]
        for form, name in candidates:
            value = (getattr(form, "cleaned_data", {}) or {}).get(name)
            if isinstance(value, str) and value.strip() == problem.field:
                self._add(form, name, text)
                placed = True
        if not placed:
            self._errors_added = True
            self.problems.append(problem.message(lang))


class YamlForm(forms.Form):
    """The advanced way: the rules as a rule file's YAML, validated by the engine (its
    problems carry line numbers) and checked against the app's customer columns."""

    text = forms.CharField(label=_("Rules (YAML)"), widget=forms.Textarea(attrs={"rows": 18}))
    effective_date = forms.DateField(
        label=_("Effective date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=500)

    def clean_text(self):
        text = self.cleaned_data["text"]
        lang = get_language() or "en"
        try:
            rules = parse_rules(text, source="YAML")
        except RuleError as e:
            raise ValidationError([p.message(lang) for p in e.problems]) from None
        problems = rules.attribute_problems(list(ATTRIBUTES))
        if problems:
            raise ValidationError([p.message(lang) for p in problems])
        return yaml.safe_load(text)


class ReviewForm(forms.Form):
    """Signing a draft as its reviewer: the signer is the user who clicks; why."""

    reason = forms.CharField(label=_("Review note"), required=False, max_length=500)


class ApproveForm(forms.Form):
    """Signing a reviewed version as its approver: when it takes effect, why. The
    approver is the user who clicks; the reviewer signed before, in person."""

    effective_date = forms.DateField(
        label=_("Effective date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, version: RuleSetVersion, **kwargs):
        kwargs.setdefault("initial", {"effective_date": version.effective_date})
        super().__init__(*args, **kwargs)


class PrimaryForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class WhatIfForm(forms.Form):
    whatif_as_of = forms.DateField(
        label=_("Grade as of"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
