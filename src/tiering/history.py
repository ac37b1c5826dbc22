"""History, stability and overrides: what happens between two evaluations.

- **previous**: an earlier output gives each customer's ``previous_tier``; ``change`` is
  ``up``, ``down``, ``same``, ``new`` (not in the previous output) or ``changed`` (its
  previous tier is not a tier of these rules).
- **downgrade protection** (``downgrade:`` in the rules), applied to customers whose
  computed tier is below their previous one; upgrades apply at once:

  - ``band: 5`` (scorecards): the customer keeps its previous tier while its score is at
    least that tier's ``min_score`` − 5 (flag ``band``);
  - ``grace: 1``: the customer keeps its previous tier for that many evaluations below it;
    ``grace_count`` counts them and is read back from the previous output (flag ``grace``).

- **overrides**: a file of ``customer_id, tier, reason, expires`` (and optionally
  ``effective_from``) forces the tier, with its reason, from ``effective_from`` (when
  given) up to and including ``expires``; expired overrides are ignored and listed, those
  not yet in effect are ignored. ``computed_tier`` keeps what the rules alone gave.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tiering.exceptions import InputError, RowIssue
from tiering.grading.common import by_rank, concat, zh
from tiering.periods import parse_date
from tiering.rules import RuleSet
from tiering.tables import join_on_customer


@dataclass(frozen=True)
class Override:
    """One row of an overrides file."""

    customer_id: str
    tier: str
    reason: str
    expires: dt.date
    row: int | None = None
    #: the first day it applies (None: from any date up to ``expires``)
    effective_from: dt.date | None = None

    def applies_on(self, day: dt.date) -> bool:
        """Whether an evaluation as of ``day`` applies it."""
        return (self.effective_from is None or self.effective_from <= day) and (day <= self.expires)


def _rank_of(names: list[str], tier: ir.StringValue) -> ir.IntegerValue:
    return ibis.cases(*[(tier == n, i) for i, n in enumerate(names)], else_=ibis.null("int64"))


def _reason_columns(table: ir.Table, lang: str) -> dict[str, str]:
    """The reason columns of ``table`` and their languages: ``reason`` in ``lang`` and the
    ``_reason_<key>`` columns of the graders' other languages."""
    columns = {"reason": lang}
    columns.update(
        {c: c.removeprefix("_reason_") for c in table.columns if c.startswith("_reason_")}
    )
    return columns


def _force(table: ir.Table, when, tier, rank, reasons: dict, names: list[str]) -> dict:
    """Columns that put the rows where ``when`` holds into ``tier`` (at ``rank``) with
    ``reasons`` (one per reason column): the tier above it becomes ``next_tier``, and the
    gap is no longer known."""
    return {
        "tier": ibis.ifelse(when, tier, table.tier),
        "_tier_rank": ibis.ifelse(when, rank, table._tier_rank),
        "next_tier": ibis.ifelse(
            when, by_rank(rank, [None, *names[:-1]]).cast("string"), table.next_tier
        ),
        "gap": ibis.ifelse(when, ibis.null("float64"), table.gap),
        **{c: ibis.ifelse(when, reason, table[c]) for c, reason in reasons.items()},
    }


