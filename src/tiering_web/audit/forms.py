import datetime as dt

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.accounts.models import User
from tiering_web.audit.models import AuditEntry


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(
        label=_("Who"), queryset=User.objects.none(), required=False, empty_label=_("All")
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    object = forms.CharField(label=_("Object"), required=False, max_length=200)
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = User.objects.order_by("username")
        entries = AuditEntry.objects.order_by()
        actions = entries.values_list("action", flat=True).distinct()
        self.fields["action"].choices = [("", _("All"))] + [(a, a) for a in sorted(actions)]
        types = entries.exclude(object_type="").values_list("object_type", flat=True).distinct()
        self.fields["object_type"].choices = [("", _("All"))] + [(t, t) for t in sorted(types)]
        self.fields["object"].widget.attrs["placeholder"] = _("Id or name")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def filter(self, entries: QuerySet) -> QuerySet:
        """The entries that match the form, newest first. Dates are whole days in the
        site's time zone, both ends included."""
        self.is_valid()  # a bad field is shown with its error; the good ones still filter
        data = getattr(self, "cleaned_data", {})
        if actor := data.get("actor"):
            entries = entries.filter(actor=actor)
        if action := data.get("action"):
            entries = entries.filter(action=action)
        if object_type := data.get("object_type"):
            entries = entries.filter(object_type=object_type)
        if obj := (data.get("object") or "").strip():
            entries = entries.filter(Q(object_id=obj) | Q(object_repr__icontains=obj))
        if since := data.get("since"):
            entries = entries.filter(at__gte=_start_of(since))
        if until := data.get("until"):
            entries = entries.filter(at__lt=_start_of(until + dt.timedelta(days=1)))
        return entries.order_by("-at", "-id")
