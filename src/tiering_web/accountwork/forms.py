"""Forms of the account managers' work pages: they check the shape of the input; the
services check the rules."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiering_web.accountwork.models import AssignmentProposal, Task, TaskKind
from tiering_web.accountwork.services import possible_owners


def _reason_field(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=gettext_lazy("Reason"),
        required=required,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CompleteTaskForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=Task.Outcome.choices)
    feedback = forms.CharField(
        label=gettext_lazy("Feedback"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DecideForm(forms.Form):
    """Accept or reject the ticked proposals (or the one whose button was pressed)."""

    decision = forms.ChoiceField(
        choices=[("accept", gettext_lazy("Accept")), ("reject", gettext_lazy("Reject"))],
        required=False,
    )
    proposals = forms.ModelMultipleChoiceField(
        queryset=AssignmentProposal.objects.none(), required=False
    )
    one = forms.CharField(required=False)
    reason = _reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposals"].queryset = AssignmentProposal.objects.filter(
            status=AssignmentProposal.Status.PROPOSED
        )

    def clean(self):
        data = super().clean()
        one = (data.get("one") or "").strip()
        if one:
            decision, _sep, pk = one.partition(":")
            chosen = self.fields["proposals"].queryset.filter(pk=pk if pk.isdigit() else 0)
            if decision not in ("accept", "reject") or not chosen.exists():
                raise ValidationError(_("That proposal is no longer waiting for a decision."))
            data["decision"], data["proposals"] = decision, list(chosen)
        elif not data.get("decision"):
            raise ValidationError(_("Choose accept or reject."))
        elif not data.get("proposals"):
            raise ValidationError(_("Tick at least one proposal."))
        return data


class ProfileForm(forms.Form):
    """One account manager's seniority and capacity for each tier (``capacity_<n>`` for
    the n-th tier of the primary rule set)."""

    user = forms.ModelChoiceField(queryset=possible_owners(), widget=forms.HiddenInput)
    seniority = forms.IntegerField(label=gettext_lazy("Seniority"), min_value=0, max_value=99)
    reason = _reason_field()

    def __init__(self, *args, tiers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = possible_owners()
        self.tiers = tiers
        for i, tier in enumerate(tiers):
            self.fields[f"capacity_{i}"] = forms.IntegerField(
                label=tier, min_value=0, max_value=100000, required=False
            )

    def capacity(self) -> dict[str, int]:
        return {
            tier: self.cleaned_data.get(f"capacity_{i}") or 0 for i, tier in enumerate(self.tiers)
        }


class PlanForm(forms.Form):
    tier = forms.ChoiceField(label=gettext_lazy("Tier"))
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TaskKind.choices)
    every_days = forms.IntegerField(
        label=gettext_lazy("Every (days)"),
        min_value=1,
        max_value=3660,
        required=False,
        help_text=gettext_lazy("empty: the tier policy's revisit interval"),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("Starts on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    reason = _reason_field()

    def __init__(self, *args, tiers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [(t, t) for t in tiers]


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(
        label=gettext_lazy("New account manager"), queryset=possible_owners()
    )
    reason = _reason_field()
    #: the owner the form was shown with ("" for none): the transfer is refused if it has
    #: changed meanwhile
    expected_owner = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_owner"].queryset = possible_owners().order_by("username")

    def clean_expected_owner(self) -> int | None:
        value = (self.cleaned_data.get("expected_owner") or "").strip()
        if value and not value.isdigit():
            raise ValidationError(_("Reload the page and try again."))
        return int(value) if value else None


class StaleForm(forms.Form):
    days = forms.IntegerField(
        label=gettext_lazy("Not updated for (days)"), min_value=1, max_value=3650, initial=90
    )
    owner = forms.CharField(required=False, widget=forms.HiddenInput)
