import math

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tiering_web.accounts import login_throttle
from tiering_web.accounts.models import Role, User


class ThrottledLoginMixin:
    """Refuse a login while the username or the address is locked out (before even
    looking at the password), and count each failure. See
    :mod:`tiering_web.accounts.login_throttle`."""

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()
        ip = login_throttle.client_ip(self.request)
        lock = login_throttle.current_lock(username, ip)
        if lock is not None:
            login_throttle.note_refused(username, ip)
            raise self.locked_error(lock)
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.user_cache is None:  # a wrong password, not a staff-only refusal
                lock = login_throttle.note_failure(username, ip)
                if lock is not None:
                    raise self.locked_error(lock) from None
            raise
        login_throttle.note_success(username, ip)
        return cleaned

    def locked_error(self, lock: login_throttle.Lock) -> ValidationError:
        minutes = max(1, math.ceil((lock.until - timezone.now()).total_seconds() / 60))
        message = ngettext(
            "Too many failed logins. Logging in is locked; try again in %(minutes)d minute.",
            "Too many failed logins. Logging in is locked; try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        return ValidationError(message, code="locked")


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Your username and password did not match. Please try again."),
    }


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Reason"))
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 60}))
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)


class NewPasswordMixin:
    """Two password fields that must match; the strength checks are the service's
    (Django's validators), reported under ``password``."""

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords do not match."))
        return cleaned


def _password_field(label, autocomplete="new-password"):
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class UserCreateForm(NewPasswordMixin, forms.ModelForm):
    password = _password_field(_("Password"))
    password2 = _password_field(_("Password again"))
    reason = ReasonField()

    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "email", "role")


class UserEditForm(forms.ModelForm):
    reason = ReasonField()

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "role", "is_active")
        labels = {"is_active": _("Active (may log in)")}
        help_texts = {"is_active": _("Untick to deactivate: users are never deleted.")}


class SetPasswordForm(NewPasswordMixin, forms.Form):
    password = _password_field(_("New password"))
    password2 = _password_field(_("New password again"))
    reason = ReasonField()


class OwnPasswordForm(NewPasswordMixin, forms.Form):
    old_password = _password_field(_("Current password"), "current-password")
    password = _password_field(_("New password"))
    password2 = _password_field(_("New password again"))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        old = self.cleaned_data["old_password"]
        if not self.user.check_password(old):
            raise ValidationError(_("Your current password is not correct."), code="wrong")
        return old


class TokenIssueForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the script or system that uses it."),
    )


class UserFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("All")), *Role.choices]
    )
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), ("1", _("Active")), ("0", _("Inactive"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Username, name or e-mail")

    def filter(self, users: QuerySet) -> QuerySet:
        data = self.cleaned_data if self.is_valid() else {}
        if q := (data.get("q") or "").strip():
            users = users.filter(
                Q(username__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(email__icontains=q)
            )
        if role := data.get("role"):
            users = users.filter(role=role)
        if active := data.get("active"):
            users = users.filter(is_active=active == "1")
        return users
