"""CDR ingestion end to end on PostgreSQL (issue 19: 10,000 CDRs per second or more).

End to end: who made each call (account, phone user), the dialled number normalised to
E.164 (phonenumbers), the rate in force (longest prefix of a 50,000-prefix deck), the cost,
included minutes, the call credit debited in the ledger (one balanced transaction per
batch), every CDR stored. Two modes, each timed `--runs` times (median reported):

- `calls`: `cdrs_ingest` with `CallRecord`s in batches of `--batch` (as the API sends them);
- `file`: the whole file path, `cdr_file_read` of a generated Asterisk Master.csv (18
  columns, as cdr_csv writes it) and then `cdrs_ingest` in batches, as `billtone
  import-cdrs` does (its progress bar and summary table left out).

The setup (untimed) makes the database <prefix>_run afresh: the demo catalog, `--accounts`
Dutch EUR accounts with `--users` phone users each (extensions 201..; Pay As You Go,
National and International plans in turn) and 10,000.00 of call credit each, and one EUR
deck of `--prefixes` prefixes (bench/rating_core.py's deck). The CDRs: `--numbers` valid
E.164 numbers of ~200 countries dialled as 00… (the cache of numbers read, rating.calls,
emptied before each run), most calls to a few countries; 85 % answered, 10 % no
answer, 3 % busy, 2 % failed; billsec exponential around 2 minutes; each run's call ids its
own (every run stores new CDRs into the same, growing tables). After the runs the books are
checked: every ledger transaction balanced, every balance equal to its postings, the call
credit spent equal to the CDRs' charges and to the calls revenue, the CDR counts as sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/cdr_ingest.py [--cdrs 100000] [--accounts 2000] [--users 5] \\
        [--prefixes 50000] [--batch 5000] [--runs 3] [--mode calls|file|both] \\
        [--prefix bt_cdrbench] [--profile] [--skip-pgbench] [--seconds 20] [--processes 1]

CPU: this process's (time.process_time) and its PostgreSQL backend's (/proc, the server on
this machine). The reference, measured in the same run: pgbench's tpcb-like script, 2
clients for --seconds on <prefix>_pgbench (scale 10). --profile: one `calls` run under
pyinstrument (test-artifacts/cdr_ingest.profile.txt) and no timed runs. The deck's prefix
table is read before the runs (once per process in production).

--processes N: N ingesters at once (forked processes, each with its own connection), each
sending the CDRs of its own share of the accounts, as N API senders or N import processes
would; CDRs/s is all the CDRs over the wall time from their common start to the last one
done, the CPU the sum of the processes' and their backends'.
Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import phonenumbers  # noqa: E402
from customers import dutch_customers_create  # noqa: E402
from pg_server import (  # noqa: E402
    database_recreate,
    database_url,
    pgbench_init,
    pgbench_tps,
    server_from_url,
)
from rating_core import deck_make  # noqa: E402

CREDIT = Decimal("10000.00")
PLANS = ["pay-as-you-go", "national", "international"]
BIG = ["NL", "DE", "GB", "FR", "BE", "US", "ES", "IT", "PL", "TR", "MA", "IN", "CN", "NG"]
DISPOSITIONS = [("ANSWERED", 85), ("NO ANSWER", 10), ("BUSY", 3), ("FAILED", 2)]
START = datetime(2026, 11, 1, tzinfo=UTC)


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)


def _prepare(accounts_count: int, users: int, prefixes: int, rng: random.Random) -> list[int]:
    """The catalog, the accounts with their users and call credit, the deck; account ids."""
    from django.core.management import call_command

    from billtone.catalog.models import Product
    from billtone.core import clock
    from billtone.core.money import Money
    from billtone.core.services import Actor
    from billtone.demo.catalog import demo_catalog
    from billtone.ledger.bulk import (
        BulkTransaction,
        business_funds_accounts,
        transactions_post_bulk,
    )
    from billtone.ledger.models import LedgerAccount, LedgerKind
    from billtone.ledger.services import Leg, operator_ledger_account
    from billtone.rating.models import Rate, RateDeck
    from billtone.telephony.models import PhoneUser

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    demo_catalog(actor)
    plans = [Product.objects.get(code=code) for code in PLANS]
    now = clock.now()
    ids: list[int] = []
    source = operator_ledger_account(kind=LedgerKind.ADJUSTMENTS, currency="EUR")
    for start in range(0, accounts_count, 2000):
        size = min(2000, accounts_count - start)
        accounts = dutch_customers_create(count=size, label="Bench caller", start=start)
        business_funds_accounts(currencies={a.pk: "EUR" for a in accounts})
        PhoneUser.objects.bulk_create(
            [
                PhoneUser(
                    account=a,
                    name=f"User {a.pk}-{n}",
                    email=f"u{a.pk}-{n}@bench.example",
                    extension=str(201 + n),
                    plan=plans[n % len(plans)],
                    status="active",
                    created_at=now,
                    activated_at=now,
                )
                for a in accounts
                for n in range(users)
            ]
        )
        credit = LedgerAccount.objects.filter(
            account__in=accounts, kind=LedgerKind.CALL_CREDIT, currency="EUR"
        )
        money = Money(CREDIT, "EUR")
        transactions_post_bulk(
            transactions=[
                BulkTransaction(
                    kind="test_credit",
                    memo="Call credit (bench)",
                    postings=[Leg(source, -money), Leg(row, money)],
                    idempotency_key=f"bench-credit:{row.account_id}",
                )
                for row in credit
            ],
            actor=actor,
        )
        ids += [a.pk for a in accounts]
    deck = RateDeck.objects.create(
        name="Bench A-Z",
        currency="EUR",
        effective_from=START - timedelta(days=365),
        created_at=now,
        rate_count=prefixes,
    )
    Rate.objects.bulk_create(
        [
            Rate(
                deck=deck,
                prefix=t.prefix,
                destination=t.destination,
                per_minute=t.per_minute,
                connection_fee=t.connection_fee,
                initial_increment=t.initial_increment,
                subsequent_increment=t.subsequent_increment,
            )
            for t in deck_make(prefixes, rng)
        ],
        batch_size=5000,
    )
    return ids


def numbers_make(count: int, rng: random.Random) -> list[str]:
    """Valid numbers (phonenumbers' example numbers with other last digits), E.164 digits."""
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    kinds = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]
    examples = {}
    for region in regions:
        found = [phonenumbers.example_number_for_type(region, kind) for kind in kinds]
        examples[region] = [e for e in found if e is not None]
    regions = [r for r in regions if examples[r]]
    weights = [60 if r in BIG else 1 for r in regions]
    pool: set[str] = set()
    while len(pool) < count:
        example = rng.choice(examples[rng.choices(regions, weights)[0]])
        national = str(example.national_number)
        tail = "".join(rng.choices("0123456789", k=min(3, len(national) - 2)))
        number = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(national[: len(national) - len(tail)] + tail),
            italian_leading_zero=example.italian_leading_zero,
        )
        if phonenumbers.is_valid_number(number):
            pool.add(f"{number.country_code}{number.national_number}")
    return sorted(pool)


