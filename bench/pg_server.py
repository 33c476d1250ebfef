"""The PostgreSQL server a benchmark runs against, read from DATABASE_URL: its address, a
database's URL on it, a database dropped and made again, and pgbench's tpcb-like script on it
as the reference measured in the same run. Shared by the benchmarks that make their own
databases (ledger_transfers.py, checkout.py)."""

import os
import re
import shutil
import subprocess
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


def database_clone(server: dict[str, str], database: str, template: str) -> None:
    """`database` made anew as a copy of `template` (PostgreSQL copies the files: seconds for
    a prepared 100,000-account database that takes minutes to build)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url(server, server["admin_db"]), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(database), sql.Identifier(template)
            )
        )


def _pgbench_env(server: dict[str, str]) -> dict[str, str]:
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench is not installed (Debian: postgresql-client).")
    return os.environ | {
        "PGHOST": server["host"],
        "PGPORT": server["port"],
        "PGUSER": server["user"],
        "PGPASSWORD": server["password"],
    }


def pgbench_init(server: dict[str, str], database: str, scale: int) -> None:
    database_recreate(server, database)
    command = ["pgbench", "-i", "-q", "-s", str(scale), database]
    subprocess.run(command, env=_pgbench_env(server), check=True, capture_output=True)


def pgbench_tps(server: dict[str, str], database: str, clients: int, seconds: int) -> float:
    """pgbench's built-in tpcb-like script: transactions per second, the reference."""
    command = ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), "-b", "tpcb-like"]
    done = subprocess.run(
        command + [database], env=_pgbench_env(server), check=True, capture_output=True
    )
    output = done.stdout.decode()
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    if match is None:
        raise SystemExit(f"Could not read pgbench's tps:\n{output}")
    return float(match.group(1))
