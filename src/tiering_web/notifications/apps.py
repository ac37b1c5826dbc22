from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "tiering_web.notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from tiering_web.notifications import receivers  # noqa: F401  (connects them)
