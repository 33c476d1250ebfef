"""Python CPU of one API read in one process, without a server or a load generator.

The companion of bench/api_reads.py for a shared machine: the same database and requests
(GET /api/v1/balances and GET /api/v1/billing-profile alternately, each with a customer's
bearer token in turn), sent straight to Django's WSGI handler with DEBUG off, and the
process's own CPU time per request (`time.process_time`), which other processes on the
machine disturb far less than latency. `--profile` prints cProfile's cumulative table
(profiled on CPU time; a profiler roughly triples the figures).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/api_read_cpu.py [--requests 2000] [--blocks 5] [--reuse-db]

Uses bench/api_reads.py's database `bt_bench_reads` (made and seeded as there). Results:
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_reads  # noqa: E402 (the sibling benchmark: its database and requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    os.environ["BILLTONE_DEBUG"] = "0"
    os.environ.setdefault("BILLTONE_SECRET_KEY", "bench-" + "x" * 50)
    admin_url = os.environ.get("DATABASE_URL", "")
    bench_url = api_reads._database_url(admin_url)
    secrets_ = api_reads._prepare_database(
        admin_url, bench_url, accounts=args.accounts, reuse=args.reuse_db
    )
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def read(i: int) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": api_reads.PATHS[i % len(api_reads.PATHS)],
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "HTTP_AUTHORIZATION": f"Bearer {secrets_[i % len(secrets_)]}",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        statuses = []
        b"".join(app(environ, lambda status, headers: statuses.append(status)))
        if not statuses[0].startswith("200"):
            sys.exit(f"GET {environ['PATH_INFO']} answered {statuses[0]}")

    for i in range(200):  # warm up: connections, caches, imports
        read(i)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    per_block = args.requests // args.blocks
    figures = []
    for _ in range(args.blocks):
        started = time.process_time()
        for i in range(per_block):
            read(i)
        figures.append((time.process_time() - started) / per_block * 1000)
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    shown = ", ".join(f"{f:.2f}" for f in figures)
    print(f"CPU per read, ms: median {statistics.median(figures):.2f} (blocks: {shown})")


if __name__ == "__main__":
    main()
