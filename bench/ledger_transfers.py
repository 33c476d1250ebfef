"""Committed ledger transfers per second on PostgreSQL, beside pgbench's tpcb-like script.

Each transfer is one `funds_transfer` call, as the product makes it: lock both ledger
accounts in id order, check the floor, insert the transaction and two postings, write two
cached balances, commit. Worker processes (8 by default, each with its own connection) run
for a fixed time:

  (a) spread: each transfer moves 0.01 from a random customer's business funds to its call
      credit, over 10,000 customers;
  (b) hot:    every transfer moves 0.01 from the same customer's business funds.

`pgbench -i -s 10` prepares a separate database on the same server: ten branch rows, so that
its eight clients do not queue for one (at scale 1 every transaction updates the same branch
row, which holds pgbench back and flatters the ledger). Each round runs the pair (a) and
`pgbench -c 8 -j 2 -T 20 -b tpcb-like` back to back, (a) first in odd rounds and second in
even ones, then (b); the per-round ratios and the medians are reported. Not part of the test
suite. Results: docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/ledger_transfers.py [--rounds 5] [--seconds 20] [--scale 10] \\
        [--workers 8] [--accounts 10000] [--skip-hot] [--profile 2000] [--costs 2000]

The databases <prefix>_ledger and <prefix>_pgbench (prefix bt_bench by default) are dropped
and made again on that server. --profile N profiles N transfers in one process with
pyinstrument (test-artifacts/ledger_transfers.profile.txt) instead of the runs; --costs N
measures the CPU per transfer of N transfers in one process and of its server backend.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pg_server import (  # noqa: E402
    database_recreate,
    database_url,
    pgbench_init,
    pgbench_tps,
    server_from_url,
)

AMOUNT = Decimal("0.01")
FUNDING = Decimal("100000.00")
_PAIRS: list[tuple] = []  # set before the workers fork, so they inherit it unpickled


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _prepare(customers: int) -> list[tuple]:
    """Customers with business funds and call credit; every business fund holds FUNDING."""
    from django.core.management import call_command

    from billtone.accounts.models import Account, BillingProfile
    from billtone.core import clock
    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.ledger.models import LedgerAccount
    from billtone.ledger.services import Leg, operator_ledger_account, transaction_post

    call_command("migrate", verbosity=0)
    now = clock.now()
    accounts = Account.objects.bulk_create(
        [Account(name=f"Bench customer {n}", created_at=now) for n in range(customers)]
    )
    BillingProfile.objects.bulk_create(
        [
            BillingProfile(
                account=account,
                company_name=account.name,
                currency="EUR",
                billing_email=f"billing{account.pk}@bench.example",
                updated_at=now,
            )
            for account in accounts
        ]
    )
    rows = LedgerAccount.objects.bulk_create(
        [
            LedgerAccount(account=account, kind=kind, currency="EUR", floor=0, created_at=now)
            for account in accounts
            for kind in ("business_funds", "call_credit")
        ]
    )
    pairs = [(rows[i], rows[i + 1]) for i in range(0, len(rows), 2)]
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    for start in range(0, len(pairs), 500):  # fund through the ledger itself
        chunk = pairs[start : start + 500]
        transaction_post(
            kind="bank_transfer",
            memo="Bench funding",
            postings=[Leg(bank, Money(-FUNDING * len(chunk), "EUR"))]
            + [Leg(funds, Money(FUNDING, "EUR")) for funds, _ in chunk],
            idempotency_key=f"bench-funding-{start}",
            actor=Actor.system("bench"),
        )
    for funds, _ in pairs:
        funds.balance = FUNDING
    return pairs


def _worker(args) -> tuple[int, int, int, float]:
    """Transfer until the time is up; count what committed after the warm-up."""
    run, worker, choices, seconds, warmup, start_at = args
    pairs = _PAIRS[:choices]
    from django.db import connection

    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.ledger.services import funds_transfer

    connection.close()  # never share the parent's connection
    actor = Actor.system("bench")
    amount = Money(AMOUNT, "EUR")
    rng = random.Random(f"{run}-{worker}")
    committed = failed = n = 0
    time.sleep(max(0.0, start_at - time.time()))
    measure_from = start_at + warmup
    until = measure_from + seconds
    cpu_from = None
    while (now := time.time()) < until:
        funds, credit = pairs[rng.randrange(len(pairs))]
        n += 1
        try:
            funds_transfer(
                source=funds,
                destination=credit,
                amount=amount,
                kind="top_up",
                memo="Bench top-up",
                idempotency_key=f"{run}-{worker}-{n}",  # new in every run: no replays
                actor=actor,
            )
        except Exception:
            if now >= measure_from:
                failed += 1
            continue
        if now >= measure_from:
            committed += 1
            if cpu_from is None:
                cpu_from = time.process_time()
    cpu = time.process_time() - (cpu_from or time.process_time())
    connection.close()
    return committed, failed, n, cpu


def _run(run: str, choices: int, workers: int, seconds: float, warmup: float):
    from django.db import connection, connections

    connections.close_all()  # the children fork without an open connection
    gc.collect()
    gc.freeze()  # as a preforking server does: the children's collector skips the parent's heap
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        start_at = time.time() + 1.0
        results = pool.map(
            _worker, [(run, w, choices, seconds, warmup, start_at) for w in range(workers)]
        )
    committed = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    cpu_ms = 1000 * sum(r[3] for r in results) / max(committed, 1)
    with connection.cursor() as cursor:  # every attempt that did not fail made a transaction
        cursor.execute(
            "SELECT count(*) FROM ledger_transaction WHERE idempotency_key LIKE %s", [f"{run}-%"]
        )
        stored = cursor.fetchone()[0]
    attempted = sum(r[2] for r in results)
    if stored + failed > attempted or stored < committed:
        raise SystemExit(f"{run}: {stored} transactions stored for {committed} counted")
    return committed / seconds, committed, failed, cpu_ms


def _check_books() -> str:
    """The invariants after the runs: every transaction balanced, balances equal postings."""
    from billtone.ledger.selectors import books_check

    books = books_check()
    if not books.ok:
        raise SystemExit(f"BOOKS WRONG: {books}")
    return (
        f"books checked: {books.transactions} transactions, each balanced, "
        "every balance = sum of postings"
    )


def _top_up(pair: tuple, key: str) -> None:
    """One transfer of the --costs and --profile loops: business funds -> call credit."""
    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.ledger.services import funds_transfer

    funds, credit = pair
    funds_transfer(
        source=funds,
        destination=credit,
        amount=Money(AMOUNT, "EUR"),
        kind="top_up",
        memo="Bench top-up",
        idempotency_key=key,
        actor=Actor.system("bench"),
    )


def _costs(pairs: list[tuple], transfers: int) -> None:
    """CPU per transfer in this process and in its server backend (from /proc: the server
    must run on this machine), less sensitive to a shared machine's load than transfers/s."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def backend_cpu() -> float:  # utime + stime, fields 14 and 15 of /proc/<pid>/stat
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    rng = random.Random("costs")
    for phase, count in (("warm-up", transfers // 5), ("measured", transfers)):
        backend, python = backend_cpu(), time.process_time()
        for n in range(count):
            _top_up(pairs[rng.randrange(len(pairs))], f"costs-{phase}-{n}")
        python = 1000 * (time.process_time() - python) / count
        backend = 1000 * (backend_cpu() - backend) / count
        print(f"{phase}: {python:.3f} ms of Python, {backend:.3f} ms of backend CPU per transfer")


def _profile(pairs: list[tuple], transfers: int, path: Path) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    rng = random.Random("profile")
    profiler.start()
    for n in range(transfers):
        _top_up(pairs[rng.randrange(len(pairs))], f"profile-{n}")
    profiler.stop()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"profile of {transfers} transfers in one process: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--prefix", default="bt_bench")
    parser.add_argument("--profile", type=int, default=0, help="profile N transfers and stop")
    parser.add_argument(
        "--costs", type=int, default=0, help="CPU per transfer over N transfers in one process"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds: spread and pgbench, hot")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--skip-hot", action="store_true", help="no (b) runs: the pairs only")
    parser.add_argument(
        "--scale", type=int, default=10, help="pgbench -i -s: branch rows (1 serialises -c 8)"
    )
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    server = server_from_url(url)
    ledger_db, pgbench_db = f"{options.prefix}_ledger", f"{options.prefix}_pgbench"
    database_recreate(server, ledger_db)
    _setup_django(database_url(server, ledger_db))

    from django.db import connection

    started = time.time()
    pairs = _prepare(options.accounts)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        synchronous_commit = cursor.fetchone()[0]
    print(f"PostgreSQL {version} (synchronous_commit={synchronous_commit}), {os.cpu_count()} CPUs")
    print(f"prepared {len(pairs)} customers in {time.time() - started:.1f} s")

    if options.costs:
        _costs(pairs, options.costs)
        return
    if options.profile:
        _profile(pairs, options.profile, ROOT / "test-artifacts" / "ledger_transfers.profile.txt")
        return

    _PAIRS[:] = pairs
    connection.close()
    if not options.skip_pgbench:
        pgbench_init(server, pgbench_db, options.scale)
    # On a shared machine the load drifts: each round's ratio compares (a) and pgbench run
    # back to back, and the median of the rounds' ratios is the figure.
    results: dict[str, list[float]] = {"spread": [], "hot": [], "pgbench": []}

    def spread(round_: int) -> None:
        tps, committed, failed, cpu_ms = _run(
            f"spread{round_}", len(pairs), options.workers, options.seconds, options.warmup
        )
        results["spread"].append(tps)
        print(
            f"round {round_} ledger spread: {tps:7.1f} transfers/s ({committed} committed, "
            f"{failed} failed, {cpu_ms:.2f} ms of Python CPU per transfer)"
        )

    def pgbench(round_: int) -> None:
        tps = pgbench_tps(server, pgbench_db, clients=options.workers, seconds=options.seconds)
        results["pgbench"].append(tps)
        print(
            f"round {round_} pgbench tpcb-like (-s {options.scale} -c {options.workers} -j 2 "
            f"-T {options.seconds}): {tps:7.1f} tps"
        )

    for round_ in range(1, options.rounds + 1):
        # The pair runs back to back, in turn first and second, so a drift in the shared
        # machine's load favours neither.
        pair = (spread, pgbench) if round_ % 2 else (pgbench, spread)
        for run in pair if not options.skip_pgbench else (spread,):
            run(round_)
        if not options.skip_pgbench:
            ratio = results["spread"][-1] / results["pgbench"][-1]
            print(f"round {round_} spread / pgbench = {ratio:.2f}")
        if not options.skip_hot:
            tps, committed, failed, cpu_ms = _run(
                f"hot{round_}", 1, options.workers, options.seconds, options.warmup
            )
            results["hot"].append(tps)
            print(
                f"round {round_} ledger hot   : {tps:7.1f} transfers/s ({committed} committed, "
                f"{failed} failed, {cpu_ms:.2f} ms of Python CPU per transfer)"
            )
    print(_check_books())
    connection.close()

    print(f"median ledger spread: {statistics.median(results['spread']):7.1f} transfers/s")
    if results["hot"]:
        print(f"median ledger hot   : {statistics.median(results['hot']):7.1f} transfers/s")
    if results["pgbench"]:
        ratios = [s / p for s, p in zip(results["spread"], results["pgbench"], strict=True)]
        ratio = statistics.median(ratios)
        print(f"median pgbench      : {statistics.median(results['pgbench']):7.1f} tps")
        verdict = "meets" if ratio >= 0.5 else "misses"
        print(
            f"spread / pgbench per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {ratio:.2f} ({verdict} the 0.5 target)"
        )


if __name__ == "__main__":
    main()
