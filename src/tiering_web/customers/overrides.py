"""Setting a customer's tier by hand: the override page reached from the customer page.

Only users who may override (administrators and managers) see the form; the service
(:func:`tiering_web.evaluations.services.do_set_override`) checks the tier and the reason
and records who did it and why; the next evaluation applies it until it expires.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiering_web.accounts.permissions import can_override, visible_customers
from tiering_web.errors import errors_to_form
from tiering_web.evaluations import domain, services
from tiering_web.evaluations.models import Override
from tiering_web.evaluations.services import do_set_override
from tiering_web.rulesets.models import RuleSet


class OverrideForm(forms.Form):
    ruleset = forms.ModelChoiceField(
        label=gettext_lazy("Rule set"), queryset=RuleSet.objects.none(), empty_label=None
    )
    tier = forms.CharField(label=gettext_lazy("Tier"), max_length=50)
    reason = forms.CharField(
        label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    expires = forms.DateField(
        label=gettext_lazy("Expires"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].queryset = RuleSet.objects.filter(versions__isnull=False).distinct()

    def clean_expires(self):
        """The services' rule (:func:`.domain.check_expiry`), asked early with the others."""
        expires = self.cleaned_data["expires"]
        domain.check_expiry(expires, services.today())
        return expires


def _tiers(rulesets) -> list[tuple[RuleSet, list[str]]]:
    """Each rule set with its tiers (its latest version's), for the form's hints."""
    return [(r, r.latest_version().rules().tier_names) for r in rulesets]


@login_required
def customer_override(request, code):
    customer = get_object_or_404(visible_customers(request.user), code=code)
    if not can_override(request.user):
        raise PermissionDenied
    form = OverrideForm(request.POST or None, initial={"ruleset": _primary()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_set_override(
                request.user,
                customer,
                data["ruleset"],
                data["tier"].strip(),
                data["reason"].strip(),
                data["expires"],
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request,
                _("Override saved: the next evaluation of %(ruleset)s gives %(tier)s.")
                % {"ruleset": data["ruleset"].name, "tier": data["tier"].strip()},
            )
            return redirect("customer_detail", code=customer.code)
    rulesets = list(form.fields["ruleset"].queryset)
    current = Override.objects.filter(customer=customer).select_related("ruleset", "created_by")
    return render(
        request,
        "customers/customer_override.html",
        {"customer": customer, "form": form, "tiers": _tiers(rulesets), "current": current},
    )


def _primary() -> RuleSet | None:
    return RuleSet.objects.filter(is_primary=True).first()
