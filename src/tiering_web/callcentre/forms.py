import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: The longest period the SLA report covers at once.
MAX_DAYS = 366


class SlaPeriodForm(forms.Form):
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - dt.timedelta(days=29)
        if start > end:
            self.add_error("start", _("The start is after the end."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", _("At most a year at a time."))
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The period asked for, or the last 30 days."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        end = timezone.localdate()
        return end - dt.timedelta(days=29), end


class CallImportForm(forms.Form):
    file = forms.FileField(
        label=_("Calls file (CSV)"),
        help_text=_("UTF-8 or GBK; at most 20 MB."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


class RebuildForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
