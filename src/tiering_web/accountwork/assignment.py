"""Who should serve whom: the assignment plan, on plain data (no database).

:func:`plan` is the algorithm behind :func:`tiering_web.accountwork.services.
propose_assignments`; it is kept free of Django so that its invariants can be tested on
thousands of random cases (``tests/web/test_accountwork.py``).

The algorithm, deterministic for the same input:

1. Only the tiers whose policy asks for a dedicated account manager take part, best tier
   first. A manager "can serve" a tier when their capacity for it is above zero (their
   capacity per tier is how their manager judges their seniority and skills for it).
2. Within a tier, customers are taken by value (revenue in the evaluation) descending,
   then by code, so the most valuable come first.
3. A customer whose owner can serve the tier keeps that owner while the owner is within
   capacity: the owner's most valuable customers of the tier are kept, up to the capacity;
   the rest are "over capacity" and proposed for reassignment.
4. Every other customer of the tier (no owner, over capacity, or an owner who cannot
   serve the tier) is proposed to the first manager with room, managers ordered by
   seniority descending, then by their load in the tier ascending (load counts the kept
   customers and those proposed so far), then by id. The most senior people therefore
   take the most valuable customers of the top tier; among equals the load is balanced.
5. Nobody is ever planned above capacity: when no manager has room, the proposal has no
   new owner (``to_owner is None``) and says so.

Capacities are per tier, so tiers never compete for the same room: whenever a tier's
total capacity is at least its number of customers, every one of them gets a manager who
can serve it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

#: Why a customer is proposed for (re)assignment.
NO_OWNER = "no_owner"
OVER_CAPACITY = "over_capacity"
CANNOT_SERVE = "cannot_serve"


@dataclass(frozen=True)
class Manager:
    id: int
    seniority: int
    capacity: dict[str, int]  # tier -> how many customers of it they can serve well

    def can_serve(self, tier: str) -> bool:
        return self.capacity.get(tier, 0) > 0


@dataclass(frozen=True)
class Client:
    id: int
    code: str
    tier: str
    value: Decimal
    owner: int | None


@dataclass(frozen=True)
class Move:
    """One proposal: ``client`` from its owner to ``to_owner`` (None: nobody has room)."""

    client: Client
    to_owner: int | None
    why: str


def plan(tiers: list[str], clients: list[Client], managers: list[Manager]) -> list[Move]:
    """The moves that give every customer of ``tiers`` (best first, dedicated-manager
    tiers only) a manager who can serve them, within capacities (see the module)."""
    by_id = {m.id: m for m in managers}
    moves: list[Move] = []
    for tier in tiers:
        members = sorted(
            (c for c in clients if c.tier == tier), key=lambda c: (-c.value, c.code, c.id)
        )
        load: Counter[int] = Counter()
        waiting: list[tuple[Client, str]] = []
        for client in members:
            owner = by_id.get(client.owner) if client.owner is not None else None
            if client.owner is None:
                waiting.append((client, NO_OWNER))
            elif owner is None or not owner.can_serve(tier):
                waiting.append((client, CANNOT_SERVE))
            elif load[owner.id] < owner.capacity[tier]:
                load[owner.id] += 1
            else:
                waiting.append((client, OVER_CAPACITY))
        for client, why in waiting:
            candidates = [
                m for m in managers if m.can_serve(tier) and load[m.id] < m.capacity[tier]
            ]
            if not candidates:
                moves.append(Move(client, None, why))
                continue
            chosen = min(candidates, key=lambda m: (-m.seniority, load[m.id], m.id))
            load[chosen.id] += 1
            moves.append(Move(client, chosen.id, why))
    return moves
