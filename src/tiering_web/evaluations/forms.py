import datetime as dt

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiering_web.accounts.models import User
from tiering_web.evaluations import domain
from tiering_web.evaluations.models import Evaluation, Schedule
from tiering_web.evaluations.schedules import period_start
from tiering_web.rulesets.models import RuleSet, RuleSetVersion


def today() -> dt.date:
    """Today in the site's time zone (a function, so tests can fix the date)."""
    return timezone.localdate()


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: RuleSetVersion) -> str:
        return f"{obj.ruleset.name} v{obj.number} ({obj.get_status_display()})"


class RunForm(forms.Form):
    version = VersionChoiceField(
        label=_("Rule set version"),
        # approved versions with an effective date only (domain.check_runnable): a
        # draft's tiers could never be published (try a draft with the rule set's what-if)
        queryset=RuleSetVersion.objects.filter(
            status=RuleSetVersion.Status.APPROVED, effective_date__isnull=False
        )
        .select_related("ruleset")
        .order_by("ruleset__name", "-number"),
    )
    as_of = forms.DateField(
        label=_("As of"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Transactions up to and including this date count."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # a suggestion only: the end of the last complete quarter
        self.fields["as_of"].initial = period_start(today(), 3) - dt.timedelta(days=1)

    def clean_as_of(self):
        """The services' rule (:func:`.domain.check_as_of`), asked early for the form."""
        as_of = self.cleaned_data["as_of"]
        try:
            domain.check_as_of(as_of, today(), settings.TIERING_AS_OF_HORIZON_DAYS)
        except ValidationError as error:
            raise ValidationError(error.error_dict["as_of"]) from None
        return as_of

    def clean(self):
        """The services' rule (:func:`.domain.check_runnable`): the version is in effect
        on the as-of date; its error on ``version`` or ``as_of``."""
        data = super().clean()
        version, as_of = data.get("version"), data.get("as_of")
        if version is not None and as_of is not None:
            try:
                domain.check_runnable(
                    as_of=as_of,
                    version_status=version.status,
                    version_effective=version.effective_date,
                )
            except ValidationError as error:
                for field, problems in error.error_dict.items():
                    self.add_error("version" if field == "ruleset_version" else field, problems)
        return data


#: The change filter's values and the stored ``change`` values each matches ("" is a
#: customer graded for the first time, before any tier was published).
CHANGES = {
    "up": ("up",),
    "down": ("down",),
    "same": ("same",),
    "new": ("new", ""),
    "changed": ("changed",),
}


class ResultFilterForm(forms.Form):
    change = forms.ChoiceField(
        label=pgettext_lazy("tier movement", "Change"),
        required=False,
        choices=[
            ("", _("All")),
            ("up", _("Upgrades")),
            ("down", _("Downgrades")),
            ("same", _("Unchanged")),
            ("new", pgettext_lazy("tier movement", "New")),
            ("changed", _("Previous tier no longer exists")),
        ],
    )
    tier = forms.ChoiceField(label=pgettext_lazy("customer grade", "Tier"), required=False)
    owner = forms.ModelChoiceField(
        label=_("Account manager"), queryset=User.objects.none(), required=False
    )
    industry = forms.ChoiceField(label=_("Industry"), required=False)

    def __init__(self, data, *, evaluation: Evaluation, results: QuerySet):
        super().__init__(data)
        tiers = [t.get("name") for t in evaluation.ruleset_version.definition.get("tiers", [])]
        self.fields["tier"].choices = [("", _("All"))] + [(t, t) for t in tiers if t]
        self.fields["owner"].empty_label = _("All")
        self.fields["owner"].queryset = User.objects.filter(
            pk__in=results.filter(customer__owner__isnull=False).values("customer__owner")
        ).order_by("username")
        industries = (
            results.exclude(customer__industry="")
            .order_by("customer__industry")
            .values_list("customer__industry", flat=True)
            .distinct()
        )
        self.fields["industry"].choices = [("", _("All"))] + [(i, i) for i in industries]

    def filter(self, results: QuerySet) -> QuerySet:
        data = self.cleaned_data if self.is_valid() else {}
        if change := data.get("change"):
            results = results.filter(change__in=CHANGES[change])
        if tier := data.get("tier"):
            results = results.filter(tier=tier)
        if owner := data.get("owner"):
            results = results.filter(customer__owner=owner)
        if industry := data.get("industry"):
            results = results.filter(customer__industry=industry)
        return results


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    confirm = forms.BooleanField(label=_("I have reviewed the results and confirm"))


class ScheduleForm(forms.Form):
    ruleset = forms.ModelChoiceField(label=_("Rule set"), queryset=RuleSet.objects.none())
    frequency = forms.ChoiceField(
        label=pgettext_lazy("schedule", "Frequency"), choices=Schedule.Frequency.choices
    )
    next_run = forms.DateField(
        label=_("Next run"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "The day it runs (1 to 28); it grades as of the last day of the previous month "
            "or quarter."
        ),
    )
    auto_publish = forms.BooleanField(
        label=_("Publish automatically"),
        required=False,
        help_text=_(
            "Publish the draft as soon as it is computed, in your name; otherwise it waits "
            "for review."
        ),
    )
    active = forms.BooleanField(
        label=pgettext_lazy("schedule", "Active"), required=False, initial=True
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)

    def __init__(self, *args, schedule: Schedule | None = None, **kwargs):
        if schedule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "ruleset": schedule.ruleset_id,
                    "frequency": schedule.frequency,
                    "next_run": schedule.next_run,
                    "auto_publish": schedule.auto_publish,
                    "active": schedule.active,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["ruleset"].queryset = RuleSet.objects.filter(
            versions__status=RuleSetVersion.Status.APPROVED
        ).distinct()
        if schedule is not None:
            self.fields["ruleset"].queryset = RuleSet.objects.filter(pk=schedule.ruleset_id)
            self.fields["ruleset"].disabled = True
