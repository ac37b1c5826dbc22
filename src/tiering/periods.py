"""Calendar periods and dates as people write them.

A period is a count of calendar months or of days: ``12 months``, ``1 year``, ``2 quarters``,
``90 days``, and the Chinese ``12个月``, ``1年``, ``2季度``, ``90天``. Month arithmetic is
calendar arithmetic clamped to the month's end (2026-08-31 minus 6 months is 2026-02-28),
and is done in Python: windows are constants of one evaluation and are passed to the
database as literal dates, which every backend (SQLite included) understands.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_UNITS = {
    "month": ("months", 1),
    "months": ("months", 1),
    "mo": ("months", 1),
    "个月": ("months", 1),
    "月": ("months", 1),
    "quarter": ("months", 3),
    "quarters": ("months", 3),
    "季度": ("months", 3),
    "个季度": ("months", 3),
    "季": ("months", 3),
    "year": ("months", 12),
    "years": ("months", 12),
    "年": ("months", 12),
    "day": ("days", 1),
    "days": ("days", 1),
    "天": ("days", 1),
    "日": ("days", 1),
    "week": ("days", 7),
    "weeks": ("days", 7),
    "周": ("days", 7),
}

_PERIOD = re.compile(r"^\s*(\d+)\s*([A-Za-z\u4e00-\u9fff]+)\s*$")


@dataclass(frozen=True)
class Period:
    """A length of time: ``count`` calendar months or days."""

    count: int
    unit: str  # "months" or "days"

    def before(self, day: dt.date, times: int = 1) -> dt.date:
        """The date ``times`` periods before ``day``."""
        if self.unit == "days":
            return day - dt.timedelta(days=self.count * times)
        return add_months(day, -self.count * times)

    def after(self, day: dt.date, times: int = 1) -> dt.date:
        """The date ``times`` periods after ``day``."""
        if self.unit == "days":
            return day + dt.timedelta(days=self.count * times)
        return add_months(day, self.count * times)

    @property
    def approx_days(self) -> float:
        """The length in days (months at 30.44 days), for ordering periods only."""
        return self.count * (30.436875 if self.unit == "months" else 1)

    def __str__(self) -> str:
        return f"{self.count} {self.unit}"


def parse_period(text: object) -> Period:
    """Parse ``"12 months"``, ``"1 year"``, ``"90 days"``, ``"3个月"``... Raises ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        raise ValueError(f"write a unit with the number, e.g. '{text} months'")
    m = _PERIOD.match(str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a period: {text!r} (write e.g. '12 months', '1 year', '90 days')")
    unit, factor = _UNITS[m.group(2).lower()]
    count = int(m.group(1)) * factor
    if count <= 0:
        raise ValueError(f"a period must be longer than zero: {text!r}")
    return Period(count, unit)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` shifted by ``months`` calendar months, clamped to the end of the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
#: The same formats in DuckDB's strptime syntax, tried in this order on text columns.
DATE_FORMATS = (*_DATE_FORMATS, "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_date(value: object) -> dt.date:
    """A date from a date, a datetime or text as people write it. Raises ValueError."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r} (write e.g. 2026-06-30)")
