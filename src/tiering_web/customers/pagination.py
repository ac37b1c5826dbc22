"""Paging the customer list so that a page costs about the same at a million customers as
at a hundred (see ``bench/web.py``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.core.paginator import Paginator
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils.functional import cached_property

from tiering_web.evaluations.models import TierAssignment
from tiering_web.rulesets.models import RuleSet


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap + 1`` rows: at a million customers an exact
    ``COUNT(*)`` over a filtered list costs more than the page itself. Past the cap the list
    says "more than" and pages stop at the cap; a narrower search finds the rest.

    A page is read in two steps: the primary keys of its rows first (a query that walks an
    index and computes nothing else, however deep the page), then those rows with their
    annotations and related rows. An ``OFFSET`` of thousands of rows then skips index
    entries, not correlated subqueries and joins.

    ``groups``, when given, are filters that split the list by the value of its first sort
    key, in sort order: sorting by a value that lives in another table (the tier, the
    account manager) cannot use an index, but each group read in the list's remaining order
    (the code) can, and only as far as the page needs. On a short list (up to the cap) the
    group becomes the first sort key of one query instead. Customers that belong to no
    group come last.
    """

    cap = 10_000

    def __init__(self, object_list, per_page, *, groups: Sequence[Q] | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.groups = list(groups or [])

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk").order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap

    @cached_property
    def num_pages(self) -> int:
        if self.capped:
            return math.ceil(self.cap / self.per_page)
        return super().num_pages

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.cap if self.capped else self.count)
        if top + self.orphans >= self.count and not self.capped:
            top = self.count
        ids = self._ids(bottom, top) if top > bottom else []
        rows = {row.pk: row for row in self.object_list.filter(pk__in=ids)} if ids else {}
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)

    def _ids(self, bottom: int, top: int) -> list:
        """The primary keys of rows ``bottom`` to ``top`` of the list, in its order."""
        rest = self.object_list.query.order_by[1:]
        if not self.capped:
            # A short list: the database finds its rows first, with whatever index suits
            # the filter (a trigram index for a search), then sorts those. Left alone it may
            # walk the code index hoping to meet the few matches early.
            fenced = self.object_list.values("pk").order_by()[: self.cap + 1]
            short = self.object_list.filter(pk__in=fenced)
            if self.groups:
                last = Value(len(self.groups))
                rank = Case(
                    *(When(g, then=Value(i)) for i, g in enumerate(self.groups)), default=last
                )
                short = short.alias(list_group=rank).order_by("list_group", *rest)
            return list(short.values_list("pk", flat=True)[bottom:top])
        keys = self.object_list.values_list("pk", flat=True)
        if not self.groups:
            return list(keys[bottom:top])
        ids: list = []
        seen = 0
        for group in self.groups:
            if seen >= top:
                break
            chunk = list(keys.filter(group).order_by(*rest)[: top - seen])
            ids.extend(chunk[max(0, bottom - seen) :])
            seen += len(chunk)
        return ids


def tier_groups(ruleset: RuleSet | None, *, descending: bool) -> list[Q]:
    """The customer list's groups (see :class:`CappedPaginator`) when it is sorted by the
    current tier under ``ruleset``: the tiers of its versions, best first as the latest
    version lists them, then those only older versions know (the other way round when
    descending); customers without a tier come last either way."""
    if ruleset is None:
        return []
    names: list[str] = []
    for version in ruleset.versions.order_by("-number"):
        for tier in version.definition.get("tiers", []):
            if tier.get("name") and tier["name"] not in names:
                names.append(tier["name"])
    open_tiers = TierAssignment.objects.filter(
        ruleset=ruleset, valid_to__isnull=True, customer=OuterRef("pk")
    ).order_by()
    groups = [Q(Exists(open_tiers.filter(tier=name))) for name in names]
    if descending:
        groups.reverse()
    return [*groups, ~Q(Exists(open_tiers.filter(tier__in=names)))]


def owner_groups(owners: QuerySet, *, descending: bool) -> list[Q]:
    """The groups when the list is sorted by account manager: each owner's customers, by
    username, then the customers nobody owns (last either way)."""
    order = "-username" if descending else "username"
    groups = [Q(owner=pk) for pk in owners.order_by(order).values_list("pk", flat=True)]
    return [*groups, Q(owner__isnull=True)]
