"""Why a customer has their tier: the published result behind each open tier, with the
factor values and points the engine stored in ``details``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tiering_web.customers.models import Customer
from tiering_web.evaluations.models import Evaluation, EvaluationResult, TierAssignment
from tiering_web.rulesets.models import RuleSet


@dataclass
class Factor:
    name: str
    value: Any
    points: Any


@dataclass
class CurrentTier:
    """A customer's open tier under one rule set and the result that explains it."""

    ruleset: RuleSet
    assignment: TierAssignment
    result: EvaluationResult | None
    factors: list[Factor] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    missing: Any = None


def reason_in(result: EvaluationResult, lang: str | None) -> str:
    """The result's explanation in ``lang`` (results keep it in Chinese and English in
    ``details["reasons"]``; older ones only in the language they were run in)."""
    reasons = (result.details or {}).get("reasons") or {}
    key = "zh" if (lang or "").lower().startswith("zh") else "en"
    return reasons.get(key) or result.reason or ""


def split_details(details: dict[str, Any]) -> tuple[list[Factor], dict[str, Any]]:
    """Scorecard factors (``<name>_value`` and ``<name>_points`` pairs) and the other
    computed values (revenue, recency, ...)."""
    names = [key.removesuffix("_points") for key in details if key.endswith("_points")]
    factors = [Factor(n, details.get(f"{n}_value"), details[f"{n}_points"]) for n in names]
    paired = {f"{n}_value" for n in names} | {f"{n}_points" for n in names}
    values = {
        k: v for k, v in details.items() if k not in paired and k not in ("missing", "reasons")
    }
    return factors, values


def explaining_results(
    customer: Customer, assignments: list[TierAssignment]
) -> dict[int, EvaluationResult]:
    """Assignment id → the result that explains it today: the customer's result in the
    rule set's publication in force (which kept or gave the tier), else in the
    evaluation that opened the assignment. One query per rule set for its publication
    in force, one for all the results."""
    wanted: dict[int, list[int]] = {}
    for assignment in assignments:
        in_force = Evaluation.in_force(assignment.ruleset)
        order = [e for e in (in_force and in_force.pk, assignment.evaluation_id) if e]
        wanted[assignment.pk] = order
    found = {
        r.evaluation_id: r
        for r in EvaluationResult.objects.filter(
            customer=customer, evaluation_id__in={e for o in wanted.values() for e in o}
        )
    }
    explained = {}
    for pk, order in wanted.items():
        result = next((found[e] for e in order if e in found), None)
        if result is not None:
            explained[pk] = result
    return explained


def customer_tiers(customer: Customer) -> list[CurrentTier]:
    """The customer's open tiers, primary rule set first, each with its explanation."""
    assignments = list(
        TierAssignment.objects.filter(customer=customer, valid_to__isnull=True)
        .select_related("ruleset", "evaluation")
        .order_by("-ruleset__is_primary", "ruleset__name")
    )
    results = explaining_results(customer, assignments)
    tiers = []
    for assignment in assignments:
        result = results.get(assignment.pk)
        details = result.details if result else {}
        factors, values = split_details(details)
        tiers.append(
            CurrentTier(
                assignment.ruleset, assignment, result, factors, values, details.get("missing")
            )
        )
    return tiers
