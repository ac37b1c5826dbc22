"""An evaluation's results as an Excel or CSV file, written by the engine's writer
(:func:`tiering.output.write_table`: atomic, CSV in UTF-8 with a BOM for Excel, text never
read as a formula).

The caller passes the rows the viewer may see (already filtered); headers are in the
active language; contact data is a column only for viewers who may see it.
"""

from __future__ import annotations

import re
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.db.models import QuerySet
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from tiering.output import write_table
from tiering.rules import metric_label
from tiering_web.evaluations.explanations import reason_in
from tiering_web.evaluations.models import Evaluation, EvaluationResult

FORMATS = ("xlsx", "csv")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def change_label(change: str) -> str:
    labels = {
        "up": _("Upgrade"),
        "down": _("Downgrade"),
        "same": _("Unchanged"),
        "new": pgettext("tier movement", "New"),
        "": pgettext("tier movement", "New"),
        "changed": _("Previous tier no longer exists"),
    }
    return labels.get(change, change)


def detail_label(key: str, lang: str) -> str:
    """A computed value's column header: the engine's name for the metric, with "points"
    or "value" for a scorecard factor's two columns."""
    for suffix, word in (("_points", _("points")), ("_value", _("value"))):
        if key.endswith(suffix):
            return f"{metric_label(key.removesuffix(suffix), lang)} ({word})"
    return metric_label(key, lang)


def _number(value: Any) -> Any:
    """Decimals arrive from the JSON details as text ("19999.99"): make them numbers."""
    if isinstance(value, str) and _NUMBER.match(value):
        return Decimal(value)
    return value


def _contacts(contacts: Any) -> str:
    if not isinstance(contacts, list):
        return ""
    parts = []
    for contact in contacts:
        if isinstance(contact, dict):
            fields = ("name", "title", "phone", "email")
            parts.append(" ".join(str(contact[f]) for f in fields if contact.get(f)))
    return "; ".join(p for p in parts if p)


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _owner(result: EvaluationResult) -> str:
    owner = result.customer.owner
    return owner.get_username() if owner is not None else ""


def results_table(results: QuerySet[EvaluationResult], *, contacts: bool) -> pa.Table:
    """The rows of ``results`` as an Arrow table with headers in the active language."""
    lang = get_language() or "en"
    base = [
        (_("Customer code"), lambda r: r.customer.code),
        (_("Customer name"), lambda r: r.customer.name),
        (_("Industry"), lambda r: r.customer.industry),
        (
            _("Account manager"),
            lambda r: r.customer.owner.get_username() if r.customer.owner else "",
        ),
        (_("Previous tier"), lambda r: r.previous_tier),
        (pgettext("customer grade", "Tier"), lambda r: r.tier),
        (pgettext("tier movement", "Change"), lambda r: change_label(r.change)),
        (_("Score"), lambda r: r.score),
        (_("Reason"), lambda r: reason_in(r, lang)),
        (_("Next tier"), lambda r: r.next_tier),
        (_("Gap to the next tier"), lambda r: r.gap),
        (_("Gap unit"), lambda r: metric_label(r.gap_unit, lang) if r.gap_unit else ""),
        (_("Flags"), lambda r: r.flags),
    ]
    columns: dict[str, list[Any]] = {name: [] for name, _get in base}
    details: dict[str, list[Any]] = {}
    contact_column: list[str] = []
    rows = results.select_related("customer__owner").iterator(chunk_size=2000)
    for n, result in enumerate(rows):
        for name, get in base:
            columns[name].append(get(result))
        for key, value in (result.details or {}).items():
            if key == "reasons":  # the Reason column, in the export's language
                continue
            details.setdefault(key, [None] * n).append(_number(value))
        for values in details.values():
            if len(values) == n:  # this row has no such value
                values.append(None)
        if contacts:
            contact_column.append(_contacts(result.customer.contacts))
    arrays = {name: _array(values) for name, values in columns.items()}
    for key, values in details.items():
        header = detail_label(key, lang)
        while header in arrays:
            header += " "
        arrays[header] = _array(values)
    if contacts:
        arrays[_("Contacts")] = pa.array(contact_column, pa.string())
    return pa.table(arrays)


def export_results(
    evaluation: Evaluation, results: QuerySet[EvaluationResult], fmt: str, *, contacts: bool
) -> Path:
    """Write ``results`` to a new temporary folder as ``evaluation-<id>.<fmt>``; the
    caller removes the folder when it has sent the file."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r}: use xlsx or csv")
    table = results_table(results, contacts=contacts)
    folder = Path(tempfile.mkdtemp(prefix="tiering-export-"))
    name = f"evaluation-{evaluation.pk}.{fmt}"
    return write_table(table, folder / name, sheet=_("Results"))
