from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationsConfig(AppConfig):
    name = "tiering_web.evaluations"
    verbose_name = _("Evaluations")

    def ready(self):
        from tiering_web.evaluations import receivers  # noqa: F401  (connects them)
