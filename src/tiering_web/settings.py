"""Settings for the web application, read from the environment.

``DATABASE_URL`` picks the database (SQLite file ``var/tiering.sqlite3`` under the current
directory by default; ``postgres://...`` for PostgreSQL), ``TIERING_DEBUG`` Django's debug
mode, ``TIERING_VAR_DIR`` where local files go (``var/`` under the current directory).

The secret key (sessions, CSRF, password resets) is, in this order: ``TIERING_SECRET_KEY``;
the contents of the file ``TIERING_SECRET_KEY_FILE`` (default ``var/secret_key``, which
``make run`` and ``make web`` generate once, readable by its owner only); under
``TIERING_DEBUG=1`` or inside a pytest run (pytest sets ``PYTEST_VERSION``) a fixed key that
is not secret. Otherwise the application refuses to start (``ImproperlyConfigured`` naming
``TIERING_SECRET_KEY``) rather than sign sessions with a key printed in its source.

Logging: everything at ``TIERING_LOG_LEVEL`` (default ``INFO``) and above, unhandled errors
of a request (500) with their traceback, goes to standard error and to a rotating file,
``TIERING_LOG_FILE`` (default ``var/log/tiering.log``, 10 MB × 5 files; empty for standard
error only).

HTTPS deployments set ``TIERING_HTTPS=1``: plain-HTTP requests are redirected to HTTPS, the
session and CSRF cookies are sent over HTTPS only, and HSTS tells browsers to use HTTPS for
``TIERING_HSTS_SECONDS`` (default a year; with ``includeSubDomains`` and ``preload`` unless
``TIERING_HSTS_INCLUDE_SUBDOMAINS=0`` / ``TIERING_HSTS_PRELOAD=0``). Behind a reverse proxy
that ends TLS, ``TIERING_BEHIND_PROXY=1`` also trusts its ``X-Forwarded-Proto: https``: the
proxy must set that header itself and strip it from what clients send.
``TIERING_ALLOWED_HOSTS`` (comma-separated) names the host names the site answers to.

Every page carries a Content-Security-Policy (:mod:`tiering_web.security_headers`), and
Django's ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin`` and
``X-Frame-Options: DENY``; every API answer ``Cache-Control: no-store``.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("TIERING_VAR_DIR", Path.cwd() / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).lower() in ("1", "true", "yes", "on")


DEBUG = _flag("TIERING_DEBUG")

#: The key DEBUG and the tests use: public, so never for a server others can reach.
DEVELOPMENT_SECRET_KEY = "django-insecure-dev-only-change-me-in-production-tiering"
SECRET_KEY_FILE = Path(os.environ.get("TIERING_SECRET_KEY_FILE") or VAR_DIR / "secret_key")


def _secret_key() -> str:
    if key := os.environ.get("TIERING_SECRET_KEY", "").strip():
        return key
    if SECRET_KEY_FILE.is_file() and (key := SECRET_KEY_FILE.read_text().strip()):
        return key
    if DEBUG or "PYTEST_VERSION" in os.environ:
        return DEVELOPMENT_SECRET_KEY
    raise ImproperlyConfigured(
        "TIERING_SECRET_KEY is not set and there is no key file at "
        f"{SECRET_KEY_FILE} (TIERING_SECRET_KEY_FILE). Set TIERING_SECRET_KEY to a long "
        "random string, or write one to that file, e.g. python -c 'import secrets; "
        "print(secrets.token_urlsafe(50))' > var/secret_key (`make web` does this once); "
        "TIERING_DEBUG=1 runs with a public development key instead."
    )


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h for h in os.environ.get("TIERING_ALLOWED_HOSTS", "").split(",") if h] or [
    "127.0.0.1",
    "localhost",
    "testserver",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "tiering_web.accounts",
    "tiering_web.audit",
    "tiering_web.customers",
    "tiering_web.rulesets",
    "tiering_web.evaluations",
    "tiering_web.imports",
    "tiering_web.dashboard",
    "tiering_web.policies",
    "tiering_web.accountwork",
    "tiering_web.notifications",
    "tiering_web.callcentre",
    "tiering_web.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # a Content-Security-Policy on every page, no caching of API answers (contact data)
    "tiering_web.security_headers.ContentSecurityPolicyMiddleware",
    "tiering_web.security_headers.NoStoreApiMiddleware",
    # the app's own static files (htmx, admin) also without DEBUG, e.g. under `make run`
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tiering_web.urls"
WSGI_APPLICATION = "tiering_web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tiering_web.dashboard.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'tiering.sqlite3'}",
        # persistent connections (seconds; 0 opens one per request): the call centre's
        # priority lookups cannot afford a new PostgreSQL connection each (bench/priority.py)
        conn_max_age=int(os.environ.get("TIERING_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not Django's default in-memory test database: evaluations read the tables
    # through a second connection (Ibis), which cannot see a private in-memory database.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test_tiering.sqlite3")
    # WAL lets the pages (and the engine's reading connection) read while the worker
    # writes a long import; IMMEDIATE takes the write lock up front instead of failing a
    # transaction halfway with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
FORMAT_MODULE_PATH = ["tiering_web.formats"]
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "static/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one
# Serve straight from the installed packages, so `runserver` works without DEBUG and
# without `collectstatic`; a production deployment runs `collectstatic` once and may turn
# this off.
WHITENOISE_USE_FINDERS = True

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# --- Notifications: e-mail through SMTP (tiering_web.notifications) ----------------------
# The outbox's e-mails go through Django's SMTP backend to the server named here; each
# carries its idempotency key as Message-ID (at the domain of TIERING_EMAIL_FROM), so that
# a copy resent after a worker died can be recognised. Webhook endpoints (SMS gateway,
# alert receivers) are configured in the app, not here.
#   TIERING_EMAIL_HOST / TIERING_EMAIL_PORT       the SMTP server (default localhost:25)
#   TIERING_EMAIL_USER / TIERING_EMAIL_PASSWORD   login, if the server wants one
#   TIERING_EMAIL_USE_TLS                         1 for STARTTLS (usually with port 587)
#   TIERING_EMAIL_FROM                            the sender, e.g. 客户服务 <service@example.com>
#   TIERING_EMAIL_FILE_PATH                       instead of SMTP, write each mail to a file
#                                                 in this folder (the demo: var/mail)
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if os.environ.get("TIERING_EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["TIERING_EMAIL_FILE_PATH"]
EMAIL_HOST = os.environ.get("TIERING_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TIERING_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TIERING_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TIERING_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("TIERING_EMAIL_USE_TLS", "0").lower() in ("1", "true", "yes", "on")
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("TIERING_EMAIL_FROM", "tiering@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
#   TIERING_HOLD_CUSTOMER_MESSAGES   1 (the default): the messages a publication queues for
#                                customers wait in the outbox "to send" until a manager
#                                releases (or cancels) them; 0 sends them at once
TIERING_HOLD_CUSTOMER_MESSAGES = _flag("TIERING_HOLD_CUSTOMER_MESSAGES", "1")

# --- Evaluations --------------------------------------------------------------------------
#   TIERING_AS_OF_HORIZON_DAYS   how many days after today an evaluation's as-of date may be
#                                (default 0: not in the future; every path checks it, see
#                                tiering_web.evaluations.domain.check_as_of)
TIERING_AS_OF_HORIZON_DAYS = int(os.environ.get("TIERING_AS_OF_HORIZON_DAYS", "0"))

# --- Security headers and HTTPS (see the module docstring) -------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True  # X-Content-Type-Options: nosniff
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
#: The path under which the API answers (``Cache-Control: no-store`` on all of them).
TIERING_API_PREFIX = "/api/"
if _flag("TIERING_HTTPS"):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("TIERING_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("TIERING_HSTS_INCLUDE_SUBDOMAINS", "1")
    SECURE_HSTS_PRELOAD = _flag("TIERING_HSTS_PRELOAD", "1")
    if _flag("TIERING_BEHIND_PROXY"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ------------------------------------------------------------------------------
# One format for the server, the worker and the commands; Django's "django" logger (which
# logs every unhandled request error with its traceback through "django.request")
# propagates to the root's handlers instead of its own DEBUG-only console.
LOG_LEVEL = os.environ.get("TIERING_LOG_LEVEL", "INFO").upper()
LOG_FILE = os.environ.get("TIERING_LOG_FILE", str(VAR_DIR / "log" / "tiering.log"))
_log_handlers = {
    "console": {"class": "logging.StreamHandler", "formatter": "plain"},
}
if LOG_FILE:
    Path(LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
    _log_handlers["file"] = {
        "class": "logging.handlers.RotatingFileHandler",
        "filename": LOG_FILE,
        "maxBytes": 10 * 1024 * 1024,
        "backupCount": 5,
        "encoding": "utf-8",
        "delay": True,
        "formatter": "plain",
    }
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"}
    },
    "handlers": _log_handlers,
    "root": {"handlers": list(_log_handlers), "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": [], "level": LOG_LEVEL, "propagate": True}},
}
