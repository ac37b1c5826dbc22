import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    MANAGER = "manager", _("Manager")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    ANALYST = "analyst", _("Analyst")


class User(AbstractUser):
    """A member of staff. ``role`` decides what they may see and do.

    Administrators manage users and settings; managers publish evaluations and set
    overrides; account managers see and edit only the customers they own; analysts read
    everything except personal contact data and cannot publish.
    """

    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.ACCOUNT_MANAGER
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class ApiToken(models.Model):
    """A user's token for the REST API. Only the SHA-256 of the token is stored; the token
    itself is shown once, when :func:`tiering_web.accounts.api.issue_token` makes it."""

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ("user", "-created")

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class LoginAttempt(models.Model):
    """One try at the login page, kept in the database so that login throttling holds
    across processes and servers (a per-process cache would let an attacker spread guesses
    over workers).

    ``username`` is the name as typed, case-folded, whether or not such a user exists;
    ``ip`` is the client address. A ``refused`` attempt is one turned away by a lockout
    without checking the password; it does not count as a failure, so a lockout ends on
    time however often someone knocks.
    """

    class Outcome(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        REFUSED = "refused", _("Refused (locked out)")

    username = models.CharField(_("username"), max_length=150)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        ordering = ("-at", "-id")
        indexes = [
            models.Index(fields=["username", "at"], name="login_attempt_username_idx"),
            models.Index(fields=["ip", "at"], name="login_attempt_ip_idx"),
            models.Index(fields=["at"], name="login_attempt_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.ip or ''} {self.outcome}"
