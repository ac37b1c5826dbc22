"""Errors raised by the engine.

Every error the engine raises on purpose derives from :class:`TieringError`, so a caller
can catch one class. Each carries its message in English and in Simplified Chinese;
``str(error)`` is the English text and :meth:`TieringError.message` picks a language.

::

    TieringError                 base: anything the engine reports to a user
    ├── RuleError                a rule file is invalid; .problems lists each with its line
    ├── InputError               a customers/transactions/previous/overrides file is invalid;
    │                            .file, .issues (row, column, value, reason), .total
    └── OutputError              the output cannot be written (format, size, location)
"""

from __future__ import annotations

from dataclasses import dataclass


class TieringError(Exception):
    """Base of every error the engine reports to a user.

    Parameters
    ----------
    en, zh
        The message in English and in Simplified Chinese.
    """

    def __init__(self, en: str, zh: str | None = None):
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"zh"`` or ``"en"``)."""
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class Problem:
    """One problem in a rule file: where it is and what is wrong.

    ``line`` is 1-based (None, or 0 for rules given as a dict rather than a file, when
    there is no line to point at), ``field`` is
    the dotted path of the offending key (e.g. ``scorecard[2].weight``).
    """

    line: int | None
    field: str
    en: str
    zh: str
    severity: str = "error"  # or "warning"

    def message(self, lang: str = "en") -> str:
        text = self.zh if lang.startswith("zh") else self.en
        where = []
        if self.line:
            where.append(f"第 {self.line} 行" if lang.startswith("zh") else f"line {self.line}")
        if self.field:
            where.append(self.field)
        return f"{', '.join(where)}: {text}" if where else text


class RuleError(TieringError):
    """A rule file is invalid. ``problems`` lists every error found, each with its line."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        en = f"{source}: invalid rules\n" + "\n".join("  " + p.message("en") for p in self.problems)
        zh = f"{source}：规则无效\n" + "\n".join("  " + p.message("zh") for p in self.problems)
        super().__init__(en, zh)


@dataclass(frozen=True)
class RowIssue:
    """One bad cell or row of an input file. ``row`` is the row number as a spreadsheet shows
    it (the header is row 1, the first data row is row 2); None when it concerns the file."""

    row: int | None
    column: str | None
    value: str | None
    en: str
    zh: str


class InputError(TieringError):
    """An input file is invalid: names the file and, per issue, the row, column and value.

    ``issues`` holds up to a handful of examples; ``total`` counts all rows found bad.
    """

    MAX_SHOWN = 10

    def __init__(self, file: str, issues: list[RowIssue], total: int | None = None):
        self.file = file
        self.issues = issues[: self.MAX_SHOWN]
        self.total = total if total is not None else len(issues)
        super().__init__(self._render("en"), self._render("zh"))

    def _render(self, lang: str) -> str:
        zh = lang.startswith("zh")
        lines = [f"{self.file}:"]
        for i in self.issues:
            parts = []
            if i.row is not None:
                parts.append(f"第 {i.row} 行" if zh else f"row {i.row}")
            if i.column:
                parts.append(f"列 {i.column}" if zh else f"column {i.column}")
            if i.value is not None:
                parts.append(f"值 {i.value!r}" if zh else f"value {i.value!r}")
            prefix = ", ".join(parts)
            text = i.zh if zh else i.en
            lines.append(f"  {prefix}: {text}" if prefix else f"  {text}")
        more = self.total - len(self.issues)
        if more > 0:
            lines.append(f"  ……另有 {more} 处" if zh else f"  ... and {more} more")
        return "\n".join(lines)


class OutputError(TieringError):
    """The output cannot be written: unknown format, too many rows for Excel, bad location."""