def rows_make(count: int, run: str, accounts: list[int], users: int, numbers, rng) -> list:
    """(call_id, account_code, source, destination, start, answer or None, billsec, disp)."""
    names, weights = zip(*DISPOSITIONS, strict=True)
    rows = []
    for n in range(count):
        disposition = rng.choices(names, weights)[0]
        start = START + timedelta(seconds=rng.randrange(25 * 86400))
        answered = disposition == "ANSWERED"
        billsec = int(rng.expovariate(1 / 120)) + 1 if answered else 0
        rows.append(
            (
                f"{run}.{n}",
                str(rng.choice(accounts)),
                str(201 + rng.randrange(users)),
                "00" + rng.choice(numbers),
                start,
                start + timedelta(seconds=rng.randint(2, 20)) if answered else None,
                billsec,
                disposition,
            )
        )
    return rows


def records_of(rows) -> list:
    from billtone.rating.cdrs import CallRecord, Disposition

    kinds = {
        "ANSWERED": Disposition.ANSWERED,
        "NO ANSWER": Disposition.NO_ANSWER,
        "BUSY": Disposition.BUSY,
        "FAILED": Disposition.FAILED,
    }
    return [
        CallRecord(call_id, code, source, dest, start, answer, billsec, kinds[disp], n + 1)
        for n, (call_id, code, source, dest, start, answer, billsec, disp) in enumerate(rows)
    ]


