"""The issues of an imported file (:class:`~tiering.exceptions.RowIssue`: row, column,
value and why, in English and Chinese), and the error that carries them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language

from tiering.exceptions import InputError, RowIssue
from tiering_web.imports.models import ImportJob


class ImportRejected(Exception):
    """The file has bad rows; nothing was imported. ``issues`` lists every one of them and
    ``job`` is the failed :class:`ImportJob` that stores them."""

    def __init__(self, job: ImportJob | None, issues: list[RowIssue]):
        self.job = job
        self.issues = issues
        shown = InputError(job.file_name if job else "<file>", issues, len(issues))
        super().__init__(str(shown))


def _issue(row, column, value, en: str, zh: str) -> RowIssue:
    return RowIssue(row, column, None if value is None else str(value), en, zh)


def issues_as_json(issues: Iterable[RowIssue]) -> list[dict[str, Any]]:
    """Issues as ``{row, column, value, en, zh}`` dicts (for ImportJob.errors and the UI)."""
    return [dataclasses.asdict(i) for i in issues]


def issue_text(issue: dict[str, Any] | RowIssue) -> str:
    """An issue's explanation in the active language."""
    if isinstance(issue, RowIssue):
        issue = dataclasses.asdict(issue)
    zh = (get_language() or "").startswith("zh")
    return (issue.get("zh") if zh else issue.get("en")) or issue.get("en") or ""
