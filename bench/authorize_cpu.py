"""CPU and SQL statements per call authorization, in one process (no server, no load).

Seeds the database of bench/authorize.py (its `_prepare`, under --database), then times
--calls authorizations, each as `call_authorize` alone and as the whole request through
Django's test client (middleware, Ninja, the operator token) and as the production WSGI
callable's lean path (config/wsgi.py; decision 0028): process CPU per call (median
of --rounds rounds) and SQL statements per call. Each round starts from --open-holds open
holds per account (default none: in production the CDRs release them; bench/authorize.py
never does, so at its 500/s step each account has ~260), plus those the round's calls take.
--profile request|lean prints a pyinstrument profile of that path. A number to compare
before/after on a shared machine, where wall time says little. Not part of the test suite.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/authorize_cpu.py [--database bt_bench_authorize_cpu] \\
        [--calls 500] [--rounds 5] [--accounts 50] [--open-holds 300] [--reuse-db] \\
        [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import authorize  # noqa: E402


def _queries(run) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def _backend():
    """This process's PostgreSQL backend (the connection outlives the calls: no pool here)."""
    import psutil
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return psutil.Process(cursor.fetchone()[0])


def _holds_reset(open_holds: int) -> None:
    """`open_holds` open holds per bench account and no other (they would pile up from round
    to round), their totals in step (decision 0033), the tables vacuumed."""
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection

    from billtone.core import clock
    from billtone.rating.hold_models import CallHold, CallHoldSeconds, CallHoldTotal
    from billtone.rating.services.hold_totals import call_hold_totals_rebuild
    from billtone.telephony.models import PhoneUser

    CallHold.objects.all().delete()
    now = clock.now()
    callers = list(
        PhoneUser.objects.filter(
            extension="100", account__name__startswith="Bench caller"
        ).values_list("pk", "account_id")
    )
    holds = [
        CallHold(
            account_id=account_id,
            # Half of them keep some of the caller's included minutes.
            phone_user_id=user_id if n % 2 else None,
            destination="+442079460958",
            call_id=f"seed-{account_id}-{n}",
            amount=Decimal("0.0100"),
            currency="GBP",
            seconds=60,
            included_seconds=10 if n % 2 else 0,
            created_at=now,
            expires_at=now + timedelta(hours=4),
        )
        # Interleaved, as calls come: an account's holds on as many pages as in production.
        for n in range(open_holds)
        for user_id, account_id in callers
    ]
    CallHold.objects.bulk_create(holds, batch_size=5000)
    call_hold_totals_rebuild()
    with connection.cursor() as cursor:  # and their dead rows, which a sum would visit
        for model in (CallHold, CallHoldTotal, CallHoldSeconds):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def _cpu_ms(run, calls: int, open_holds: int) -> tuple[float, float]:
    """Python's and PostgreSQL's CPU per call, in ms, from `open_holds` per account."""
    _holds_reset(open_holds)
    backend = _backend()
    start, backend_start = time.process_time(), sum(backend.cpu_times()[:2])
    for i in range(calls):
        run(i)
    python = (time.process_time() - start) / calls * 1000
    return python, (sum(backend.cpu_times()[:2]) - backend_start) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bt_bench_authorize_cpu")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--open-holds", type=int, default=0, help="per account, each round")
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument(
        "--profile", choices=["request", "lean"], help="print a profile of this path"
    )
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "")
    parts = urlparse(admin_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("This benchmark only talks to a PostgreSQL server on this machine.")
    if not args.database.startswith("bt_"):
        sys.exit("--database must start with bt_ (it is dropped and made again).")
    authorize.DB_NAME = args.database
    bench_url = urlunparse(parts._replace(path=f"/{args.database}"))
    if args.reuse_db:
        os.environ["DATABASE_URL"] = bench_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from billtone.accounts.models import Account, ApiToken
        from billtone.accounts.services import operator_token_create

        ApiToken.objects.filter(name="bench-cpu").delete()
        staff = ApiToken.objects.filter(name="bench").first().user
        secret = operator_token_create(user=staff, name="bench-cpu").secret
        ids = list(
            Account.objects.filter(name__startswith="Bench caller").values_list("pk", flat=True)
        )
    else:
        secret, ids = authorize._prepare(admin_url, bench_url, accounts=args.accounts)
    from django.test import Client

    from billtone.rating.services.authorize import call_authorize

    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    dests = authorize.DESTINATIONS

    def direct(i: int) -> None:
        call_authorize(
            account_code=str(ids[i % len(ids)]),
            destination=dests[i % 3],
            user="100" if i % 2 else "",
        )

    def request(i: int) -> None:
        query = {"account": ids[i % len(ids)], "destination": dests[i % 3]}
        if i % 2:
            query["user"] = "100"
        response = client.get(f"/api/v1/authorize?{urlencode(query)}")
        assert response.status_code == 200, response.content

    from django.test import RequestFactory

    from config.wsgi import application

    factory = RequestFactory()
    environs = []
    for i in range(len(ids) * 6):
        query = {"account": ids[i % len(ids)], "destination": dests[i % 3]}
        if i % 2:
            query["user"] = "100"
        environs.append(
            factory.get("/api/v1/authorize", query, HTTP_AUTHORIZATION=f"Bearer {secret}").environ
        )

    def lean(i: int) -> None:
        # The production WSGI callable (config/wsgi.py), which takes this route's lean path.
        started = []
        body = b"".join(
            application(dict(environs[i % len(environs)]), lambda s, h: started.append(s))
        )
        assert started == ["200 OK"], body

    for i in range(50):  # warm: the deck's table, compiled queries
        direct(i)
        request(i)
        lean(i)
    for name, run in [("call_authorize", direct), ("request", request), ("lean", lean)]:
        measured = [_cpu_ms(run, args.calls, args.open_holds) for _ in range(args.rounds)]
        cpu = [python for python, _ in measured]
        backend = statistics.median(pg for _, pg in measured)
        queries = [_queries(lambda i=i, run=run: run(i)) for i in range(6)]
        rounds = ", ".join(f"{c:.2f}" for c in cpu)
        print(
            f"{name}: CPU {statistics.median(cpu):.2f} ms/call (rounds {rounds}), "
            f"PostgreSQL backend {backend:.2f} ms/call; "
            f"SQL statements per call {min(queries)}–{max(queries)} ({queries})",
            flush=True,
        )
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        with profiler:
            for i in range(args.calls):
                (request if args.profile == "request" else lean)(i)
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