def master_csv(rows) -> bytes:
    """Asterisk cdr_csv's Master.csv (loguniqueid, loguserfield: 18 columns), UTC times."""
    out = []
    for call_id, code, source, dest, start, answer, billsec, disp in rows:
        end = (answer or start) + timedelta(seconds=billsec)
        fmt = "%Y-%m-%d %H:%M:%S"
        answer_text = f'"{answer:{fmt}}"' if answer else ""
        out.append(
            f'"{code}","{source}","{dest}","from-internal","""User"" <{source}>",'
            f'"SIP/{source}-{call_id}","SIP/trunk-{call_id}","Dial","SIP/trunk/{dest},60",'
            f'"{start:{fmt}}",{answer_text},"{end:{fmt}}",{(end - start).seconds},{billsec},'
            f'"{disp}","DOCUMENTATION","{call_id}",""'
        )
    return ("\n".join(out) + "\n").encode()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backend() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def run_once(mode: str, rows, batch: int, ready=None) -> tuple[float, float, float, dict]:
    """(wall seconds, Python CPU, backend CPU, totals) for one ingestion of `rows`; `ready`,
    when given, is called just before the clock starts (the parallel mode's barrier)."""
    from zoneinfo import ZoneInfo

    from billtone.core.services import Actor
    from billtone.rating import calls
    from billtone.rating.cdrs import cdr_file_read
    from billtone.rating.services import cdrs_ingest

    actor = Actor.system("bench")
    calls._pstn.cache_clear()  # each run reads its numbers afresh
    data = master_csv(rows) if mode == "file" else None
    records = records_of(rows) if mode == "calls" else None
    backend = _backend()
    if ready is not None:
        ready()
    cpu = time.process_time(), _cpu_seconds(backend)
    started = time.perf_counter()
    if mode == "file":
        records = cdr_file_read(data, layout="asterisk", switch_tz=ZoneInfo("UTC")).records
    totals = {"rated": 0, "not_rated": 0, "rejected": 0}
    for n in range(0, len(records), batch):
        summary = cdrs_ingest(records=records[n : n + batch], source=f"bench {mode}", actor=actor)
        for key in totals:
            totals[key] += getattr(summary, key)
    took = time.perf_counter() - started
    return took, time.process_time() - cpu[0], _cpu_seconds(backend) - cpu[1], totals


def _worker(mode: str, rows, batch: int, barrier, results) -> None:
    from django.db import connection

    connection.close()  # the parent's socket is not this process's
    results.put(run_once(mode, rows, batch, ready=barrier.wait))
    connection.close()


