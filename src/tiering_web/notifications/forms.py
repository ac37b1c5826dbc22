from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tiering_web.notifications.models import (
    EVENTS,
    Channel,
    Kind,
    Language,
    Message,
    WebhookEndpoint,
)


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Message.Status.choices]
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *Kind.choices]
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )
    q = forms.CharField(label=_("Customer or recipient"), required=False, max_length=100)
    evaluation = forms.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput
    )

    def filter(self, messages: QuerySet) -> QuerySet:
        if not self.is_bound or not self.is_valid():
            return messages
        data = self.cleaned_data
        for name in ("status", "kind", "channel", "evaluation"):
            if data.get(name):
                messages = messages.filter(**{name: data[name]})
        if data.get("q"):
            q = data["q"].strip()
            messages = messages.filter(
                Q(customer__code=q) | Q(recipient__icontains=q) | Q(customer__name__icontains=q)
            )
        return messages


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class TemplateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Body"), widget=forms.Textarea(attrs={"rows": 14, "cols": 90}))
    reason = forms.CharField(label=_("Reason"), max_length=2000)


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=WebhookEndpoint.Purpose.choices)
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("Signing secret"), max_length=200, widget=forms.PasswordInput(render_value=False)
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    events = forms.MultipleChoiceField(
        label=_("Events (integrations)"),
        required=False,
        choices=[(e, e) for e in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What an integration endpoint is told of."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000)

    def __init__(self, *args, endpoint: WebhookEndpoint | None = None, **kwargs):
        if endpoint is not None:
            kwargs.setdefault(
                "initial",
                {n: getattr(endpoint, n) for n in ("name", "purpose", "url", "active", "events")},
            )
        super().__init__(*args, **kwargs)
        if endpoint is not None:
            self.fields["secret"].required = False
            self.fields["secret"].help_text = _("Leave empty to keep the current secret.")

    def endpoint_data(self) -> dict:
        data = {
            name: self.cleaned_data[name] for name in ("name", "purpose", "url", "active", "events")
        }
        if self.cleaned_data.get("secret"):
            data["secret"] = self.cleaned_data["secret"]
        return data


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of messages"), choices=Language.choices)
    email_opt_out = forms.BooleanField(label=_("No e-mail"), required=False)
    sms_opt_out = forms.BooleanField(label=_("No SMS"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=2000, required=False)
