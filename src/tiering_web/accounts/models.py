from django.contrib.auth.models import AbstractUser
from django.db import models
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
