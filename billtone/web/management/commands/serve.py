"""`billtone serve`: the production web server.

gunicorn with threaded workers runs config.wsgi with DEBUG off; WhiteNoise serves the static
files, collected (hashed, compressed) before the server starts; each worker takes its
PostgreSQL connections from a pool of --threads connections. Logs go to stdout/stderr.
docs/decisions/0012-production-server.md says why and how to size it.
"""

import os
import secrets
import subprocess
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def _default(name: str, fallback: int) -> int:
    return int(os.environ.get(name) or fallback)


def gunicorn_command(
    app: str, *, bind: str, workers: int, threads: int, timeout: int = 60
) -> list[str]:
    """gunicorn as `billtone serve` runs it (bench/api_reads.py serves its floor this way)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        f"--bind={bind}",
        f"--workers={workers}",
        "--worker-class=gthread",
        f"--threads={threads}",
        f"--timeout={timeout}",
        "--graceful-timeout=30",
        "--keep-alive=5",
        # A worker is replaced after this many requests: memory a large upload left
        # behind is given back. The app is loaded once in the master (--preload), so a
        # replacement is a fork of it, not a second of importing during which requests wait
        # (decision 0012). Nothing opens a connection or a thread while the app loads.
        "--preload",
        # 20,000 (was 2,000): at hundreds of authorizations a second a worker was replaced
        # every few seconds, each time a p99 spike while the others took its share
        # (bench/authorize.py; decision 0012).
        "--max-requests=20000",
        "--max-requests-jitter=2000",
        "--access-logfile=-",
        "--error-logfile=-",
        "--no-control-socket",  # several servers may run on one machine
        "--config=python:billtone.web.gunicorn_hooks",  # a worker reads the rate decks first
    ]


class Command(BaseCommand):
    help = "Serve Billtone in production: gunicorn, DEBUG off, static files through WhiteNoise."

    requires_system_checks = []  # gunicorn's workers load the app, with DEBUG off

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=os.environ.get("BILLTONE_BIND", "127.0.0.1:8000"),
            help="HOST:PORT (or unix:PATH) to listen on; behind a reverse proxy keep it local "
            "[BILLTONE_BIND, 127.0.0.1:8000]",
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=_default("BILLTONE_WEB_WORKERS", os.cpu_count() or 1),
            help="worker processes [BILLTONE_WEB_WORKERS, one per CPU]",
        )
        parser.add_argument(
            "--threads",
            type=_positive,
            default=_default("BILLTONE_WEB_THREADS", 4),
            help="threads per worker, each with at most one database connection "
            "[BILLTONE_WEB_THREADS, 4]",
        )
        parser.add_argument(
            "--timeout",
            type=_positive,
            default=_default("BILLTONE_WEB_TIMEOUT", 60),
            help="seconds a request may take before its worker is restarted "
            "[BILLTONE_WEB_TIMEOUT, 60]",
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="serve the static files already collected in STATIC_ROOT",
        )

    def handle(self, *args, **options):
        workers, threads = options["workers"], options["threads"]
        self._check_connection_budget(workers * threads)

        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings"),
            BILLTONE_DEBUG="0",
            BILLTONE_STATIC_MANIFEST="1",
            BILLTONE_DB_POOL_SIZE=str(threads),
        )
        if not os.environ.get("BILLTONE_SECRET_KEY"):
            # Never the public development key in production: a random key for this run (all
            # workers share it). Logins end when the server restarts.
            env["BILLTONE_SECRET_KEY"] = secrets.token_urlsafe(50)
            self.stderr.write(
                "billtone serve: BILLTONE_SECRET_KEY is not set; using a random key for this "
                "run, so logins end when the server restarts. Set it in production."
            )
        if settings.CELERY_BROKER_URL == "filesystem://":
            self.stderr.write(
                "billtone serve: BILLTONE_BROKER_URL is not set; background work (emails, "
                "statement uploads) waits as files in BILLTONE_QUEUE_DIR until a worker on "
                "this machine takes it: run `celery -A config worker --beat` beside the server "
                "(docs/decisions/0011)."
            )
        if not options["no_collectstatic"]:
            self.stdout.write(f"Collecting static files into {settings.STATIC_ROOT} ...")
            self.stdout.flush()
            collected = subprocess.run(  # with the storage the server uses (hashed names)
                [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v", "0"],
                env=env,
                check=False,
            )
            if collected.returncode:
                raise CommandError("collectstatic failed; the server was not started")

        command = gunicorn_command(
            "config.wsgi:application",
            bind=options["bind"],
            workers=workers,
            threads=threads,
            timeout=options["timeout"],
        )
        self.stdout.write(
            f"Serving on {options['bind']}: {workers} workers x {threads} threads, "
            f"at most {workers * threads} database connections."
        )
        self.stdout.flush()
        # gunicorn takes this process over, and with it the signals of a supervisor.
        os.execve(sys.executable, command, env)  # noqa: S606

    def _check_connection_budget(self, needed: int) -> None:
        """Refuse to start a server whose connections PostgreSQL cannot all give."""
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('max_connections')::int,"
                " current_setting('superuser_reserved_connections')::int"
            )
            max_connections, superuser_reserved = cursor.fetchone()
        reserved = settings.BILLTONE_DB_RESERVED_CONNECTIONS
        available = max_connections - superuser_reserved - reserved
        if needed > available:
            raise CommandError(
                f"{needed} database connections (workers x threads) do not fit PostgreSQL's "
                f"max_connections={max_connections} less {superuser_reserved} reserved for "
                f"superusers and {reserved} for other processes "
                f"(BILLTONE_DB_RESERVED_CONNECTIONS): at most {available}. Use fewer workers "
                "or threads, or raise max_connections."
            )
