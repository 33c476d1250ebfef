"""The production web server (`billtone serve`): static files and database connections.

`billtone serve` sets the two variables below for the gunicorn processes it starts; other
commands (runserver, the tests, Celery) leave them unset. docs/decisions/0012-production-server.md
"""

from .base import DATABASES
from .env import env_bool, env_int

# Static files are served by WhiteNoise's middleware from STATIC_ROOT. Under `billtone serve`
# they are collected with hashed names and compressed copies, cached by browsers for a year;
# elsewhere (tests, runserver) the plain storage needs no collectstatic.
BILLTONE_STATIC_MANIFEST = env_bool("BILLTONE_STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if BILLTONE_STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# PostgreSQL connections per process, from a pool (psycopg_pool through Django). A gunicorn
# worker of T threads needs at most T connections, so `billtone serve` sets this to its
# --threads: the web server then holds at most workers x threads connections, which it checks
# against the server's max_connections before it starts.
BILLTONE_DB_POOL_SIZE = env_int("BILLTONE_DB_POOL_SIZE", 0)
# Connections left for everything else (Celery worker and beat, commands, psql, backups).
BILLTONE_DB_RESERVED_CONNECTIONS = env_int("BILLTONE_DB_RESERVED_CONNECTIONS", 10)

if BILLTONE_DB_POOL_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": BILLTONE_DB_POOL_SIZE,
        # A thread never waits for another's connection (one per thread); this only bounds a
        # wait for PostgreSQL itself.
        "timeout": 10,
    }
