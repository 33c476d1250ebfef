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