def run_parallel(mode: str, parts: list, batch: int) -> tuple[float, float, float, dict]:
    """`run_once` in one forked process per part of the rows, all started at once: (wall
    seconds from the start to the last one done, Python CPU and backend CPU summed, totals)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # none shared with the children
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(parts) + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(mode, part, batch, barrier, results))
        for part in parts
    ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    done = [results.get() for _ in workers]
    took = time.perf_counter() - started
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise SystemExit(f"an ingestion process failed (exit code {worker.exitcode})")
    totals = {key: sum(d[3][key] for d in done) for key in done[0][3]}
    return took, sum(d[1] for d in done), sum(d[2] for d in done), totals


def _tables_warm() -> None:
    """Each deck's prefix table read before the runs (once per process otherwise: the first
    run would pay it, and every forked process of the parallel mode)."""
    from billtone.rating.models import RateDeck
    from billtone.rating.selectors import prefix_table

    for deck in RateDeck.objects.all():
        prefix_table(deck=deck)


def books_check(sent: int) -> str:
    from django.db.models import Sum

    from billtone.ledger.models import LedgerAccount, LedgerKind
    from billtone.ledger.selectors import books_check
    from billtone.rating.cdr_models import Cdr

    books = books_check()
    unbalanced, mismatched = books.unbalanced, books.balances_off
    credit = LedgerAccount.objects.filter(kind=LedgerKind.CALL_CREDIT, account__isnull=False)
    spent = credit.count() * CREDIT - credit.aggregate(s=Sum("balance"))["s"]
    charged = Cdr.objects.aggregate(s=Sum("charged"))["s"] or Decimal(0)
    revenue = LedgerAccount.objects.get(kind=LedgerKind.REVENUE_CALLS, currency="EUR").balance
    stored = Cdr.objects.count()
    problems = []
    if unbalanced or mismatched:
        problems.append(f"{unbalanced} unbalanced transactions, {mismatched} balances off")
    if not (spent == charged == revenue):
        problems.append(f"credit spent {spent}, CDRs charged {charged}, revenue {revenue}")
    if stored != sent:
        problems.append(f"{stored} CDRs stored of {sent} sent")
    if problems:
        raise SystemExit("BOOKS WRONG: " + "; ".join(problems))
    return (
        f"books checked: {stored:,} CDRs stored as sent, every transaction balanced, balances "
        f"= postings, call credit spent = CDRs charged = calls revenue = {charged}"
    )


def _rows_split(options, run: str, accounts: list[int], numbers, rng) -> tuple[list, list]:
    """A run's rows, and the same rows split by account among `--processes` ingesters (as
    that many API senders or import processes would send them: an account's calls all by
    one)."""
    n = options.processes
    parts = [
        rows_make(
            options.cdrs // n + (1 if i < options.cdrs % n else 0),
            f"{run}p{i}",
            accounts[i::n],
            options.users,
            numbers,
            rng,
        )
        for i in range(n)
    ]
    return [row for part in parts for row in part], parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdrs", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--prefixes", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--numbers", type=int, default=50_000, help="distinct numbers called")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mode", choices=["calls", "file", "both"], default="both")
    parser.add_argument("--prefix", default="bt_cdrbench")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--skip-pgbench", action="store_true")
    parser.add_argument("--seconds", type=int, default=20, help="pgbench's duration")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="concurrent ingesters, each sending its own accounts' CDRs (--cdrs in all)",
    )
    options = parser.parse_args()

    server = server_from_url(os.environ.get("DATABASE_URL", ""))
    database = f"{options.prefix}_run"
    database_recreate(server, database)
    _setup_django(database_url(server, database))
    rng = random.Random(options.seed)
    started = time.perf_counter()
    accounts = _prepare(options.accounts, options.users, options.prefixes, rng)
    numbers = numbers_make(options.numbers, rng)
    print(
        f"setup: {len(accounts):,} accounts, {len(accounts) * options.users:,} users, "
        f"{options.prefixes:,} prefixes, {len(numbers):,} numbers "
        f"({time.perf_counter() - started:.0f} s)"
    )
    modes = ["calls", "file"] if options.mode == "both" else [options.mode]
    _tables_warm()
    if options.profile:
        from pyinstrument import Profiler

        rows = rows_make(options.cdrs, "profile", accounts, options.users, numbers, rng)
        with Profiler(interval=0.001) as profiler:
            run_once(modes[0], rows, options.batch)
        path = ROOT / "test-artifacts" / "cdr_ingest.profile.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(profiler.output_text(unicode=True, color=False))
        print(f"profile: {path}")
        print(books_check(options.cdrs))
        return
    sent = 0
    for mode in modes:
        speeds = []
        for run in range(1, options.runs + 1):
            rows, parts = _rows_split(options, f"{mode}{run}", accounts, numbers, rng)
            if options.processes > 1:
                took, python, backend, totals = run_parallel(mode, parts, options.batch)
            else:
                took, python, backend, totals = run_once(mode, rows, options.batch)
            sent += len(rows)
            speeds.append(len(rows) / took)
            per = 1e6 / len(rows)
            print(
                f"{mode} run {run} ({options.processes} process(es)): "
                f"{len(rows) / took:,.0f} CDRs/s ({took:.1f} s wall); CPU "
                f"{python:.1f} s Python ({python * per:.0f} µs/CDR), {backend:.1f} s backend "
                f"({backend * per:.0f} µs/CDR); rated {totals['rated']:,}, not rated "
                f"{totals['not_rated']:,}, rejected {totals['rejected']:,}"
            )
        print(f"{mode}: median of {options.runs} runs {statistics.median(speeds):,.0f} CDRs/s")
    print(books_check(sent))
    if not options.skip_pgbench:
        pgbench_db = f"{options.prefix}_pgbench"
        pgbench_init(server, pgbench_db, 10)
        tps = pgbench_tps(server, pgbench_db, clients=2, seconds=options.seconds)
        print(
            f"reference: pgbench tpcb-like, scale 10, 2 clients, {options.seconds} s: "
            f"{tps:,.0f} tps"
        )


if __name__ == "__main__":
    main()
