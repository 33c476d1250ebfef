"""Call authorization through the production server at fixed rates (issue 19 item 5).

GET /api/v1/authorize (operator token) for --accounts seeded GBP accounts in turn, to a
London, a national or a mobile number (half with the caller's extension, whose plan has
included minutes), is sent open-loop at each --rates rate for --seconds: request i is due at
start + i/rate whether or not earlier ones have answered, and its latency counts from then
(bench/loadgen.py: one thread, plain keep-alive sockets, its CPU per request reported, since
it shares the machine's cores with the server and PostgreSQL; wrk from Debian is
closed-loop). Each
authorization holds credit (a CallHold row), as in production; the accounts' credit is
large enough that none runs out. Reports p50/p99/max per rate and the highest rate whose p99
stays under 10 ms with no errors. The reference, in the same run: after each rate, the same
load at the same rate on bench/api_reads.py's hello-world WSGI app under gunicorn with the
very flags `billtone serve` passes (the floor of server, load generator and machine);
--skip-floor leaves it out.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/authorize.py [--rates 250,500,750,1000] [--seconds 20] \\
        [--workers 2] [--threads 4] [--accounts 100] [--skip-floor]

The database bt_bench_authorize (--database) is dropped and made again on that server.
Traffic goes to 127.0.0.1 only. Not part of the test suite. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import api_reads  # noqa: E402
import loadgen  # noqa: E402

DB_NAME = "bt_bench_authorize"
TARGET_P99_MS = 10.0
DESTINATIONS = ["020 7946 0958", "0113 496 0000", "07911 123456"]


def _prepare(admin_url: str, bench_url: str, *, accounts: int) -> tuple[str, list[int]]:
    """A migrated, seeded database: the operator token's secret and the accounts' ids."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from billtone.accounts.models import BillingProfile
    from billtone.accounts.services import account_create, operator_token_create
    from billtone.catalog.models import Product
    from billtone.core import clock
    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.ledger.models import LedgerKind
    from billtone.ledger.services import (
        customer_ledger_accounts,
        funds_transfer,
        operator_ledger_account,
    )
    from billtone.rating.models import Rate, RateDeck
    from billtone.telephony.models import PhoneUser

    call_command("migrate", verbosity=0)
    now = clock.now()
    deck = RateDeck.objects.create(
        name="GBP bench", currency="GBP", effective_from=now, created_at=now, rate_count=0
    )
    rates = [
        Rate(deck=deck, prefix=f"9{n:05d}", destination=f"Bench {n}", per_minute=Decimal("0.1"))
        for n in range(20_000)
    ]
    for prefix, name, price, fee, initial, subsequent in [
        ("44", "United Kingdom", "0.0200", "0", 60, 60),
        ("447", "United Kingdom mobile", "0.0900", "0.0100", 30, 6),
        ("4420", "London", "0.0100", "0.0500", 60, 60),
    ]:
        rates.append(
            Rate(
                deck=deck,
                prefix=prefix,
                destination=name,
                per_minute=Decimal(price),
                connection_fee=Decimal(fee),
                initial_increment=initial,
                subsequent_increment=subsequent,
            )
        )
    Rate.objects.bulk_create(rates, batch_size=5000)
    plan = Product.objects.create(
        code="national", name="National", kind="plan", billing="monthly", included_minutes=100
    )
    actor = Actor.system("bench")
    ids = []
    for n in range(accounts):
        account = account_create(
            name=f"Bench caller {n}",
            owner_email=f"owner{n}@caller{n}.example",
            owner_password=None,
            currency="GBP",
            timezone="Europe/London",
        )
        BillingProfile.objects.filter(account=account).update(country="GB")
        account.refresh_from_db()
        PhoneUser.objects.create(
            account=account,
            name="Bench user",
            email=f"u{n}@caller{n}.example",
            extension="100",
            plan=plan,
            status=PhoneUser.Status.ACTIVE,
            created_at=now,
            activated_at=now,
        )
        funds_transfer(
            source=operator_ledger_account(kind=LedgerKind.ADJUSTMENTS, currency="GBP"),
            destination=customer_ledger_accounts(account=account).call_credit,
            amount=Money(Decimal("100000"), "GBP"),
            kind="bench_credit",
            memo="Bench credit",
            idempotency_key=f"bench-credit:{account.pk}",
            actor=actor,
        )
        ids.append(account.pk)
    staff = get_user_model().objects.create_user("bench-ops", password=None, is_staff=True)
    secret = operator_token_create(user=staff, name="bench").secret
    connections.close_all()
    return secret, ids


