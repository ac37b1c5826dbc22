"""What awaits a user's signature or decision: their approvals inbox (待我审批).

Five kinds of work wait on someone other than the person who started them, each by the
role rules of :mod:`tiering_web.accounts.permissions` and the four-eyes rules of
:mod:`tiering_web.rulesets.domain`:

``review``
    rule-set drafts to sign as reviewer (not one's own);
``approve``
    reviewed rule-set versions to sign as approver (neither written nor reviewed by one);
``policy``
    tier-policy drafts to approve (not one's own; not past their effective date, which
    can no longer be approved);
``publish``
    draft evaluations to publish or discard;
``proposals``
    account-manager assignment proposals to decide, by the evaluation that made them;
``messages``
    publications whose messages to customers wait to be released or cancelled.

A rule-set version that a later approved version of the same rule set has overtaken is
no longer asked for. :func:`awaiting` lists the work; :func:`count` is what the
navigation shows on every page, in one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from tiering_web.accounts import permissions

#: The sections of the inbox, in the order a user meets them.
SECTIONS = ("review", "approve", "policy", "publish", "proposals", "messages")

TITLES = {
    "review": _("Rule-set versions to review"),
    "approve": _("Rule-set versions to approve"),
    "policy": _("Tier policies to approve"),
    "publish": _("Evaluations to publish"),
    "proposals": _("Assignment proposals to decide"),
    "messages": _("Messages to customers to release"),
}


def _not_superseded(queryset: QuerySet) -> QuerySet:
    from tiering_web.rulesets.models import RuleSetVersion

    later = RuleSetVersion.objects.filter(
        ruleset=OuterRef("ruleset"),
        number__gt=OuterRef("number"),
        status=RuleSetVersion.Status.APPROVED,
    )
    return queryset.filter(~Exists(later))


def _querysets(user) -> dict[str, QuerySet]:
    """The work of each section ``user`` has (a section they may not do is absent)."""
    from tiering_web.accountwork.models import AssignmentProposal
    from tiering_web.evaluations.models import Evaluation
    from tiering_web.policies.models import PolicyVersion
    from tiering_web.rulesets.models import RuleSetVersion

    not_mine = ~Q(author=user.pk) | Q(author__isnull=True)
    found: dict[str, QuerySet] = {}
    if permissions.can_review_rules(user):
        found["review"] = _not_superseded(
            RuleSetVersion.objects.filter(not_mine, status=RuleSetVersion.Status.DRAFT)
        )
    if permissions.can_edit_rules(user):
        found["approve"] = _not_superseded(
            RuleSetVersion.objects.filter(not_mine, status=RuleSetVersion.Status.REVIEWED).exclude(
                reviewer=user.pk
            )
        )
    if permissions.can_edit_policies(user):
        found["policy"] = PolicyVersion.objects.filter(
            not_mine,
            status=PolicyVersion.Status.DRAFT,
            effective_date__gte=timezone.localdate(),
        )
    if permissions.can_publish(user):
        found["publish"] = Evaluation.objects.filter(status=Evaluation.Status.DRAFT)
    if permissions.can_plan_account_work(user):
        found["proposals"] = AssignmentProposal.objects.filter(
            status=AssignmentProposal.Status.PROPOSED
        )
    if permissions.can_view_outbox(user):
        from tiering_web.notifications.models import Message

        held = Message.objects.filter(status=Message.Status.HELD).values("evaluation")
        found["messages"] = Evaluation.objects.filter(pk__in=held)
    return found


def has_inbox(user) -> bool:
    """Whether anything can ever await ``user`` (account managers: nothing)."""
    return bool(_querysets(user))


def _count_of(queryset: QuerySet) -> Subquery:
    # COUNT as a plain function, not an aggregate: no GROUP BY, always one row
    return Subquery(
        queryset.order_by().values(n=Func(F("pk"), function="COUNT", output_field=IntegerField()))
    )


def count(user) -> dict[str, int]:
    """How many items await ``user`` in each of their sections, and ``total``: one query
    (nothing at all for a user without sections)."""
    querysets = _querysets(user)
    if not querysets:
        return {"total": 0}
    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(**{name: _count_of(qs) for name, qs in querysets.items()})
        .first()
    ) or dict.fromkeys(querysets, 0)
    counts = {name: int(row[name] or 0) for name in querysets}
    return {**counts, "total": sum(counts.values())}


@dataclass
class Item:
    """One line of the inbox: what it is, who started it, when, and where to act."""

    title: str
    detail: str
    by: str
    at: object
    url: str


@dataclass
class Section:
    name: str
    title: object
    items: list[Item] = field(default_factory=list)
    total: int = 0


def _date(day) -> str:
    return date_format(day, "DATE_FORMAT")


def _who(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def awaiting(user, listed: int = 50) -> list[Section]:
    """The inbox of ``user``: each of their sections with its first ``listed`` items
    (oldest first: they have waited longest) and how many there are in all."""
    sections = []
    for name, queryset in _querysets(user).items():
        section = Section(name, TITLES[name])
        if name == "proposals":
            # one line per evaluation: the proposals are decided together on their page
            groups = (
                queryset.values("evaluation", "evaluation__as_of")
                .annotate(n=Count("pk"))
                .order_by("evaluation__as_of", "evaluation")
            )
            section.total = sum(g["n"] for g in groups)
            for group in list(groups)[:listed]:
                section.items.append(
                    Item(
                        title=str(_("Evaluation as of %(date)s"))
                        % {"date": _date(group["evaluation__as_of"])},
                        detail=str(_("%(n)d customers")) % {"n": group["n"]},
                        by="",
                        at=None,
                        url=reverse("work_proposals"),
                    )
                )
        else:
            section.total = queryset.count()
            section.items = [_item(name, obj) for obj in _listed(name, queryset, listed)]
        sections.append(section)
    return sections


def _listed(name: str, queryset: QuerySet, listed: int):
    if name in ("review", "approve"):
        return queryset.select_related("ruleset", "author", "reviewer").order_by("created_at")[
            :listed
        ]
    if name == "policy":
        return queryset.select_related("ruleset", "author").order_by("created_at")[:listed]
    if name == "messages":
        from tiering_web.notifications.models import Message

        waiting = Message.objects.filter(evaluation=OuterRef("pk"), status=Message.Status.HELD)
        return (
            queryset.select_related("ruleset_version__ruleset", "published_by")
            .annotate(waiting=_count_of(waiting))
            .order_by("published_at", "pk")[:listed]
        )
    return queryset.select_related("ruleset_version__ruleset", "created_by").order_by("created_at")[
        :listed
    ]


def _item(name: str, obj) -> Item:
    if name in ("review", "approve"):
        detail = ""
        if name == "approve":
            detail = str(_("reviewed by %(name)s")) % {"name": _who(obj.reviewer)}
        return Item(
            title=f"{obj.ruleset.name} v{obj.number}",
            detail=detail,
            by=_who(obj.author),
            at=obj.created_at,
            url=reverse("ruleset_detail", args=[obj.ruleset_id])
            + f"?version={obj.number}#version-{obj.number}",
        )
    if name == "policy":
        return Item(
            title=f"{obj.ruleset.name} v{obj.number}",
            detail=str(_("effective from %(date)s")) % {"date": _date(obj.effective_date)},
            by=_who(obj.author),
            at=obj.created_at,
            url=reverse("policy_detail", args=[obj.ruleset_id, obj.number]),
        )
    version = obj.ruleset_version
    if name == "messages":
        return Item(
            title=f"{version.ruleset.name} v{version.number}",
            detail=str(_("%(n)d messages, published as of %(date)s"))
            % {"n": obj.waiting, "date": _date(obj.as_of)},
            by=_who(obj.published_by),
            at=obj.published_at,
            url=reverse("evaluation_detail", args=[obj.pk]) + "#customer-messages",
        )
    return Item(
        title=f"{version.ruleset.name} v{version.number}",
        detail=str(_("as of %(date)s")) % {"date": _date(obj.as_of)},
        by=_who(obj.created_by),
        at=obj.created_at,
        url=reverse("evaluation_detail", args=[obj.pk]),
    )
