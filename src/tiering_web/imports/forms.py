from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.imports.models import ImportJob
from tiering_web.imports.services import FIELDS, MAX_UPLOAD_BYTES, PAYMENTS, REQUIRED

#: Our fields as the mapping page names them.
FIELD_LABELS = {
    "code": _("Customer code"),
    "name": _("Name"),
    "industry": _("Industry"),
    "size": _("Enterprise size"),
    "nature": _("Nature"),
    "business_mode": _("Business mode"),
    "needs_type": _("Needs type"),
    "complexity": _("Business complexity"),
    "influence": _("Market influence"),
    "closeness": _("Relationship closeness"),
    "owner": _("Account manager (username)"),
    "credit_rating": _("Credit rating"),
    "price_coefficient": _("Price coefficient"),
    "status": _("Status"),
    "expected_close": _("Expected close date"),
    "notes": _("Notes"),
    "customer_code": _("Customer code"),
    "date": _("Date"),
    "amount": _("Amount"),
    "cost": _("Cost"),
    "kind": pgettext_lazy("transaction", "Kind (order or return)"),
    "reference": _("Reference (order number)"),
}
#: Where a kind of file names a field differently.
KIND_LABELS = {
    PAYMENTS: {
        "date": _("Payment date"),
        "amount": _("Amount received"),
        "reference": _("Reference (receipt number)"),
    },
}


def field_label(kind: str, field: str):
    """Our field as the mapping page names it for this kind of file."""
    return KIND_LABELS.get(kind, {}).get(field, FIELD_LABELS[field])


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What the file holds"),
        choices=ImportJob.Kind.choices,
        widget=forms.RadioSelect,
        initial=ImportJob.Kind.CUSTOMERS,
    )
    file = forms.FileField(
        label=_("File (.csv or .xlsx)"),
        help_text=_("At most %(limit)d MB.") % {"limit": MAX_UPLOAD_BYTES >> 20},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )


class MappingForm(forms.Form):
    """One select per field of the job's kind (the file's headers as choices) and the
    reason the audit log keeps."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Why this import: kept in the audit log."),
    )

    def __init__(self, data=None, *, kind: str, columns: list[str], initial=None):
        super().__init__(data, initial=initial)
        choices = [("", _("(not imported)"))] + [(c, c) for c in columns]
        fields = {}
        for field in FIELDS[kind]:
            fields[field] = forms.ChoiceField(
                label=field_label(kind, field),
                choices=choices,
                required=field in REQUIRED[kind],
            )
        fields["reason"] = self.fields["reason"]
        self.fields = fields
        self.kind = kind

    def mapping_fields(self):
        return [self[f] for f in FIELDS[self.kind]]

    def clean(self):
        data = super().clean()
        seen: dict[str, str] = {}
        for field in FIELDS[self.kind]:
            header = data.get(field)
            if not header:
                continue
            if header in seen:
                self.add_error(
                    field,
                    _("The column “%(header)s” is already used for “%(other)s”.")
                    % {"header": header, "other": field_label(self.kind, seen[header])},
                )
            else:
                seen[header] = field
        return data

    def mapping(self) -> dict[str, str]:
        return {f: self.cleaned_data[f] for f in FIELDS[self.kind] if self.cleaned_data.get(f)}
