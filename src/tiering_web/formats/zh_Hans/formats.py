"""Simplified Chinese number formats as Chinese business documents write them:
thousands grouped by commas (1,234,567.89), which Django's own zh_Hans formats leave out.
Dates stay Django's (2026年9月30日)."""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
