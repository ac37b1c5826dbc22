"""WSGI entry point: ``tiering_web.wsgi:application``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tiering_web.settings")

application = get_wsgi_application()
