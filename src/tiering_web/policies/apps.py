from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "tiering_web.policies"
    verbose_name = _("Tier policies")
