"""`billtone serve` refuses a server whose connections PostgreSQL could not all give.

The server itself is driven in a browser by tests/e2e/test_production_server.py.
"""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's max_connections")
@pytest.mark.django_db
def test_serve_refuses_more_connections_than_postgresql_allows(monkeypatch):
    started = []
    monkeypatch.setattr("os.execve", lambda *args: started.append(args))
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        (max_connections,) = cursor.fetchone()
    workers = int(max_connections)  # x 2 threads: twice what the server accepts at all

    with pytest.raises(CommandError, match="max_connections"):
        call_command("serve", f"--workers={workers}", "--threads=2", "--no-collectstatic")
    assert not started

    call_command("serve", "--workers=2", "--threads=2", "--no-collectstatic")
    assert len(started) == 1
    command, env = started[0][1], started[0][2]
    assert "--workers=2" in command and "--threads=2" in command
    assert env["BILLTONE_DEBUG"] == "0" and env["BILLTONE_DB_POOL_SIZE"] == "2"


@pytest.mark.django_db
def test_a_worker_reads_the_rate_decks_in_force_before_its_first_request():
    from datetime import timedelta
    from decimal import Decimal

    from billtone.core import clock
    from billtone.rating import selectors
    from billtone.rating.models import Rate, RateDeck
    from billtone.web.gunicorn_hooks import post_worker_init
    from billtone.web.management.commands.serve import gunicorn_command

    now = clock.now()
    in_force, later = (
        RateDeck.objects.create(
            name=name, currency="EUR", effective_from=now + offset, created_at=now
        )
        for name, offset in (("now", -timedelta(days=1)), ("later", timedelta(days=1)))
    )
    for deck in (in_force, later):
        Rate.objects.create(deck=deck, prefix="31", destination="NL", per_minute=Decimal("0.01"))
    selectors._TABLES.clear()

    post_worker_init(worker=None)

    assert set(selectors._TABLES) == {(in_force.pk, in_force.created_at)}
    assert "--config=python:billtone.web.gunicorn_hooks" in gunicorn_command(
        "config.wsgi:application", bind="127.0.0.1:0", workers=1, threads=1
    )


def test_the_access_log_leaves_out_answered_authorizations_only(monkeypatch):
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from billtone.web import gunicorn_hooks

    logged = []
    monkeypatch.setattr(Logger, "access", lambda self, resp, *rest: logged.append(resp))
    log = gunicorn_hooks.AccessLog(Config())
    assert gunicorn_hooks.logger_class is gunicorn_hooks.AccessLog

    class Answer:
        def __init__(self, status_code):
            self.status_code = status_code

    requests = [
        ("/api/v1/authorize", 200, False),
        ("/api/v1/authorize", 422, True),
        ("/api/v1/authorize", 401, True),
        ("/api/v1/authorize", 500, True),
        ("/api/v1/cdrs", 200, True),
        ("/billing/", 200, True),
    ]
    for path, status, _ in requests:
        log.access(Answer(status), None, {"PATH_INFO": path}, None)
    assert [a.status_code for a in logged] == [s for _, s, kept in requests if kept]
