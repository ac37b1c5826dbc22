from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallCentreConfig(AppConfig):
    name = "tiering_web.callcentre"
    verbose_name = _("Call centre")

    def ready(self):
        from tiering_web.callcentre import receivers  # noqa: F401