def apply_previous(
    table: ir.Table, previous: ir.Table, rules: RuleSet, lang: str = "en"
) -> ir.Table:
    """Join the previous output, apply downgrade protection, and add ``previous_tier``."""
    names = rules.tier_names
    prev_cols = {
        "customer_id": previous.customer_id.cast("string"),
        "previous_tier": previous.tier.cast("string"),
        "_prev_grace": (
            previous.grace_count.cast("int64").fill_null(0)
            if "grace_count" in previous.columns
            else ibis.literal(0)
        ),
    }
    prev = previous.select(**prev_cols)
    joined = join_on_customer(table, prev)
    prev_rank = _rank_of(names, joined.previous_tier)
    joined = joined.mutate(_prev_rank=prev_rank)
    down = (joined._prev_rank.notnull() & (joined._tier_rank > joined._prev_rank)).fill_null(False)

    grace, band = rules.downgrade.grace, rules.downgrade.band
    keep_band = ibis.literal(False)
    if band and "score" in joined.columns:
        floor = by_rank(
            joined._prev_rank,
            [t.min_score - band if t.min_score is not None else None for t in rules.tiers],
        )
        keep_band = down & (joined.score >= floor).fill_null(False)
    keep_grace = ibis.literal(False)
    if grace:
        keep_grace = down & ~keep_band & (joined._prev_grace < grace)
    joined = joined.mutate(_keep_band=keep_band, _keep_grace=keep_grace)
    kept = joined._keep_band | joined._keep_grace
    count = (joined._prev_grace + 1).cast("string")

    def note(lang: str) -> ir.StringValue:
        if zh(lang):
            band_note = concat(f"；在降级缓冲 {band:g} 分内，保持 ", joined.previous_tier)
            grace_note = concat("；降级宽限第 ", count, f"/{grace} 次，保持 ", joined.previous_tier)
        else:
            band_note = concat(
                "; kept at ", joined.previous_tier, f" by the downgrade band ({band:g})"
            )
            grace_note = concat(
                "; kept at ", joined.previous_tier, " during grace ", count, f" of {grace}"
            )
        return ibis.ifelse(joined._keep_band, band_note, grace_note)

    reasons = {
        c: concat(joined[c], note(language))
        for c, language in _reason_columns(joined, lang).items()
    }
    out = joined.mutate(
        **_force(joined, kept, joined.previous_tier, joined._prev_rank, reasons, names),
        _flag_band=joined._keep_band,
        _flag_grace=joined._keep_grace,
    )
    if grace:
        out = out.mutate(grace_count=ibis.ifelse(out._keep_grace, out._prev_grace + 1, 0))
    return out.drop("_prev_grace", "_keep_band", "_keep_grace")


def add_change(table: ir.Table) -> ir.Table:
    """``change``: up / down / same / new / changed, from ``_prev_rank`` and ``_tier_rank``."""
    change = ibis.cases(
        (table.previous_tier.isnull(), "new"),
        (table._prev_rank.isnull(), "changed"),
        (table._tier_rank < table._prev_rank, "up"),
        (table._tier_rank > table._prev_rank, "down"),
        else_="same",
    )
    return table.mutate(change=change).drop("_prev_rank")


