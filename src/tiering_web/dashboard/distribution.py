"""The tier distribution of the primary rule set's current tiers."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum, When

from tiering_web.customers.models import Transaction
from tiering_web.evaluations.models import TierAssignment
from tiering_web.rulesets.models import RuleSet


def tier_distribution(ruleset: RuleSet | None, customers: QuerySet) -> list[dict]:
    """Per current tier: how many of ``customers`` hold it, their net revenue (orders less
    returns, all recorded transactions) and both as shares of the total. Two grouped
    queries, whatever the number of customers."""
    if ruleset is None:
        return []
    open_tiers = TierAssignment.objects.filter(
        ruleset=ruleset, valid_to__isnull=True, customer__in=customers.values("pk")
    )
    counts = dict(open_tiers.values_list("tier").annotate(n=Count("id")).order_by())
    net = Case(
        When(kind=Transaction.Kind.RETURN, then=-F("amount")),
        default=F("amount"),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )
    revenue = dict(
        Transaction.objects.filter(customer__in=open_tiers.values("customer"))
        .annotate(
            tier=Subquery(open_tiers.filter(customer=OuterRef("customer_id")).values("tier")[:1])
        )
        .values_list("tier")
        .annotate(total=Sum(net))
        .order_by()
    )
    order = _tier_order(ruleset)
    tiers = sorted(counts, key=lambda t: (order.get(t, len(order)), t))
    all_customers = sum(counts.values()) or 1
    all_revenue = sum((revenue.get(t) or Decimal(0) for t in tiers), Decimal(0))
    rows = []
    for tier in tiers:
        money = revenue.get(tier) or Decimal(0)
        rows.append(
            {
                "tier": tier,
                "customers": counts[tier],
                "customer_share": counts[tier] / all_customers,
                "revenue": money,
                "revenue_share": float(money / all_revenue) if all_revenue else 0.0,
            }
        )
    return rows


def _tier_order(ruleset: RuleSet) -> dict[str, int]:
    version = ruleset.latest_version()
    tiers = version.definition.get("tiers", []) if version else []
    return {t.get("name"): i for i, t in enumerate(tiers)}
