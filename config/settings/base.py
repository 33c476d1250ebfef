from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("BILLTONE_DEBUG", False)
SECRET_KEY = env_str("BILLTONE_SECRET_KEY") or (
    "insecure-development-key-set-BILLTONE_SECRET_KEY-in-production" if DEBUG else ""
)
if not SECRET_KEY:
    # Tests and local commands without a key get a fixed development key; a
    # production deployment sets BILLTONE_SECRET_KEY (docs/operations.md).
    SECRET_KEY = "insecure-development-key-set-BILLTONE_SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("BILLTONE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("BILLTONE_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "django_htmx",
    "billtone.core.security.SecurityConfig",  # django-axes, as "Security" in the back office
    "ninja",
    "billtone.core",
    "billtone.accounts",
    "billtone.ledger",
    "billtone.payments",
    "billtone.banktransfers",
    "billtone.reconciliation",
    "billtone.catalog",
    "billtone.telephony",
    "billtone.basket",
    "billtone.notifications",
    "billtone.invoicing",
    "billtone.billing",
    "billtone.rating",
    "billtone.web",
    "billtone.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "billtone.core.middleware.ApiMethodNotAllowedMiddleware",
    "axes.middleware.AxesMiddleware",
    "billtone.core.middleware.OperatorTimeZoneMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billtone.web.context_processors.panel",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # PostgreSQL: parameters bound on the server, and a statement run five times on a
    # connection prepared there (psycopg's prepare_threshold), so PostgreSQL plans it once
    # per connection, not on every call: Django's default binds on the client and prepares
    # nothing (decision 0031).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"  # the server's; times are stored in UTC and shown in a named zone:
# the back office in the operator's (below), the Billing panel in the account's.
BILLTONE_OPERATOR_TIME_ZONE = env_str("BILLTONE_OPERATOR_TIME_ZONE", "UTC")
try:
    ZoneInfo(BILLTONE_OPERATOR_TIME_ZONE)
except (ValueError, ZoneInfoNotFoundError):
    raise ImproperlyConfigured(
        f"BILLTONE_OPERATOR_TIME_ZONE={BILLTONE_OPERATOR_TIME_ZONE!r} is not an IANA time zone "
        "(e.g. Europe/Berlin)."
    ) from None
# CDR files do not state a time zone: their times are read in the switch's (issue 19).
BILLTONE_SWITCH_TIME_ZONE = env_str("BILLTONE_SWITCH_TIME_ZONE", BILLTONE_OPERATOR_TIME_ZONE)
try:
    ZoneInfo(BILLTONE_SWITCH_TIME_ZONE)
except (ValueError, ZoneInfoNotFoundError):
    raise ImproperlyConfigured(
        f"BILLTONE_SWITCH_TIME_ZONE={BILLTONE_SWITCH_TIME_ZONE!r} is not an IANA time zone "
        "(e.g. Europe/Berlin)."
    ) from None
FORMAT_MODULE_PATH = ["billtone.core.formats"]  # a time shown names its zone
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("BILLTONE_STATIC_ROOT") or BASE_DIR / "staticfiles"
MEDIA_ROOT = env_str("BILLTONE_MEDIA_ROOT", str(BASE_DIR / "media"))  # statement uploads

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals_on_one_line": {"()": "billtone.core.logging.RefusalsOnOneLine"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["refusals_on_one_line"]}
    },
    "root": {"handlers": ["console"], "level": env_str("BILLTONE_LOG_LEVEL", "INFO")},
    # The mt-940 package logs every field it cannot read, with its regex, at ERROR; the
    # importer says the same as a StatementFormatError naming the file and line.
    "loggers": {
        "mt940": {"level": "CRITICAL"},
        # An invoice's PDF: WeasyPrint's steps and factur-x's checks, a dozen lines each at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print a 403's traceback beside ours.
        "django": {"handlers": [], "propagate": True},
    },
}
