"""The PostgreSQL server a benchmark runs against, read from DATABASE_URL: its address, a
database's URL on it, and a database dropped and made again. Shared by the benchmarks that
make their own databases (ledger_transfers.py, checkout.py)."""

import sys
from urllib.parse import urlparse


def server_from_url(url: str) -> dict[str, str]:
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("DATABASE_URL must point at a PostgreSQL server (postgres://...).")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": parts.username or "postgres",
        "password": parts.password or "",
        "admin_db": (parts.path or "/postgres").lstrip("/") or "postgres",
    }


def database_url(server: dict[str, str], database: str) -> str:
    auth = server["user"] + (f":{server['password']}" if server["password"] else "")
    return f"postgres://{auth}@{server['host']}:{server['port']}/{database}"


def database_recreate(server: dict[str, str], database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url(server, server["admin_db"]), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
