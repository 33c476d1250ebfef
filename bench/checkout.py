"""Checkouts per second on PostgreSQL, 8 concurrent clients paying by sandbox card.

What is timed: the checkout alone, `checkout_with_card` with a saved card, as issue 17 asks.
Each round first fills every customer's basket (a phone user on the National plan and a
call-credit pack: `basket_user_add`, `basket_item_add`), with the same 8 clients but outside
the checkout's clock; then the clients pay those baskets for a fixed time, each customer at
most once a round. A checkout is: the pending checkout committed, the card charged in the
payments app's three steps (the pending payment committed, the sandbox gateway answering
in-process with no lock held, the outcome posted to business funds), then in one transaction
the basket's settlement (ledger postings, the user activated, the invoice issued under its
gap-free number, the subscription started, the basket emptied, the checkout completed).
PDFs and emails are queued after commit (files in a scratch queue folder) and not rendered:
issue 17 leaves them out, as they run after commit in the background.

Each round reports checkouts per second (what is timed), the mean wall time of one checkout,
the client CPU per checkout, and, labelled as such, the filling's rate and the rate of the
old unit "fill + pay" (what this bench timed before: one iteration filled a basket and paid
it), derived from the two phases as 1 / (1/fills per s + 1/checkouts per s). Worker
processes (8 by default, each with its own connection and its own slice of the customers, so
no customer pays two baskets at once) start together; the first --warmup seconds of the
checkout phase are not counted. A round that runs out of filled baskets says so (raise
--accounts: about 20 customers per checkout per second). After the rounds the books are
checked: invoice numbers 1..N with no gap, one invoice per completed checkout, every
invoice's gross equal to its ledger transaction's business-funds debit, balances equal to
their postings. Not part of the test suite. Results: docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/checkout.py [--rounds 3] [--seconds 20] [--workers 8] \\
        [--accounts 2400] [--profile 200] [--costs 200]

The reference, measured in the same run: after each round, pgbench's tpcb-like script with as
many clients for as long (`pgbench -i -s 10`, --scale), and the ratio of the two; --skip-pgbench
leaves it out. The databases <prefix>_checkout and <prefix>_pgbench (prefix bt_bench by
default) are dropped and made again on that server. --profile N profiles N checkouts (the
checkout alone; the basket is filled with the profiler paused) in one process with
pyinstrument (test-artifacts/checkout.profile.txt) instead of the rounds; --costs N lists the
statements of one checkout and measures the CPU per checkout of N, in one process and its
server backend, and the same for the filling apart. --extra-round-trips: in the rounds, each
checkout statement is followed by a `SELECT 1` (a round trip with no work in it, ~31 more per
checkout): the client CPU per checkout with and without it, with 8 clients and with 1, tells
what a round trip costs there (decision 0021, h/ck7).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from customers import dutch_customers_create  # noqa: E402
from machine_watch import MachineWatch, Watched, process_cpu  # noqa: E402
from pg_server import (  # noqa: E402
    database_recreate,
    database_url,
    pgbench_init,
    pgbench_tps,
    server_from_url,
)

_ACCOUNTS: list[tuple[int, int]] = []  # (account id, saved card id), set before the fork
_PRODUCTS: dict[str, int] = {}
_EXTRA_ROUND_TRIPS = [False]  # --extra-round-trips, set before the fork
_DATABASE: dict[str, str] = {}  # url and name of the bench's database (the machine watch)
_WATCH_EVERY = [0.05]  # --watch-every
_RTT = [0.0]  # --rtt, in seconds


def _network_wait(execute, sql, params, many, context):
    """A Django execute wrapper: each statement waits --rtt milliseconds more, with no CPU, as
    if the client and the server were on two machines (decision 0034: how long the rows every
    checkout waits for stay locked depends on the round trips made while they are)."""
    result = execute(sql, params, many, context)
    time.sleep(_RTT[0])
    return result


def _round_trip_after(execute, sql, params, many, context):
    """A Django execute wrapper: after each statement one `SELECT 1` more, a round trip with
    nothing in it, so that a run with and one without tell what a round trip costs."""
    result = execute(sql, params, many, context)
    context["connection"].connection.execute("SELECT 1").fetchone()
    return result


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["BILLTONE_PAYMENT_GATEWAY"] = "sandbox"
    os.environ["BILLTONE_QUEUE_DIR"] = tempfile.mkdtemp(prefix="bt-bench-queue-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)  # a line per payment would measure the console


def _prepare(customers: int) -> None:
    """The demo catalog (plans, packs, tax rates, the operator's profile) and `customers`
    Dutch customers billed in EUR, each with a saved sandbox Visa."""
    from django.core.management import call_command

    from billtone.accounts.models import Account
    from billtone.catalog.models import Product
    from billtone.core import clock
    from billtone.core.services import Actor
    from billtone.demo.catalog import demo_catalog
    from billtone.payments.services import card_add

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    demo_catalog(actor)
    now = clock.now()
    accounts = dutch_customers_create(count=customers)
    year = now.year + 3
    for account in Account.objects.filter(pk__in=[a.pk for a in accounts]):
        card = card_add(
            account=account,
            number="4242424242424242",
            exp_month=12,
            exp_year=year,
            cvc="123",
            holder_name="Bench Customer",
            actor=actor,
        )
        _ACCOUNTS.append((account.pk, card.pk))
    _PRODUCTS["national"] = Product.objects.get(code="national").pk
    _PRODUCTS["credit"] = Product.objects.filter(kind="credit_pack").order_by("position")[0].pk


def _fill(account, n: int) -> None:
    """Fill the basket: a phone user on the National plan (extension `n`) and a pack."""
    from billtone.basket.services import basket_item_add, basket_user_add
    from billtone.core.services import Actor

    actor = Actor.system("bench")
    basket_user_add(
        account=account,
        name=f"User {n}",
        email=f"user{n}@bench.example",
        extension=str(100 + n % 900_000),
        plan_id=_PRODUCTS["national"],
        actor=actor,
    )
    basket_item_add(account=account, product_id=_PRODUCTS["credit"], quantity=1, actor=actor)


def _pay(account, card_id: int, key: str) -> str:
    """The checkout: pay the basket by saved card; the checkout's status."""
    from billtone.basket.services import checkout_with_card
    from billtone.core.services import Actor

    checkout = checkout_with_card(
        account=account, idempotency_key=key, actor=Actor.system("bench"), card_id=card_id
    )
    return checkout.status


def _worker_fill(args) -> tuple[int, float]:
    """Fill the basket of every customer of this worker's slice whose basket is empty (one
    not paid last round is still full); (baskets filled, CPU seconds)."""
    run, worker, workers, start_at = args
    from django.db import connection

    from billtone.accounts.models import Account
    from billtone.basket.models import BasketLine

    connection.close()  # never share the parent's connection
    mine = [pk for pk, _ in _ACCOUNTS[worker::workers]]
    full = set(
        BasketLine.objects.filter(basket__account_id__in=mine).values_list(
            "basket__account_id", flat=True
        )
    )
    accounts = Account.objects.in_bulk([pk for pk in mine if pk not in full])
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    for account in accounts.values():
        _fill(account, 100 + int(run.lstrip("r") or 0))  # one user per account and round
    cpu = time.process_time() - cpu
    connection.close()
    return len(accounts), cpu


def _worker_pay(args) -> tuple[int, int, float, float, float, bool]:
    """Pay this worker's filled baskets, one after the other, until the time is up; count
    what completed after the warm-up. (completed, not, seconds paying, CPU, its backend's
    CPU, ran out)"""
    run, worker, workers, seconds, warmup, start_at = args
    from django.db import connection

    from billtone.accounts.models import Account

    connection.close()  # never share the parent's connection
    if _EXTRA_ROUND_TRIPS[0]:
        connection.execute_wrappers.append(_round_trip_after)
    if _RTT[0]:
        connection.execute_wrappers.append(_network_wait)
    mine = _ACCOUNTS[worker::workers]
    # as a request has it: the panel's membership and the API's token bring the account with
    # its billing profile (accounts' selectors)
    accounts = Account.objects.select_related("billing_profile").in_bulk([pk for pk, _ in mine])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    completed = failed = 0
    paying = 0.0
    time.sleep(max(0.0, start_at - time.time()))
    measure_from = start_at + warmup
    until = measure_from + seconds
    cpu_from, backend_from = None, 0.0
    ran_out = True
    for n, (account_id, card_id) in enumerate(mine):
        if (now := time.time()) >= until:
            ran_out = False
            break
        cpu_before, started = time.process_time(), time.perf_counter()
        try:
            status = _pay(accounts[account_id], card_id, f"{run}-{worker}-{n}")
        except Exception as error:  # counted, and the first few shown
            status = f"error {type(error).__name__}: {error}"
        took = time.perf_counter() - started
        if now < measure_from:
            continue
        if cpu_from is None:
            cpu_from = cpu_before  # from this checkout's start (not now less its wall time)
            backend_from = process_cpu(backend)  # from its end: the backend is not measured
            # during the first checkout; the error is one checkout's backend CPU in a round
        if status == "completed":
            completed += 1
            paying += took
        else:
            failed += 1
            if failed <= 3:
                print(f"worker {worker}: checkout {status}", file=sys.stderr)
    cpu = time.process_time() - (cpu_from or time.process_time())
    backend_cpu = process_cpu(backend) - backend_from if cpu_from is not None else 0.0
    connection.close()
    return completed, failed, paying, cpu, backend_cpu, ran_out


@dataclass
class Round:
    fills_per_s: float
    fill_cpu_ms: float
    rate: float  # checkouts per second: what is timed
    completed: int
    failed: int
    paying_ms: float
    cpu_ms: float
    backend_cpu_ms: float
    ran_out: bool
    machine: Watched

    @property
    def fill_and_pay(self) -> float:
        """The old unit (a basket filled and paid), from the two phases' rates."""
        return 1 / (1 / self.fills_per_s + 1 / self.rate) if self.rate else 0.0


def _pool_map(function, args: list, forked=None) -> list:
    """`function` over `args` in as many forked processes; `forked()` is called once they
    are forked (a thread started before a fork could hold a lock the children inherit)."""
    from django.db import connections

    connections.close_all()  # the children fork without an open connection
    gc.collect()
    gc.freeze()
    with multiprocessing.get_context("fork").Pool(len(args)) as pool:
        if forked is not None:
            forked()
        return pool.map(function, args)


def _run(run: str, workers: int, seconds: float, warmup: float) -> Round:
    start_at = time.time() + 1.0
    filled = _pool_map(_worker_fill, [(run, w, workers, start_at) for w in range(workers)])
    fill_seconds = time.time() - start_at
    fills = sum(r[0] for r in filled)
    start_at = time.time() + 1.0
    watches = []

    def watch() -> None:  # the measured window, from the parent
        measured = (start_at + warmup, start_at + warmup + seconds)
        watches.append(
            MachineWatch(_DATABASE["url"], _DATABASE["name"], *measured, _WATCH_EVERY[0])
        )

    results = _pool_map(
        _worker_pay, [(run, w, workers, seconds, warmup, start_at) for w in range(workers)], watch
    )
    completed = sum(r[0] for r in results)
    return Round(
        fills_per_s=fills / fill_seconds,
        fill_cpu_ms=1000 * sum(r[1] for r in filled) / max(fills, 1),
        rate=completed / seconds,
        completed=completed,
        failed=sum(r[1] for r in results),
        paying_ms=1000 * sum(r[2] for r in results) / max(completed, 1),
        cpu_ms=1000 * sum(r[3] for r in results) / max(completed, 1),
        backend_cpu_ms=1000 * sum(r[4] for r in results) / max(completed, 1),
        ran_out=any(r[5] for r in results),
        machine=watches[0].result(),
    )


def _check_books() -> str:
    """Invoice numbers gap-free, one invoice per completed checkout, each invoice's gross the
    business-funds debit of its transaction, balances equal to their postings."""
    from django.db import connection

    from billtone.basket.models import Checkout
    from billtone.invoicing.models import Invoice
    from billtone.ledger.selectors import books_check

    invoices = Invoice.objects.count()
    completed = Checkout.objects.filter(status="completed").count()
    mismatched = books_check().balances_off
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM invoicing_invoice i
            WHERE i.gross <> -(SELECT sum(p.amount) FROM ledger_posting p
                               JOIN ledger_ledgeraccount a ON a.id = p.ledger_account_id
                               WHERE p.transaction_id = i.ledger_transaction_id
                               AND a.kind = 'business_funds' AND p.amount < 0)
            """
        )
        unequal = cursor.fetchone()[0]
    sequences = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    gap_free = sequences == list(range(1, len(sequences) + 1))
    if mismatched or unequal or invoices != completed or not gap_free:
        raise SystemExit(
            f"BOOKS WRONG: {mismatched} balances off, {unequal} invoices unequal to their "
            f"postings, {invoices} invoices for {completed} checkouts, gap-free: {gap_free}"
        )
    return (
        f"books checked: {invoices} invoices for {completed} completed checkouts, numbered "
        "1..N without a gap, each gross = its business-funds debit, balances = postings"
    )


def _costs(checkouts: int) -> None:
    """Statements of one checkout (those repeated listed), then the CPU per checkout of N
    checkouts in this process and in its server backend (from /proc: the server must run on
    this machine), less sensitive to a shared machine's load than checkouts/s; the basket's
    filling measured apart."""
    import re
    from collections import Counter

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billtone.accounts.models import Account

    account_id, card_id = _ACCOUNTS[0]
    account = Account.objects.get(pk=account_id)
    for n in range(20):  # warm-up
        _fill(account, n)
        _pay(account, card_id, f"costs-warm-{n}")
    with CaptureQueriesContext(connection) as filling:
        _fill(account, 100)
    with CaptureQueriesContext(connection) as captured:
        _pay(account, card_id, "costs-queries")
    shapes = Counter(
        re.sub(r"'[^']*'|\d+", "?", " ".join(q["sql"].split()))[:100] for q in captured
    )
    print(
        f"{len(captured)} statements per checkout (BEGIN/COMMIT/SAVEPOINT included; "
        f"filling the basket apart: {len(filling)}); repeated:"
    )
    for shape, count in shapes.most_common():
        if count > 1:
            print(f"  {count} x {shape}")
    if os.environ.get("BENCH_LIST_STATEMENTS"):
        for query in captured:
            print("   ", " ".join(query["sql"].split())[:160])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")

    def cpu() -> tuple[float, float]:  # Python; backend: utime + stime, fields 14 and 15
        fields = stat.read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return time.process_time(), backend

    spent = {"fill": [0.0, 0.0], "pay": [0.0, 0.0]}

    def measured(phase: str, before: tuple[float, float]) -> None:
        after = cpu()
        spent[phase][0] += after[0] - before[0]
        spent[phase][1] += after[1] - before[1]

    for n in range(checkouts):
        before = cpu()
        _fill(account, 1000 + n)
        measured("fill", before)
        before = cpu()
        _pay(account, card_id, f"costs-{n}")
        measured("pay", before)
    for phase, label in (("pay", "per checkout"), ("fill", "per basket filled (not timed)")):
        python, backend = (1000 * value / checkouts for value in spent[phase])
        print(f"{python:.1f} ms of Python, {backend:.1f} ms of backend CPU {label}")


def _profile(checkouts: int, path: Path) -> None:
    from pyinstrument import Profiler

    from billtone.accounts.models import Account

    account_id, card_id = _ACCOUNTS[0]
    account = Account.objects.get(pk=account_id)
    for n in range(20):  # warm-up
        _fill(account, n)
        _pay(account, card_id, f"profile-warm-{n}")
    profiler = Profiler(interval=0.0005)
    for n in range(checkouts):
        _fill(account, 1000 + n)
        profiler.start()  # the sessions add up: only the checkouts are profiled
        _pay(account, card_id, f"profile-{n}")
        profiler.stop()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"profile of {checkouts} checkouts in one process: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=2400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="bt_bench")
    parser.add_argument("--scale", type=int, default=10, help="pgbench's scale (the reference)")
    parser.add_argument("--skip-pgbench", action="store_true", help="no reference run")
    parser.add_argument("--profile", type=int, default=0, help="profile N checkouts and stop")
    parser.add_argument(
        "--costs", type=int, default=0, help="statements and CPU per checkout over N, and stop"
    )
    parser.add_argument(
        "--extra-round-trips",
        action="store_true",
        help="a SELECT 1 after each statement of the rounds' checkouts (a round trip costs?)",
    )
    parser.add_argument(
        "--watch-every",
        type=float,
        default=0.05,
        help="seconds between samples of what the backends wait on (0: none, the CPU only)",
    )
    parser.add_argument(
        "--rtt",
        type=float,
        default=0.0,
        help="milliseconds each checkout statement waits more (a network between client and "
        "server), in the rounds",
    )
    options = parser.parse_args()
    _EXTRA_ROUND_TRIPS[0] = options.extra_round_trips
    _RTT[0] = options.rtt / 1000
    _WATCH_EVERY[0] = options.watch_every

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    server = server_from_url(url)
    database = f"{options.prefix}_checkout"
    database_recreate(server, database)
    _DATABASE.update(url=database_url(server, database), name=database)
    _setup_django(_DATABASE["url"])
    started = time.time()
    _prepare(options.accounts)
    print(
        f"prepared {options.accounts} customers with saved cards in {time.time() - started:.0f} s"
    )
    if options.costs:
        _costs(options.costs)
        return
    if options.profile:
        _profile(options.profile, ROOT / "test-artifacts" / "checkout.profile.txt")
        return

    pgbench_db = f"{options.prefix}_pgbench"
    if not options.skip_pgbench:
        pgbench_init(server, pgbench_db, options.scale)
    rates, old_rates, ratios = [], [], []
    for round_number in range(1, options.rounds + 1):
        result = _run(f"r{round_number}", options.workers, options.seconds, options.warmup)
        rates.append(result.rate)
        old_rates.append(result.fill_and_pay)
        print(
            f"round {round_number}: {result.rate:.1f} checkouts/s ({result.completed} "
            f"completed, {result.failed} not, {options.workers} clients, {options.seconds} s); "
            f"checkout {result.paying_ms:.1f} ms mean wall time; {result.cpu_ms:.1f} ms of "
            f"client CPU + {result.backend_cpu_ms:.1f} ms of its backends' per checkout"
        )
        print(
            f"  not timed: baskets filled at {result.fills_per_s:.1f}/s "
            f"({result.fill_cpu_ms:.1f} ms of client CPU each); the old unit, fill + pay: "
            f"{result.fill_and_pay:.1f}/s"
        )
        machine = result.machine
        print(
            f"  machine: CPUs {100 * machine.busy_share:.0f} % busy, "
            f"{100 * machine.stolen_share:.0f} % stolen ({machine.cpus} CPUs, "
            f"{machine.cpu_ms_per(result.rate):.1f} ms of CPU per checkout in all); "
            f"PostgreSQL's processes {machine.postgres_ms_per(result.rate):.1f} ms of it"
        )
        print(f"  the database's busy backends, {machine.samples} samples: {machine.wait_shares()}")
        print(f"  rows queued for, share of samples: {machine.hot_row_shares()}")
        if result.ran_out:
            print("  RAN OUT of filled baskets before the time was up: raise --accounts")
        if not options.skip_pgbench:  # the reference, right after, with as many clients
            tps = pgbench_tps(server, pgbench_db, clients=options.workers, seconds=options.seconds)
            ratios.append(result.rate / tps)
            print(
                f"  pgbench tpcb-like (scale {options.scale}): {tps:.0f} tps; "
                f"ratio {result.rate / tps:.4f}"
            )
    print(f"median: {statistics.median(rates):.1f} checkouts/s over {len(rates)} rounds")
    print(f"  the old unit, fill + pay (not the target's): {statistics.median(old_rates):.1f}/s")
    if ratios:
        print(f"median ratio to pgbench's tpcb-like tps: {statistics.median(ratios):.4f}")
    print(_check_books())
    print(f"load average after the runs: {os.getloadavg()}")


if __name__ == "__main__":
    main()
