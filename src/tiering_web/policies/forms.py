"""Forms of the policy pages: a version is one block per tier (its benefits as rows of
code / 中文 / English, its commercial terms and its service level), checked field by field
so that every problem sits on the field it is about; nothing is saved while any remains.
"""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tiering_web.policies.models import PolicyVersion, TierPolicy
from tiering_web.policies.services import TERMS

#: The terms a tier block edits besides its benefits.
TERM_FIELDS = [t for t in TERMS if t != "benefits"]

#: The commercial terms (the rest of TERM_FIELDS is the service level).
COMMERCIAL = (
    "price_coefficient",
    "discount_percent",
    "payment_terms_days",
    "credit_days",
    "credit_limit",
    "delivery_lead_days",
)

benefit_code = RegexValidator(
    r"^[A-Za-z0-9_.-]+$",
    _("use letters, digits, '_', '.' or '-' only (e.g. member_price)"),
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class OnDateForm(forms.Form):
    """``?on=YYYY-MM-DD``: the date whose terms to show."""

    on = forms.DateField(label=_("Terms in force on"), required=False, widget=DateInput())


class VersionForm(forms.Form):
    effective_date = forms.DateField(label=_("Effective date"), widget=DateInput())
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_effective_date(self):
        date = self.cleaned_data["effective_date"]
        if date < timezone.localdate():
            raise forms.ValidationError(
                _(
                    "choose today or a later date: a past date would rewrite the terms "
                    "that were in force then"
                )
            )
        return date


class BenefitForm(forms.Form):
    code = forms.CharField(
        label=_("Code"), max_length=50, required=False, validators=[benefit_code]
    )
    zh = forms.CharField(label=_("Chinese"), max_length=100, required=False)
    en = forms.CharField(label=_("English"), max_length=100, required=False)

    def clean(self):
        data = super().clean()
        code = (data.get("code") or "").strip()
        zh, en = (data.get("zh") or "").strip(), (data.get("en") or "").strip()
        if not (code or zh or en) or self.errors:
            return data
        if not code:
            self.add_error("code", _("a benefit needs a code"))
        if not (zh or en):
            self.add_error("zh", _("give the benefit a text in Chinese or English"))
        return data

    def benefit(self) -> dict | None:
        data = getattr(self, "cleaned_data", {})
        if not data or data.get("DELETE") or not (data.get("code") or "").strip():
            return None
        return {
            "code": data["code"].strip(),
            "zh": (data.get("zh") or "").strip(),
            "en": (data.get("en") or "").strip(),
        }


class BaseBenefitFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            benefit = form.benefit()
            if benefit is None:
                continue
            if benefit["code"] in seen:
                form.add_error("code", _("this code is given twice"))
            seen.add(benefit["code"])

    @property
    def benefits(self) -> list[dict]:
        return [b for b in (f.benefit() for f in self.forms) if b is not None]


BenefitFormSet = formset_factory(
    BenefitForm, formset=BaseBenefitFormSet, extra=1, can_delete=True, max_num=50
)


class TierPolicyForm(forms.ModelForm):
    """A tier's terms; the model's validators (discount 0-100, priority 1-9, share 0-1)
    run on the form's fields."""

    class Meta:
        model = TierPolicy
        fields = TERM_FIELDS
        widgets = {
            "queue_priority": forms.NumberInput(attrs={"min": 1, "max": 9}),
            "answer_share": forms.NumberInput(attrs={"min": 0, "max": 1, "step": "0.001"}),
        }


class TierBlock:
    """One tier's part of the editor: its terms form and its benefit rows."""

    def __init__(self, index: int, tier: str, data=None, policy: TierPolicy | None = None):
        self.index, self.tier = index, tier
        prefix = f"t{index}"
        initial_policy = policy or TierPolicy(tier=tier)
        initial = {t: getattr(initial_policy, t) for t in TERM_FIELDS}
        self.form = TierPolicyForm(
            data, prefix=prefix, instance=TierPolicy(tier=tier), initial=initial
        )
        self.benefits = BenefitFormSet(
            data,
            prefix=f"{prefix}-b",
            initial=[dict(b) for b in (policy.benefits if policy else [])],
        )

    def is_valid(self) -> bool:
        return all([self.form.is_valid(), self.benefits.is_valid()])

    def row(self) -> dict:
        data = self.form.cleaned_data
        return {"tier": self.tier, "benefits": self.benefits.benefits} | {
            t: data.get(t) for t in TERM_FIELDS
        }

    def problems(self) -> list[tuple[str, str]]:
        """(field label, message) of every problem in this block, for the summary."""
        out = []
        for name, errors in self.form.errors.items():
            label = self.form.fields[name].label if name in self.form.fields else ""
            out += [(str(label), e) for e in errors]
        for n, errors in enumerate(self.benefits.errors, 1):
            for name, messages in errors.items():
                field = self.benefits.forms[n - 1].fields.get(name)
                label = _("benefit %(n)s, %(field)s") % {
                    "n": n,
                    "field": field.label if field else name,
                }
                out += [(str(label), m) for m in messages]
        out += [(str(_("benefits")), e) for e in self.benefits.non_form_errors()]
        return out


class PolicyEditor:
    """The whole version: the date, note and reason, and one block per tier of the rule
    set's latest rules (in their order), started from ``base`` (the latest version)."""

    def __init__(self, tiers: list[str], data=None, base: PolicyVersion | None = None):
        policies = {p.tier: p for p in base.tiers.all()} if base is not None else {}
        initial = {"effective_date": timezone.localdate()}
        self.version = VersionForm(data, initial=initial)
        self.blocks = [TierBlock(i, tier, data, policies.get(tier)) for i, tier in enumerate(tiers)]
        self.service_problems: list[str] = []

    def is_valid(self) -> bool:
        valid = self.version.is_valid()
        return all([b.is_valid() for b in self.blocks]) and valid

    def rows(self) -> list[dict]:
        return [b.row() for b in self.blocks]

    def problems(self) -> list[tuple[str, str, str]]:
        """(tier, field, message) of every problem, for the summary above the form."""
        out = [
            ("", str(self.version.fields[name].label), e)
            for name, errors in self.version.errors.items()
            for e in errors
        ]
        for block in self.blocks:
            out += [(block.tier, label, m) for label, m in block.problems()]
        out += [("", "", m) for m in self.service_problems]
        return out


class ApproveForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