def parse_overrides(
    rows: pa.Table, source: str, rules: RuleSet, customer_ids: set[str] | None
) -> list[Override]:
    """Check an overrides table (columns customer_id, tier, reason, expires, _row and,
    optionally, effective_from)."""
    missing = [
        c for c in ("customer_id", "tier", "reason", "expires") if c not in rows.column_names
    ]
    if missing:
        raise InputError(
            source,
            [
                RowIssue(
                    None,
                    None,
                    None,
                    f"missing column(s) {', '.join(missing)}; an overrides file has "
                    "customer_id, tier, reason, expires",
                    f"缺少列 {'、'.join(missing)}；调整文件应有 customer_id, tier, reason, expires",
                )
            ],
        )
    names = set(rules.tier_names)
    issues: list[RowIssue] = []
    out: list[Override] = []
    seen: dict[str, int] = {}
    for rec in rows.to_pylist():
        row = rec.get("_row")
        cid = str(rec["customer_id"]).strip() if rec["customer_id"] is not None else ""
        tier = str(rec["tier"]).strip() if rec["tier"] is not None else ""
        reason = str(rec["reason"]).strip() if rec["reason"] is not None else ""
        if not cid:
            issues.append(RowIssue(row, "customer_id", None, "empty customer id", "客户编号为空"))
            continue
        if customer_ids is not None and cid not in customer_ids:
            issues.append(
                RowIssue(
                    row, "customer_id", cid, "not in the customers file", "客户文件中没有该客户"
                )
            )
        if cid in seen:
            issues.append(
                RowIssue(
                    row,
                    "customer_id",
                    cid,
                    f"overridden twice (also row {seen[cid]})",
                    f"重复调整（另见第 {seen[cid]} 行）",
                )
            )
        seen[cid] = row
        if tier not in names:
            issues.append(
                RowIssue(
                    row,
                    "tier",
                    tier,
                    f"not a tier of these rules ({', '.join(rules.tier_names)})",
                    f"不是本规则的等级（{'、'.join(rules.tier_names)}）",
                )
            )
        if not reason:
            issues.append(
                RowIssue(row, "reason", None, "an override needs a reason", "人工调整必须注明原因")
            )
        try:
            if rec["expires"] is None or not str(rec["expires"]).strip():
                raise ValueError
            expires = parse_date(rec["expires"])
        except ValueError:
            issues.append(
                RowIssue(
                    row,
                    "expires",
                    None if rec["expires"] is None else str(rec["expires"]),
                    "needs an expiry date (e.g. 2026-12-31)",
                    "需要有效期截止日期（如 2026-12-31）",
                )
            )
            continue
        starts = rec.get("effective_from")
        effective_from = None
        if starts is not None and str(starts).strip():
            try:
                effective_from = parse_date(starts)
            except ValueError:
                issues.append(
                    RowIssue(
                        row,
                        "effective_from",
                        str(starts),
                        "not a date (e.g. 2026-12-01)",
                        "不是日期（如 2026-12-01）",
                    )
                )
                continue
            if effective_from > expires:
                issues.append(
                    RowIssue(
                        row,
                        "effective_from",
                        str(starts),
                        f"after the expiry ({expires})",
                        f"晚于有效期截止日期（{expires}）",
                    )
                )
                continue
        out.append(Override(cid, tier, reason, expires, row, effective_from))
    if issues:
        raise InputError(source, issues, len(issues))
    return out


def apply_overrides(
    table: ir.Table, overrides: list[Override], rules: RuleSet, as_of: dt.date, lang: str = "en"
) -> tuple[ir.Table, list[Override]]:
    """Force the overrides that apply on ``as_of``; returns the table and the expired
    overrides (those not yet in effect are neither)."""
    active = [o for o in overrides if o.applies_on(as_of)]
    expired = [o for o in overrides if o.expires < as_of]
    table = table.mutate(computed_tier=table.tier)
    if not active:
        return table.mutate(
            override_reason=ibis.null("string"), override_expires=ibis.null("date")
        ), expired
    ov = ibis.memtable(
        {
            "customer_id": [o.customer_id for o in active],
            "_ov_tier": [o.tier for o in active],
            "override_reason": [o.reason for o in active],
            "override_expires": [o.expires for o in active],
        },
        schema={
            "customer_id": "string",
            "_ov_tier": "string",
            "override_reason": "string",
            "override_expires": "date",
        },
    )
    j = join_on_customer(table, ov)
    names = rules.tier_names
    has = j._ov_tier.notnull()

    def note(lang: str, reason: ir.StringValue) -> ir.StringValue:
        is_zh = zh(lang)
        return concat(
            "人工调整为 " if is_zh else "override to ",
            j._ov_tier,
            "：" if is_zh else ": ",
            j.override_reason,
            "（有效期至 " if is_zh else " (until ",
            j.override_expires.cast("string"),
            "）；规则结果：" if is_zh else "); by the rules: ",
            reason,
        )

    reasons = {c: note(language, j[c]) for c, language in _reason_columns(j, lang).items()}
    rank = _rank_of(names, j._ov_tier)
    out = j.mutate(**_force(j, has, j._ov_tier, rank, reasons, names), _flag_override=has)
    return out.drop("_ov_tier"), expired
