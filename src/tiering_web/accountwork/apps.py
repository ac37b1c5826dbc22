from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountWorkConfig(AppConfig):
    name = "tiering_web.accountwork"
    verbose_name = _("Account managers' work")