def _backend_cpu() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend serving the bench database, by pid."""
    import psutil

    total = {}
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("postgres:") and f" {DB_NAME} " in cmdline:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total[process.pid] = times.user + times.system
    return total


def _run_load(server, wire: list[bytes], rate: float) -> dict:
    """bench/loadgen.py's open-loop run, with the server's and PostgreSQL's CPU per answered
    request (PostgreSQL's counted only from backends alive at both ends of the run)."""
    cpu_before = server.cpu_seconds()
    backend_before = _backend_cpu()
    run = loadgen.run(server.port, wire, rate)
    server_cpu = server.cpu_seconds() - cpu_before
    # Backends of workers replaced during the run (--max-requests) are not counted: an
    # undercount when workers were replaced, and the requests they served still divide.
    backend_after = _backend_cpu()
    backend_cpu = sum(
        cpu - backend_before[pid] for pid, cpu in backend_after.items() if pid in backend_before
    )
    # Answers counted by the load generator: `billtone serve` leaves answered authorizations
    # out of its access log (decision 0012).
    served = sum(1 for status in run["statuses"] if status)
    ok = sorted(
        lat * 1000
        for lat, status in zip(run["latencies"], run["statuses"], strict=True)
        if lat is not None and status == 200
    )
    if not ok:
        sys.exit(f"every request failed; see {server.log.name}")
    return {
        "requests": len(wire),
        "errors": len(wire) - len(ok),
        "p50": statistics.median(ok),
        "p99": ok[min(len(ok) - 1, int(len(ok) * 0.99))],
        "max": ok[-1],
        "server_cpu_ms": server_cpu / max(served, 1) * 1000,
        "backend_cpu_ms": backend_cpu / max(served, 1) * 1000,
        "client_cpu_ms": run["cpu_s"] / len(wire) * 1000,
        "load": "{:.1f}/{:.1f}/{:.1f}".format(*os.getloadavg()),
    }


def _line(r: dict) -> str:
    return (
        f"p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  max {r['max']:8.2f} ms  "
        f"errors {r['errors']}/{r['requests']}  server CPU {r['server_cpu_ms']:.2f} ms/req  "
        f"PostgreSQL CPU {r['backend_cpu_ms']:.2f} ms/req  "
        f"client CPU {r['client_cpu_ms']:.3f} ms/req  load {r['load']}"
    )


def main() -> None:
    global DB_NAME
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="250,500,750,1000")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--database", default="bt_bench_authorize", help="dropped, made again")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between rates")
    parser.add_argument("--skip-floor", action="store_true", help="no hello-world reference")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if not (all(0 < r <= 3000 for r in rates) and 0 < args.seconds <= 120):
        sys.exit("--rates each up to 3000, --seconds up to 120.")
    admin_url = os.environ.get("DATABASE_URL", "")
    parts = urlparse(admin_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("This benchmark only talks to a PostgreSQL server on this machine.")
    if not args.database.startswith("bt_"):
        sys.exit("--database must start with bt_ (it is dropped and made again).")
    DB_NAME = args.database
    bench_url = urlunparse(parts._replace(path=f"/{DB_NAME}"))
    print(f"Seeding {args.accounts} accounts in {DB_NAME} ...", flush=True)
    secret, ids = _prepare(admin_url, bench_url, accounts=args.accounts)

    env = dict(os.environ)
    env.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        BILLTONE_DEBUG="0",
        BILLTONE_SECRET_KEY=secrets.token_urlsafe(50),
        BILLTONE_HTTPS="0",
        BILLTONE_STATIC_MANIFEST="1",
        BILLTONE_DB_POOL_SIZE=str(args.threads),
    )
    port = api_reads._free_port()
    command = api_reads.server_command(
        bind=f"127.0.0.1:{port}", workers=args.workers, threads=args.threads
    )
    print("app: " + " ".join(command[1:]), flush=True)
    floor = None
    if not args.skip_floor:
        floor_port = api_reads._free_port()
        floor_command = api_reads._gunicorn(
            "api_reads:hello",
            bind=f"127.0.0.1:{floor_port}",
            workers=args.workers,
            threads=args.threads,
        )
        floor_command.insert(4, f"--pythonpath={ROOT / 'bench'}")
        print("floor: " + " ".join(floor_command[1:]), flush=True)
    headers = {"Authorization": f"Bearer {secret}"}

    def request(i: int) -> tuple[str, dict]:
        query = {"account": ids[i % len(ids)], "destination": DESTINATIONS[i % 3]}
        if i % 2:
            query["user"] = "100"
        return f"/api/v1/authorize?{urlencode(query)}", headers

    api_reads.START_TIMEOUT_S = 600.0  # collectstatic is slow on a busy shared machine
    server = api_reads.Server("authorize", command, env, port)
    if not args.skip_floor:
        floor = api_reads.Server("floor", floor_command, env, floor_port)
    results = []

    def load(count: int, rate: float) -> dict:
        wire = [loadgen.request_bytes(*request(i), port) for i in range(count)]
        return _run_load(server, wire, rate)

    def load_floor(count: int, rate: float) -> dict:
        wire = [loadgen.request_bytes("/", {}, floor_port)] * count
        return _run_load(floor, wire, rate)

    try:
        server.wait_ready(request(0)[0], headers)
        load(1000, rates[0])  # warm
        if floor:
            floor.wait_ready("/", {})
            load_floor(1000, rates[0])
        for rate in rates:
            result = load(int(rate * args.seconds), rate)
            print(f"{rate:.0f}/s:", _line(result), flush=True)
            time.sleep(args.pause)
            result["floor"] = None
            if floor:
                result["floor"] = load_floor(int(rate * args.seconds), rate)
                print(f"{rate:.0f}/s floor:", _line(result["floor"]), flush=True)
                time.sleep(args.pause)
            results.append((rate, result))
    finally:
        server.stop()
        if floor:
            floor.stop()
    print(f"\n{args.workers} workers x {args.threads} threads, {args.seconds:.0f} s per rate:")
    print(
        "| rate /s | p50 ms | p99 ms | max ms | errors | server CPU ms/req "
        "| PostgreSQL CPU ms/req | client CPU ms/req | load avg "
        "| floor p50 / p99 ms | floor server CPU ms/req |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rate, r in results:
        f = r["floor"]
        floor_cells = (
            f"{f['p50']:.2f} / {f['p99']:.2f} | {f['server_cpu_ms']:.2f}" if f else "— | —"
        )
        print(
            f"| {rate:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.1f} | "
            f"{r['errors']}/{r['requests']} | {r['server_cpu_ms']:.2f} | "
            f"{r['backend_cpu_ms']:.2f} | {r['client_cpu_ms']:.3f} | {r['load']} | "
            f"{floor_cells} |"
        )
    held = [rate for rate, r in results if r["p99"] < TARGET_P99_MS and not r["errors"]]
    print(f"highest rate with p99 < {TARGET_P99_MS:.0f} ms: {max(held) if held else 'none'}/s")


if __name__ == "__main__":
    main()
