"""What a round trip costs in CPU, alone and with many clients: a checkout's settlement tail
sent three ways on PostgreSQL (decision 0021, issue 17).

One transaction, shaped like the end of a card checkout's settlement: a row locked
(`SELECT … FOR UPDATE`, its result read), then six writes whose results nobody reads (three
INSERTs, a DELETE, two UPDATEs), then COMMIT. Sent three ways, through psycopg 3 as Billtone
sends statements (parameters bound on the server, a statement prepared after five runs):

- `plain`:    each statement its own round trip (BEGIN, SELECT, 6 writes, COMMIT: 9);
- `pipeline`: the six writes and the COMMIT in one round trip (psycopg's pipeline mode:
              BEGIN, SELECT, then writes + COMMIT + sync: 3);
- `merged`:   the six writes as one statement with data-modifying CTEs (BEGIN, SELECT,
              one statement, COMMIT: 4).

Measured: the CPU per transaction of the client (this process, `time.process_time`) and of its
server backend (/proc: the server must run on this machine), with one client and with
--clients processes at once (each its own connection and its own row, no lock shared), the
modes alternating, --rounds times; medians printed. The database <prefix>_round_trips is
dropped and made again. Not part of the test suite; results in docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/round_trips.py [--prefix bt_bench] [--clients 8] [--seconds 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_server import database_recreate, database_url, server_from_url  # noqa: E402

MODES = ("plain", "pipeline", "merged")
LOCK = "SELECT id, v FROM t WHERE id = %s FOR UPDATE"
WRITES = [
    ("INSERT INTO l (b, v) VALUES (%s, 1)", 1),
    ("INSERT INTO l (b, v) VALUES (%s, 2)", 1),
    ("INSERT INTO l (b, v) VALUES (%s, 3)", 1),
    ("DELETE FROM l WHERE id = %s", -1),
    ("UPDATE t SET v = v + 1 WHERE id = %s", 0),
    ("UPDATE t SET ts = now() WHERE id = %s", 0),
]
MERGED = (
    "WITH a AS (INSERT INTO l (b, v) VALUES (%s, 1)), b AS (INSERT INTO l (b, v) VALUES (%s, 2)),"
    " c AS (INSERT INTO l (b, v) VALUES (%s, 3)), d AS (DELETE FROM l WHERE id = %s),"
    " e AS (UPDATE t SET v = v + 1 WHERE id = %s) UPDATE t SET ts = now() WHERE id = %s"
)


def _transaction(connection, cursor, mode: str, row: int) -> None:
    cursor.execute(LOCK, [row])  # BEGIN is sent first, a round trip of its own in every mode
    cursor.fetchone()
    if mode == "merged":
        cursor.execute(MERGED, [row, row, row, -1, row, row])
    elif mode == "pipeline":
        with connection.pipeline():
            for sql, param in WRITES:
                cursor.execute(sql, [row if param >= 0 else param])
            connection.commit()  # COMMIT and the sync in the writes' round trip
        return
    else:
        for sql, param in WRITES:
            cursor.execute(sql, [row if param >= 0 else param])
    connection.commit()


def _client(args: tuple[str, str, int, float]) -> tuple[int, float, float]:
    """(transactions, client CPU seconds, backend CPU seconds) of one client."""
    import psycopg

    url, mode, row, seconds = args
    with psycopg.connect(url, prepare_threshold=5) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        connection.commit()
        stat = Path(f"/proc/{pid}/stat")
        ticks = os.sysconf("SC_CLK_TCK")

        def backend() -> float:  # utime + stime, fields 14 and 15
            fields = stat.read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks

        cursor = connection.cursor()
        for _ in range(100):  # warm-up: the statements prepared
            _transaction(connection, cursor, mode, row)
        client_from, backend_from, count = time.process_time(), backend(), 0
        until = time.time() + seconds
        while time.time() < until:
            _transaction(connection, cursor, mode, row)
            count += 1
        return count, time.process_time() - client_from, backend() - backend_from


def _measure(url: str, mode: str, clients: int, seconds: float) -> tuple[float, float]:
    """Client and backend CPU per transaction, in ms."""
    args = [(url, mode, row, seconds) for row in range(1, clients + 1)]
    if clients == 1:
        results = [_client(args[0])]
    else:
        with multiprocessing.get_context("fork").Pool(clients) as pool:
            results = pool.map(_client, args)
    count = sum(r[0] for r in results)
    return 1000 * sum(r[1] for r in results) / count, 1000 * sum(r[2] for r in results) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefix", default="bt_bench")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    import psycopg

    server = server_from_url(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1/postgres")
    )
    database = f"{options.prefix}_round_trips"
    database_recreate(server, database)
    url = database_url(server, database)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int, ts timestamptz)")
        connection.execute("CREATE TABLE l (id bigserial PRIMARY KEY, b int, v int)")
        connection.execute(
            "INSERT INTO t SELECT g, 0, now() FROM generate_series(1, %s) g", [options.clients]
        )
    for clients in (1, options.clients):
        spent: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
        for _ in range(options.rounds):
            for mode in MODES:
                spent[mode].append(_measure(url, mode, clients, options.seconds))
        print(f"{clients} client(s), {options.rounds} rounds of {options.seconds:g} s, medians:")
        for mode in MODES:
            client = statistics.median(s[0] for s in spent[mode])
            backend = statistics.median(s[1] for s in spent[mode])
            print(
                f"  {mode:9} {client:.3f} ms client + {backend:.3f} ms backend = "
                f"{client + backend:.3f} ms of CPU per transaction"
            )
    print(f"load average after the runs: {os.getloadavg()}")


if __name__ == "__main__":
    main()
