from django import forms
from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import Exists, Func, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.accounts.models import User
from tiering_web.customers.models import Customer, Status
from tiering_web.evaluations.models import TierAssignment
from tiering_web.rulesets.models import RuleSet

#: The list's sort keys (a leading ``-`` sorts descending) and the field behind each.
SORTS = {
    "code": "code",
    "name": "name",
    "industry": "industry",
    "owner": "owner__username",
    "status": "status",
    "tier": "current_tier",
}


def _open_tiers(ruleset: RuleSet | None) -> QuerySet:
    if ruleset is None:
        return TierAssignment.objects.none()
    return TierAssignment.objects.filter(ruleset=ruleset, valid_to__isnull=True)


def with_current_tier(queryset: QuerySet, ruleset: RuleSet | None) -> QuerySet:
    """Annotate ``current_tier``: the open tier under ``ruleset`` (the primary one)."""
    tier = _open_tiers(ruleset).filter(customer=OuterRef("pk")).order_by().values("tier")[:1]
    return queryset.annotate(current_tier=Subquery(tier))


class _Bigrams(Func):
    """``tiering_bigrams(text)``: the distinct two-character pieces of a text (a SQL
    function of PostgreSQL that customers migration 0004 creates, with its index)."""

    function = "tiering_bigrams"
    output_field = ArrayField(TextField())


def _search(q: str) -> Q:
    """Customers whose code or name contains ``q`` (any case).

    On PostgreSQL trigram indexes answer three characters or more; a two-character query
    (Chinese names are searched by two-character words: 华泰, 机械) uses the index of
    two-character pieces of the name instead, and matches codes exactly (every code
    contains "C0")."""
    if len(q) == 2 and connection.vendor == "postgresql":
        return Q(code__iexact=q) | (Q(_name_bigrams__contains=[q.upper()]) & Q(name__icontains=q))
    return Q(code__icontains=q) | Q(name__icontains=q)


def _industries() -> list[str]:
    """Every customer's distinct industry, sorted, by a loose index scan (one index probe
    per industry: a few milliseconds at a million customers, where ``SELECT DISTINCT``
    reads them all). An account manager is offered them all too: an industry where they
    have no customer simply filters to nothing."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = f"""
        WITH RECURSIVE t(industry) AS (
            SELECT min(industry) FROM {table} WHERE industry > ''
            UNION ALL
            SELECT (SELECT min(c.industry) FROM {table} c WHERE c.industry > t.industry)
            FROM t WHERE t.industry IS NOT NULL
        )
        SELECT industry FROM t WHERE industry IS NOT NULL"""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def tier_names(ruleset: RuleSet | None) -> list[str]:
    """The tiers the rule set's latest version defines, best first."""
    version = ruleset.latest_version() if ruleset else None
    if version is None:
        return []
    return [t["name"] for t in version.definition.get("tiers", []) if t.get("name")]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    tier = forms.ChoiceField(label=pgettext_lazy("customer grade", "Tier"), required=False)
    industry = forms.ChoiceField(label=_("Industry"), required=False)
    owner = forms.ModelChoiceField(
        label=_("Account manager"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("All"),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Status.choices]
    )
    show = forms.ChoiceField(
        label=_("Customers"),
        required=False,
        choices=[
            ("", _("Active customers")),
            ("deactivated", _("Deactivated customers")),
            ("all", _("Active and deactivated")),
        ],
    )
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[(key, key) for name in SORTS for key in (name, f"-{name}")],
    )

    def __init__(self, data, *, customers: QuerySet, ruleset: RuleSet | None):
        super().__init__(data)
        self.ruleset = ruleset
        self.fields["q"].widget.attrs["placeholder"] = _("Code or name")
        self.fields["tier"].choices = [("", _("All"))] + [(t, t) for t in tier_names(ruleset)]
        self.fields["industry"].choices = [("", _("All"))] + [(i, i) for i in _industries()]
        self.fields["owner"].queryset = User.objects.filter(
            pk__in=customers.filter(owner__isnull=False).values("owner")
        ).order_by("username")

    def filter(self, customers: QuerySet) -> QuerySet:
        """The customers that match the form, with their current tier, sorted."""
        data = self.cleaned_data if self.is_valid() else {}
        show = data.get("show") or ""
        if show == "deactivated":
            customers = customers.deactivated()
        elif show != "all":
            customers = customers.active()
        if q := (data.get("q") or "").strip():
            if len(q) == 2 and connection.vendor == "postgresql":
                customers = customers.alias(_name_bigrams=_Bigrams(Upper("name")))
            customers = customers.filter(_search(q))
        if tier := data.get("tier"):
            customers = customers.filter(
                Exists(_open_tiers(self.ruleset).filter(customer=OuterRef("pk"), tier=tier))
            )
        if industry := data.get("industry"):
            customers = customers.filter(industry=industry)
        if owner := data.get("owner"):
            customers = customers.filter(owner=owner)
        if status := data.get("status"):
            customers = customers.filter(status=status)
        sort = data.get("sort") or "code"
        field = SORTS[sort.lstrip("-")]
        order = f"-{field}" if sort.startswith("-") else field
        return (
            with_current_tier(customers, self.ruleset)
            .select_related("owner")
            .order_by(order, "code")
        )
